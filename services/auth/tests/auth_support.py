"""The auth service as its tests drive it: over the bus like the gateway, its mail read from files.

``AuthClient`` does what the gateway does for a request: it verifies the access token with the
JWKS the service publishes, turns the claims into the caller's ``Principal`` and sends it with
the RPC. Mail goes to files, where ``client.mail`` (a ``MailSink``) reads codes the way a person
reads mail.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import nats
from faststream.nats import NatsBroker

from agentbus_auth.app import AuthParts
from agentbus_auth.sessions.tokens import AccessTokenVerifier
from agentbus_shared.bus import RpcClient
from agentbus_shared.bus.rpc import RpcReply
from agentbus_shared.contracts.auth import AccessTokenClaims
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.errors import AgentbusError
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.testing.waiting import MailSink

STRONG_PASSWORD = "glacier-violin-tangerine-42"
OTHER_PASSWORD = "quartz-harbor-lantern-77"
CLIENT_IP = "198.51.100.7"

Event = dict[str, Any]
"""A CloudEvent as read from JetStream."""

ServiceAccount = dict[str, Any]
"""A service account as created, its client secret included."""


class StartAuth(Protocol):
    """Starts an auth service with setting overrides and tuning knobs:
    ``await start_auth(signup_policy=…, tuning={"lockout_threshold": …})``."""

    async def __call__(
        self, *, tuning: dict[str, Any] | None = None, **overrides: Any
    ) -> ServiceRuntime: ...


class ReadEvents(Protocol):
    """``await events(subject, count)``: the first ``count`` events on ``subject`` (JetStream)."""

    async def __call__(self, subject: str, count: int, timeout: float = 10.0) -> list[Event]: ...


@dataclass
class Account:
    email: str
    password: str
    user_id: str
    tenant_id: str
    access_token: str
    refresh_token: str

    @classmethod
    def from_result(cls, email: str, password: str, data: dict[str, Any]) -> Account:
        """The account a register or invite-accept answer describes (with its tokens)."""
        return cls(
            email=email,
            password=password,
            user_id=data["user"]["id"],
            tenant_id=data["tenant"]["id"],
            access_token=data["tokens"]["access_token"],
            refresh_token=data["tokens"]["refresh_token"],
        )


class AuthClient:
    """Calls ``rpc.auth.v1.*`` as the gateway does (principal from a verified token, client IP)."""

    password = STRONG_PASSWORD
    other_password = OTHER_PASSWORD
    ip = CLIENT_IP

    def __init__(self, broker: NatsBroker, runtime: ServiceRuntime, mail_dir: Path) -> None:
        self.rpc = RpcClient(broker, timeout=10)
        self.runtime = runtime
        self.parts = runtime.parts_as(AuthParts)
        self.mail = MailSink(mail_dir)
        self._counter = 0

    def verifier(self) -> AccessTokenVerifier:
        tuning = self.parts.settings.tuning
        return AccessTokenVerifier(
            self.parts.keyring.jwks().keys, issuer=tuning.issuer, audience=tuning.audience
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
        self,
        operation: str,
        payload: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        ip: str | None = CLIENT_IP,
    ) -> AgentbusError:
        """Call and return the error the operation answers with (fails if it succeeds)."""
        try:
            reply = await self.call(operation, payload, token=token, ip=ip)
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
        return Account.from_result(email, password, reply.data)

    async def login(self, email: str, password: str, **extra: Any) -> RpcReply:
        return await self.call("login", {"email": email, "password": password, **extra})

    async def verify_email(self, account: Account) -> None:
        """Prove the account's mailbox with the code mailed at registration."""
        code = await self.mail.mailed_code(account.email, "verify_email")
        await self.call("email.verify", {"code": code}, token=account.access_token)

    async def register_verified(
        self,
        email: str | None = None,
        *,
        tenant_name: str = "Acme",
        display_name: str | None = None,
    ) -> Account:
        """A new account whose email is verified (it may invite)."""
        account = await self.register(email, tenant_name=tenant_name, display_name=display_name)
        await self.verify_email(account)
        return account

    async def invite(self, inviter: Account, email: str, role: str = "member") -> str:
        """Invite ``email`` into the inviter's tenant; the token its invite mail carries."""
        await self.call(
            "tenants.invites.create", {"email": email, "role": role}, token=inviter.access_token
        )
        return await self.mail.mailed_invite(email)

    async def join(self, owner: Account, role: str, email: str | None = None) -> Account:
        """A new account invited into ``owner``'s tenant with ``role``; its tokens there."""
        email = email or self.new_email(role)
        token = await self.invite(owner, email, role)
        accepted = await self.call(
            "tenants.invites.accept",
            {"token": token, "password": self.password, "display_name": role.title()},
        )
        return Account.from_result(email, self.password, accepted.data)

    async def create_service_account(
        self, creator: Account, scopes: list[str], name: str = "ci-bot"
    ) -> ServiceAccount:
        reply = await self.call(
            "service_accounts.create", {"name": name, "scopes": scopes}, token=creator.access_token
        )
        assert reply.status == 201
        return dict(reply.data)

    async def service_account_token(self, account: ServiceAccount) -> str:
        """An access token of ``account`` through the client-credentials grant."""
        reply = await self.call("oauth.token", client_credentials(account))
        return str(reply.data["access_token"])

    async def operator_token(self) -> str:
        """An access token of a new platform operator (granted as ``agentbus auth operators
        grant`` does, then logged in again)."""
        account = await self.register_verified(tenant_name="Operations")
        await self.parts.operators.grant(account.email, actor="cli")
        return str((await self.login(account.email, self.password)).data["access_token"])


def client_credentials(account: ServiceAccount, **extra: str) -> dict[str, str]:
    """The client-credentials grant of ``account`` (``scope=…`` to narrow it)."""
    return {
        "grant_type": "client_credentials",
        "client_id": account["client_id"],
        "client_secret": account["client_secret"],
        **extra,
    }


async def read_events(
    nats_url: str, subject: str, count: int, timeout: float = 10.0
) -> list[Event]:
    """The first ``count`` events on ``subject`` from the start of its stream (fewer on timeout)."""
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe(
            subject, ordered_consumer=True, deliver_policy=nats.js.api.DeliverPolicy.ALL
        )
        events: list[Event] = []
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


ClientFor = Callable[[ServiceRuntime], AuthClient]
"""A client of an auth service started with other settings (``client_for(await start_auth(…))``)."""
