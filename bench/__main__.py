"""``uv run task bench`` (``python -m bench``): run every benchmark, then write ``bench/REPORT.md``.

Each module ``bench/<area>_<what>.py`` is run as its own process (``python -m bench.<module>``),
one after the other so they do not compete for the two cores, and writes
``bench/out/<module>.json``. The report gathers those files: machine, date, command, every result
with its spread and, where a result names a baseline, the ratio against it.

``--only a,b`` runs a subset and replaces only their sections (and rows of the run table) in the
report, keeping the others as they were measured; ``--report-only`` rewrites the report from
existing results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import OUT, machine

HERE = Path(__file__).parent
REPORT = HERE / "REPORT.md"
RUN_TABLE = (
    "| benchmark | exit | wall time | load before | load after |",
    "| --- | ---: | ---: | ---: | ---: |",
)


def modules() -> list[str]:
    return sorted(
        p.stem for p in HERE.glob("*.py") if p.stem not in {"__init__", "__main__", "common"}
    )


@dataclass
class Outcome:
    """How one benchmark process went: exit code, wall time, the machine's load around it."""

    returncode: int
    seconds: float
    load_before: float
    load_after: float


def run_all(selected: list[str]) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    for module in selected:
        print(f"== bench.{module}", flush=True)
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", f"bench.{module}"], check=False)
        outcomes[module] = Outcome(
            result.returncode, time.monotonic() - started, load_before, os.getloadavg()[0]
        )
    return outcomes


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def render(results: list[dict[str, Any]], outcomes: dict[str, Outcome]) -> str:
    info = machine()
    lines = [
        "# Benchmark report",
        "",
        f"Generated {_now()} by `uv run task bench` at commit `{info['git']}`.",
        "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"Python {info['python']}, {info['os']}.",
        "",
        "Every number below was measured in the run that wrote this file; a ratio compares two "
        "results of the same run. Servers (NATS, PostgreSQL, Redis) are the embedded ones, on "
        "the same machine as the load generator.",
        "",
    ]
    failed = [m for m, outcome in outcomes.items() if outcome.returncode != 0]
    if failed:
        lines += [f"**Benchmarks that failed in this run:** {', '.join(failed)}", ""]
    if outcomes:
        lines += [
            "Each benchmark ran as its own process, one after the other. The load average (1 min) "
            "around each run shows whether anything else competed for the cores; with 2 cores, "
            "a load above ~2 means the numbers of that run are pessimistic.",
            "",
            *RUN_TABLE,
        ]
        lines += [_outcome_row(module, outcome) for module, outcome in outcomes.items()]
        lines.append("")
    for doc in results:
        lines += _section(doc)
    return "\n".join(lines)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _outcome_row(module: str, outcome: Outcome) -> str:
    return (
        f"| bench.{module} | {outcome.returncode} | {outcome.seconds:.0f} s "
        f"| {outcome.load_before:.2f} | {outcome.load_after:.2f} |"
    )


def _section(doc: dict[str, Any]) -> list[str]:
    """One benchmark's part of the report: its command, results, ratios and notes."""
    values = {r["name"]: r for r in doc["results"]}
    lines = [
        f"## {doc['benchmark']}",
        "",
        f"Command: `{doc['command']}`  ",
        f"Finished: {doc['finished_at']}",
        "",
        "| result | value | unit | spread | vs baseline |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for r in doc["results"]:
        ratio = ""
        base = values.get(r.get("baseline") or "")
        if base and base["value"]:
            ratio = f"{r['value'] / base['value']:.2f}x {base['name']}"
        lines.append(
            f"| {r['name']} | {_fmt(r['value'])} | {r['unit']} | {r.get('spread') or ''} | {ratio} |"
        )
    if doc.get("notes"):
        lines += ["", doc["notes"]]
    lines.append("")
    return lines


SECTION = re.compile(r"^## (\S+)\n", re.M)
ROW = re.compile(r"^\| bench\.(\S+) \|.*$", re.M)
UPDATED = re.compile(r"^Updated [^\n]*\n\n", re.M)


def merge(previous: str, results: list[dict[str, Any]], outcomes: dict[str, Outcome]) -> str:
    """``previous`` with the sections and run-table rows of these results replaced (or added),
    every other benchmark's kept as it was measured, and a line saying which ones are newer."""
    head, *parts = SECTION.split(previous)
    sections = {
        name: f"## {name}\n{body}" for name, body in zip(parts[::2], parts[1::2], strict=True)
    }
    sections |= {doc["benchmark"]: "\n".join(_section(doc)) for doc in results}
    rows = {m.group(1): m.group(0) for m in ROW.finditer(head)}
    rows |= {module: _outcome_row(module, outcome) for module, outcome in outcomes.items()}
    names = ", ".join(doc["benchmark"] for doc in results)
    updated = (
        f"Updated {_now()} at commit `{machine()['git']}`: {names} "
        "(`python -m bench --only …`); every other section is from the run above."
    )
    lines = []
    for line in UPDATED.sub("", head).split("\n"):
        if ROW.match(line):
            continue
        lines.append(line)
        if line.startswith("Generated "):
            lines += ["", updated]
        if line == RUN_TABLE[1]:
            lines += rows.values()
    body = "\n\n".join(section.strip("\n") for section in sections.values())
    return "\n".join(lines) + body + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated module names")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    selected = [m for m in modules() if not args.only or m in args.only.split(",")]
    outcomes = {} if args.report_only else run_all(selected)
    results = []
    for module in selected:
        path = OUT / f"{module}.json"
        if path.exists():
            results.append(json.loads(path.read_text()))
    partial = bool(args.only) and REPORT.exists()
    REPORT.write_text(
        merge(REPORT.read_text(), results, outcomes) if partial else render(results, outcomes)
    )
    print(f"wrote {REPORT}")
    return 1 if any(outcome.returncode != 0 for outcome in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
