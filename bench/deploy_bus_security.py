"""What the deployed bus security costs: RPC and JetStream publish on the deployed NATS config.

Three nats-servers on loopback, each started here:

- ``open``: no accounts, no permissions (the dev runner's server) — the baseline;
- ``secured``: the deployed ``deploy/nats/nats.conf`` + ``accounts.conf`` (a user per service,
  subject permissions checked on every publish and subscription);
- ``secured+tls``: the production overlay's ``nats-tls.conf`` (one node), TLS to the client.

Measured with the raw client (the service framework's own cost is measured elsewhere): request-
reply round trips (sequential and 50 in flight) from the gateway user to an auth responder, and
JetStream publish + ack of auth events.

    uv run python -m bench.deploy_bus_security
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import re
import secrets
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from nats.aio.msg import Msg

from agentbus_shared.bus.permissions import inbox_prefix_of
from agentbus_shared.bus.streams import apply_streams
from agentbus_shared.contracts.streams import AUTH_EVENTS
from agentbus_shared.servers import ManagedServer, NatsServer, find_binary, free_port
from bench.common import Result, describe, write_results

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_CONF = ROOT / "deploy" / "nats" / "nats.conf"
PROD_CONF = ROOT / "deploy" / "k8s" / "overlays" / "prod" / "nats-tls.conf"
ACCOUNTS_CONF = ROOT / "deploy" / "k8s" / "base" / "nats" / "accounts.conf"
SEQUENTIAL = 3000
CONCURRENT_TOTAL = 20000
IN_FLIGHT = 50
PUBLISHES = 3000


class ConfiguredNats(ManagedServer):
    """nats-server from one of the deployed config files, rewritten for loopback and a temp dir."""

    name = "nats-bench"

    def __init__(self, directory: Path, source: Path, certificates: Path | None = None) -> None:
        super().__init__(directory / "data", persistent=False)
        self.directory = directory
        self.source = source
        self.certificates = certificates

    def prepare(self) -> None:
        super().prepare()
        text = self.source.read_text()
        if "cluster {" in text:
            text = _without_block(text, "cluster")
        if self.certificates is not None:
            text = text.replace("/etc/nats/tls", str(self.certificates))
        text = re.sub(r"^listen: .*$", f"listen: {self.host}:{self.port}", text, flags=re.M)
        text = re.sub(r"^http: .*$", f"http: {self.host}:{free_port()}", text, flags=re.M)
        text = re.sub(r"^pid_file: .*$", f"pid_file: {self.directory}/nats.pid", text, flags=re.M)
        text = re.sub(r"store_dir: .*$", f"store_dir: {self.data_dir}", text, flags=re.M)
        (self.directory / "nats.conf").write_text(text)
        shutil.copy(ACCOUNTS_CONF, self.directory / "accounts.conf")

    def command(self) -> list[str]:
        return [str(find_binary("nats-server")), "-c", str(self.directory / "nats.conf")]

    @property
    def url(self) -> str:
        scheme = "tls" if self.certificates is not None else "nats"
        return f"{scheme}://{self.host}:{self.port}"


def _without_block(text: str, name: str) -> str:
    start = re.search(rf"^{name} \{{", text, re.M)
    assert start is not None
    depth = 0
    for index in range(start.end() - 1, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[: start.start()] + text[index + 1 :]
    raise ValueError(f"unbalanced {name} block")


def _certificates(directory: Path) -> None:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nats")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.crt").write_bytes(ca.public_bytes(pem))
    (directory / "tls.crt").write_bytes(cert.public_bytes(pem))
    (directory / "tls.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


async def _connect(url: str, user: str | None, passwords: dict[str, str], tls: Any) -> Any:
    options: dict[str, Any] = {"allow_reconnect": False, "connect_timeout": 5}
    if user is not None:
        options |= {
            "user": user,
            "password": passwords[f"NATS_{user.upper()}_PASSWORD"],
            "inbox_prefix": inbox_prefix_of(user),
        }
    if tls is not None:
        options["tls"] = tls
    return await nats.connect(url, **options)


async def _measure(
    variant: str, url: str, user_auth: bool, passwords: dict[str, str], tls: Any
) -> list[Result]:
    responder = await _connect(url, "auth" if user_auth else None, passwords, tls)
    caller = await _connect(url, "gateway" if user_auth else None, passwords, tls)
    publisher = await _connect(url, "auth" if user_auth else None, passwords, tls)
    ops = await _connect(url, "ops" if user_auth else None, passwords, tls)
    try:
        await apply_streams(ops.jetstream(), (AUTH_EVENTS,))

        async def answer(msg: Msg) -> None:
            await msg.respond(b'{"data":{"ok":true}}')

        await responder.subscribe("rpc.auth.v1.>", queue="auth", cb=answer)
        await responder.flush()
        await caller.flush()
        for _ in range(200):  # warm up
            await caller.request("rpc.auth.v1.ping", b"{}", timeout=5)

        latencies = []
        started = time.perf_counter()
        for _ in range(SEQUENTIAL):
            sent = time.perf_counter()
            await caller.request("rpc.auth.v1.ping", b"{}", timeout=5)
            latencies.append((time.perf_counter() - sent) * 1000)
        sequential_rate = SEQUENTIAL / (time.perf_counter() - started)

        async def worker(count: int) -> None:
            for _ in range(count):
                await caller.request("rpc.auth.v1.ping", b"{}", timeout=10)

        started = time.perf_counter()
        await asyncio.gather(*(worker(CONCURRENT_TOTAL // IN_FLIGHT) for _ in range(IN_FLIGHT)))
        concurrent_rate = CONCURRENT_TOTAL / (time.perf_counter() - started)

        js = publisher.jetstream()
        started = time.perf_counter()
        for index in range(PUBLISHES):
            await js.publish(
                "events.auth.t_bench.tenant.created",
                b"{}",
                headers={"Nats-Msg-Id": f"{variant}-{index}-{secrets.token_hex(4)}"},
            )
        publish_rate = PUBLISHES / (time.perf_counter() - started)
    finally:
        for client in (responder, caller, publisher, ops):
            await client.close()

    stats = describe(latencies)
    baseline = None if variant == "open" else "open"
    return [
        Result(
            f"rpc_sequential[{variant}]",
            sequential_rate,
            "req/s",
            spread=f"p50 {stats['p50']:.3f} ms, p99 {stats['p99']:.3f} ms",
            baseline=f"rpc_sequential[{baseline}]" if baseline else None,
            extra=stats,
        ),
        Result(
            f"rpc_{IN_FLIGHT}_in_flight[{variant}]",
            concurrent_rate,
            "req/s",
            baseline=f"rpc_{IN_FLIGHT}_in_flight[{baseline}]" if baseline else None,
        ),
        Result(
            f"jetstream_publish_ack[{variant}]",
            publish_rate,
            "msg/s",
            baseline=f"jetstream_publish_ack[{baseline}]" if baseline else None,
        ),
    ]


async def _run(scratch: Path) -> list[Result]:
    passwords = {
        name: "p" + secrets.token_hex(16)
        for name in re.findall(r"\$(NATS_[A-Z_]+_PASSWORD)", ACCOUNTS_CONF.read_text())
    }
    os.environ.update(passwords)
    os.environ.setdefault("POD_NAME", "nats-0")
    results: list[Result] = []
    variants: list[tuple[str, Callable[[], ManagedServer], bool, Any]] = []
    (scratch / "certs").mkdir()
    _certificates(scratch / "certs")
    trust = ssl.create_default_context(cafile=str(scratch / "certs" / "ca.crt"))
    for name in ("open", "secured", "secured-tls"):
        (scratch / name).mkdir()
    variants = [
        ("open", lambda: NatsServer(scratch / "open" / "data", persistent=False), False, None),
        ("secured", lambda: ConfiguredNats(scratch / "secured", COMPOSE_CONF), True, None),
        (
            "secured+tls",
            lambda: ConfiguredNats(scratch / "secured-tls", PROD_CONF, scratch / "certs"),
            True,
            trust,
        ),
    ]
    for variant, make, user_auth, tls in variants:
        server = make()
        server.start()
        try:
            results.extend(await _measure(variant, server.url, user_auth, passwords, tls))
        finally:
            server.stop()
    for result in results:
        if result.baseline:
            base = next(r for r in results if r.name == result.baseline)
            result.extra["ratio_to_baseline"] = round(result.value / base.value, 3)
    return results


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-bus-security-") as scratch:
        results = asyncio.run(_run(Path(scratch)))
    ratios = ", ".join(
        f"{r.name} {r.extra['ratio_to_baseline']}x"
        for r in results
        if "ratio_to_baseline" in r.extra
    )
    write_results(
        "deploy_bus_security",
        "uv run python -m bench.deploy_bus_security",
        results,
        notes=f"Ratios to the open server: {ratios}. Raw nats-py clients, one process, loopback.",
    )


if __name__ == "__main__":
    main()
