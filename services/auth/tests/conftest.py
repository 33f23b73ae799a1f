"""The auth service under test: real NATS, PostgreSQL and Redis; calls over the bus like the gateway.

``AuthClient`` does what the gateway does for a request: it verifies the
access token with the JWKS the service publishes, turns the claims into the
caller's ``Principal`` and sends it with the RPC. Mail goes to files in a
temporary directory, where the tests read codes the way a person reads mail.
"""

from __future__ import annotations

import asyncio
import email
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import nats
import pytest
from faststream.nats import NatsBroker

from agentbus_auth.app import AuthApp, create
from agentbus_auth.sessions.tokens import AccessTokenVerifier
from agentbus_auth.settings import AuthSettings
from agentbus_shared.bus import RpcClient
from agentbus_shared.bus.rpc import RpcReply
from agentbus_shared.bus.streams import apply_streams
from agentbus_shared.contracts.auth import AccessTokenClaims
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.contracts.streams import STREAMS
from agentbus_shared.errors import AgentbusError
from agentbus_shared.testing.plugin import BusLogins
from agentbus_shared.testing.waiting import invite_token_in

STRONG_PASSWORD = "glacier-violin-tangerine-42"
OTHER_PASSWORD = "quartz-harbor-lantern-77"
CLIENT_IP = "198.51.100.7"

# Cheap argon2 for speed; the parameters themselves are covered by their own tests.
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 8 * 1024}


async def apply_all_streams(nats_url: str) -> None:
    """Every stream exists before a service starts, as ``agentbus streams apply`` ensures."""
    nc = await nats.connect(nats_url)
    try:
        await apply_streams(nc.jetstream(), STREAMS)
    finally:
        await nc.close()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture(autouse=True)
def _logs_in_as_auth(monkeypatch: pytest.MonkeyPatch, bus_logins: BusLogins) -> None:
    """The service under test logs in to the bus as auth, with auth's permissions."""
    bus_logins.log_in_as(monkeypatch, "auth")


@pytest.fixture
def auth_settings(service_env: dict[str, str], mail_dir: Path) -> Callable[..., AuthSettings]:
    def make(**overrides: Any) -> AuthSettings:
        values: dict[str, Any] = {"mail_dir": str(mail_dir), **FAST_HASHING, **overrides}
        return AuthSettings(**values)

    return make


@pytest.fixture
async def start_auth(
    auth_settings: Callable[..., AuthSettings], nats_url: str
) -> AsyncIterator[Callable[..., Any]]:
    """Start the auth service with setting overrides: ``app = await start_auth(signup_policy=…)``."""
    await apply_all_streams(nats_url)
    started: list[AuthApp] = []

    async def start(**overrides: Any) -> AuthApp:
        app = create(auth_settings(**overrides), configure_process=False)
        await app.runtime.start()
        started.append(app)
        return app

    yield start
    for app in reversed(started):
        await app.runtime.stop()


@pytest.fixture
async def auth(start_auth: Callable[..., Any]) -> AuthApp:
    app: AuthApp = await start_auth()
    return app


@dataclass
class Account:
    email: str
    password: str
    user_id: str
    tenant_id: str
    access_token: str
    refresh_token: str


class AuthClient:
    """Calls ``rpc.auth.v1.*`` as the gateway does (principal from a verified token, client IP)."""

    password = STRONG_PASSWORD
    other_password = OTHER_PASSWORD
    ip = CLIENT_IP

    def __init__(self, broker: NatsBroker, app: AuthApp, mail_dir: Path) -> None:
        self.rpc = RpcClient(broker, timeout=10)
        self.app = app
        self.mail_dir = mail_dir
        self._counter = 0

    def verifier(self) -> AccessTokenVerifier:
        settings = self.app.services.settings
        return AccessTokenVerifier(
            self.app.services.keyring.jwks().keys,
            issuer=settings.issuer,
            audience=settings.audience,
        )

    def claims(self, access_token: str) -> AccessTokenClaims:
        return self.verifier().verify(access_token)

    def principal(self, access_token: str) -> Principal:
        return self.claims(access_token).principal()

    async def call(
        self,
        operation: str,
        payload: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        ip: str | None = CLIENT_IP,
    ) -> RpcReply:
        principal = self.principal(token) if token else None
        meta = RequestMeta(
            request_id=f"req-{time.monotonic_ns()}", client_ip=ip, user_agent="pytest"
        )
        return await self.rpc.call("auth", operation, payload or {}, principal=principal, meta=meta)

    async def error(
        self, operation: str, payload: dict[str, Any] | None = None, **kw: Any
    ) -> AgentbusError:
        """Call and return the error the operation answers with (fails if it succeeds)."""
        try:
            reply = await self.call(operation, payload, **kw)
        except AgentbusError as exc:
            return exc
        raise AssertionError(f"{operation} succeeded: {reply}")

    def new_email(self, name: str = "user") -> str:
        self._counter += 1
        return f"{name}{self._counter}-{time.monotonic_ns() % 100000}@example.com"

    async def register(
        self,
        email: str | None = None,
        password: str = STRONG_PASSWORD,
        tenant_name: str = "Acme",
        display_name: str | None = None,
    ) -> Account:
        email = email or self.new_email()
        reply = await self.call(
            "register",
            {
                "email": email,
                "password": password,
                "tenant_name": tenant_name,
                "display_name": display_name,
            },
        )
        data = reply.data
        return Account(
            email=email,
            password=password,
            user_id=data["user"]["id"],
            tenant_id=data["tenant"]["id"],
            access_token=data["tokens"]["access_token"],
            refresh_token=data["tokens"]["refresh_token"],
        )

    async def login(self, email: str, password: str, **extra: Any) -> RpcReply:
        return await self.call("login", {"email": email, "password": password, **extra})

    async def mails(
        self, to: str, template: str, *, count: int = 1, timeout: float = 15.0
    ) -> list[Message]:
        """The messages of ``template`` sent to ``to`` (waits until ``count`` have arrived)."""
        deadline = time.monotonic() + timeout
        while True:
            found = []
            if self.mail_dir.exists():
                for path in sorted(self.mail_dir.glob(f"*-{template}-*.eml")):
                    message = email.message_from_bytes(path.read_bytes())
                    if message["To"] == to:
                        found.append(message)
            if len(found) >= count or time.monotonic() > deadline:
                if len(found) < count:
                    raise AssertionError(
                        f"{count} {template} mail(s) to {to} expected, got {len(found)}"
                    )
                return found
            await asyncio.sleep(0.05)

    async def mailed_code(self, to: str, template: str, *, count: int = 1) -> str:
        """The code in the newest ``template`` message to ``to``."""
        message = (await self.mails(to, template, count=count))[-1]
        return code_in(message)

    async def mailed_invite(self, to: str, *, count: int = 1) -> str:
        """The token in the newest invite mail to ``to``: only the invited mailbox has it."""
        return invite_token_in((await self.mails(to, "invite", count=count))[-1])

    async def verify_email(self, account: Account) -> None:
        """Prove the account's mailbox with the code mailed at registration."""
        code = await self.mailed_code(account.email, "verify_email")
        await self.call("email.verify", {"code": code}, token=account.access_token)

    async def register_verified(self, email: str | None = None, **kwargs: Any) -> Account:
        """A new account whose email is verified (it may invite)."""
        account = await self.register(email, **kwargs)
        await self.verify_email(account)
        return account


def code_in(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    match = re.search(r"Code: (\S+)", body.decode())
    assert match, body
    return match.group(1)


@pytest.fixture
async def client(broker: NatsBroker, auth: AuthApp, mail_dir: Path) -> AuthClient:
    await broker.connection.flush()
    return AuthClient(broker, auth, mail_dir)


@pytest.fixture
def client_for(broker: NatsBroker, mail_dir: Path) -> Callable[[AuthApp], AuthClient]:
    """A client of an auth service started with other settings (``start_auth(...)``)."""
    return lambda app: AuthClient(broker, app, mail_dir)


EventReader = Callable[..., Any]


@pytest.fixture
def events(nats_url: str) -> EventReader:
    """``await events(subject, count)``: the first ``count`` events on ``subject`` (JetStream)."""

    async def read(subject: str, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        return await collect_events(nats_url, subject, count, timeout)

    return read


async def collect_events(
    nats_url: str, subject: str, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(
            subject, ordered_consumer=True, deliver_policy=nats.js.api.DeliverPolicy.ALL
        )
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(events) < count and time.monotonic() < deadline:
            try:
                msg = await sub.next_msg(timeout=max(0.05, deadline - time.monotonic()))
            except nats.errors.TimeoutError:
                break
            events.append(json.loads(msg.data))
        await sub.unsubscribe()
        return events
    finally:
        await nc.close()
