"""What every benchmark shares: timing statistics, machine facts, the result file."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from agentbus_shared.db import async_url

OUT = Path(__file__).parent / "out"


@dataclass
class Result:
    """One measured quantity. ``baseline`` names the result it is compared with, if any."""

    name: str
    value: float
    unit: str
    spread: str | None = None
    baseline: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def describe(samples: list[float]) -> dict[str, float]:
    """Median, p50/p90/p99, min/max of latency samples (same unit as the samples)."""
    return {
        "median": statistics.median(samples),
        "p50": percentile(samples, 50),
        "p90": percentile(samples, 90),
        "p99": percentile(samples, 99),
        "min": min(samples),
        "max": max(samples),
        "n": float(len(samples)),
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "os": platform.platform(),
        "git": _git_revision(),
    }


def _git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_results(module: str, command: str, results: list[Result], *, notes: str = "") -> Path:
    """Write ``bench/out/<module>.json`` and print the results as a table."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{module}.json"
    payload = {
        "benchmark": module,
        "command": command,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "results": [asdict(r) for r in results],
        "notes": notes,
    }
    path.write_text(json.dumps(payload, indent=2))
    width = max((len(r.name) for r in results), default=10)
    for r in results:
        spread = f"  ({r.spread})" if r.spread else ""
        print(f"{r.name:<{width}}  {r.value:>12.2f} {r.unit}{spread}")
    print(f"-> {path}")
    return path


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.elapsed = time.perf_counter() - self.started


async def wait_ready(port: int, process: subprocess.Popen[bytes], name: str) -> None:
    """Wait until the service ``name`` started as ``process`` answers ``/health/ready``."""
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited during start-up")
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not become ready")


async def rows(database_url: str, count_query: str) -> int:
    """What ``count_query`` (a ``SELECT count(*)``) counts in the database now."""
    engine = create_async_engine(async_url(database_url))
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(count_query))).scalar_one())
    finally:
        await engine.dispose()


async def rows_at_least(
    database_url: str, count_query: str, count: int, *, interval: float
) -> None:
    """Returns once ``count_query`` counts ``count`` rows: the service under measurement, another
    process, has written them."""
    while await rows(database_url, count_query) < count:  # noqa: ASYNC110 - polling another process's database
        await asyncio.sleep(interval)
