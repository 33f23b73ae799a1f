"""The production NATS config speaks TLS, and the services' own client code connects through it."""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from agentbus_shared.bus import make_broker
from agentbus_shared.bus.permissions import password_variable
from agentbus_shared.servers import ManagedServer, find_binary, free_port
from agentbus_shared.settings import ServiceSettings

from .derive import DEPLOY
from .natsbus import ACCOUNTS_CONF, make_passwords

PROD_CONF = DEPLOY / "k8s" / "overlays" / "prod" / "nats-tls.conf"
CERT_DIR = "/etc/nats/tls"


def _write_pem(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def make_certificates(directory: Path) -> None:
    """A CA and a server certificate for 127.0.0.1/localhost, as ca.crt, tls.crt, tls.key."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agentbus test CA")])
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
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nats")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_pem(directory / "ca.crt", ca.public_bytes(serialization.Encoding.PEM))
    _write_pem(directory / "tls.crt", cert.public_bytes(serialization.Encoding.PEM))
    _write_pem(
        directory / "tls.key",
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def without_block(text: str, name: str) -> str:
    """``text`` without the top-level ``name { … }`` block (nested braces included)."""
    start = re.search(rf"^{name} \{{", text, re.M)
    assert start is not None, f"no {name} block"
    depth = 0
    for index in range(start.end() - 1, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[: start.start()] + text[index + 1 :]
    raise AssertionError(f"unbalanced {name} block")


class ProdNats(ManagedServer):
    """The prod overlay's nats.conf on loopback, as one node (the cluster block removed)."""

    name = "nats-prod"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory / "data", persistent=False)
        self.directory = directory

    def prepare(self) -> None:
        super().prepare()
        text = without_block(PROD_CONF.read_text(), "cluster")
        text = text.replace(CERT_DIR, str(self.directory))
        text = re.sub(r"^listen: .*$", f"listen: {self.host}:{self.port}", text, flags=re.M)
        text = re.sub(r"^http: .*$", f"http: {self.host}:{free_port()}", text, flags=re.M)
        text = re.sub(r"^pid_file: .*$", f"pid_file: {self.directory}/nats.pid", text, flags=re.M)
        text = re.sub(r"store_dir: .*$", f"store_dir: {self.data_dir}", text, flags=re.M)
        (self.directory / "nats.conf").write_text(text)
        (self.directory / "accounts.conf").write_text(ACCOUNTS_CONF.read_text())

    def command(self) -> list[str]:
        return [str(find_binary("nats-server")), "-c", str(self.directory / "nats.conf")]

    @property
    def url(self) -> str:
        return f"tls://{self.host}:{self.port}"


@pytest.fixture
def prod_nats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ProdNats, dict[str, str]]]:
    passwords = make_passwords()
    for key, value in passwords.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POD_NAME", "nats-0")
    make_certificates(tmp_path)
    server = ProdNats(tmp_path)
    server.start()
    try:
        yield server, passwords
    finally:
        server.stop()


def test_prod_config_keeps_the_cluster_and_adds_tls_to_it() -> None:
    text = PROD_CONF.read_text()
    cluster = text[text.index("cluster {") :]
    assert "tls {" in cluster and "verify: true" in cluster
    assert "include accounts.conf" in text


async def test_services_connect_to_the_production_bus_over_tls_with_their_ca(
    prod_nats: tuple[ProdNats, dict[str, str]], tmp_path: Path
) -> None:
    server, passwords = prod_nats
    settings = ServiceSettings(
        nats_url=server.url,
        nats_user="gateway",
        nats_password=passwords[password_variable("gateway")],
        nats_tls_ca_file=str(tmp_path / "ca.crt"),
    )
    broker = make_broker(settings, name="gateway", max_reconnect_attempts=0)
    await broker.connect()
    try:
        assert broker.connection.is_connected
        assert broker.connection.connected_url is not None
        await broker.connection.flush(timeout=2)
    finally:
        await broker.stop()


async def test_production_bus_refuses_untrusted_clients_and_wrong_passwords(
    prod_nats: tuple[ProdNats, dict[str, str]], tmp_path: Path
) -> None:
    server, passwords = prod_nats
    password = passwords[password_variable("gateway")]
    # Even a plain nats:// client is made to upgrade: without the CA it cannot trust the server.
    for url in (f"nats://{server.host}:{server.port}", server.url):
        with pytest.raises(ssl.SSLCertVerificationError):
            await nats.connect(
                url, user="gateway", password=password, allow_reconnect=False, connect_timeout=2
            )
    trusted = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(
            server.url,
            user="gateway",
            password="wrong",
            tls=trusted,
            allow_reconnect=False,
            connect_timeout=2,
        )
