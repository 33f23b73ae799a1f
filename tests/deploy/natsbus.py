"""A real nats-server started from the deployment's own configuration, and clients that log in.

The compose configuration (``deploy/nats/nats.conf`` with the shared
``accounts.conf``) is copied with only its addresses and store directory
changed, so every user and permission under test is the deployed one.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.aio.client import Client

from agentbus_shared.bus import permissions
from agentbus_shared.servers import ManagedServer, find_binary, free_port

from .derive import DEPLOY

COMPOSE_CONF = DEPLOY / "nats" / "nats.conf"
ACCOUNTS_CONF = DEPLOY / "k8s" / "base" / "nats" / "accounts.conf"
K8S_CONF = DEPLOY / "k8s" / "base" / "nats" / "nats.conf"
_VIOLATION = re.compile(r'permissions violation for (publish|subscription) to "([^"]+)"', re.I)


def password_variables() -> list[str]:
    """The ``$NATS_…_PASSWORD`` variables accounts.conf reads from the environment."""
    return sorted(set(re.findall(r"\$(NATS_[A-Z_]+_PASSWORD)", ACCOUNTS_CONF.read_text())))


def users() -> list[str]:
    return re.findall(r"^\s*user:\s*(\w+)\s*$", ACCOUNTS_CONF.read_text(), re.M)


def replace_once(text: str, pattern: str, replacement: str) -> str:
    new, count = re.subn(pattern, replacement, text, flags=re.M)
    assert count == 1, f"expected one line matching {pattern!r} in the NATS config"
    return new


class SecuredNats(ManagedServer):
    """nats-server from the compose configuration, on a free loopback port; with the checked-in
    ``accounts.conf`` unless given another rendering (``accounts``)."""

    name = "nats-secured"

    def __init__(
        self, directory: Path, passwords: dict[str, str], accounts: str | None = None
    ) -> None:
        super().__init__(directory / "data", persistent=False)
        self.passwords = passwords
        self.accounts = accounts
        self.monitor_port = free_port()
        self.config = directory / "nats.conf"

    def prepare(self) -> None:
        super().prepare()
        text = COMPOSE_CONF.read_text()
        text = replace_once(text, r"^listen: .*$", f"listen: {self.host}:{self.port}")
        text = replace_once(text, r"^http: .*$", f"http: {self.host}:{self.monitor_port}")
        text = replace_once(text, r"^(\s*)store_dir: .*$", rf"\1store_dir: {self.data_dir}")
        self.config.write_text(text)
        if self.accounts is None:
            shutil.copy(ACCOUNTS_CONF, self.config.parent / "accounts.conf")
        else:
            (self.config.parent / "accounts.conf").write_text(self.accounts)

    def command(self) -> list[str]:
        return [str(find_binary("nats-server")), "-c", str(self.config)]

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"


def make_passwords() -> dict[str, str]:
    """A fresh password for every ``$NATS_…_PASSWORD`` the deployed file reads."""
    passwords = permissions.new_passwords(permissions.bus_users())
    missing = set(password_variables()) - set(passwords)
    assert not missing, f"accounts.conf reads passwords of users the code has not: {missing}"
    return passwords


@dataclass
class Session:
    """A logged-in client that records the permission violations the server reports."""

    user: str
    client: Client
    denied: set[tuple[str, str]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    async def settle(self) -> None:
        """Let the server's answers to everything sent so far arrive."""
        await self.client.flush(timeout=5)
        await asyncio.sleep(0.05)
        await self.client.flush(timeout=5)

    async def denied_publishes(self, subjects: list[str]) -> set[str]:
        for subject in subjects:
            await self.client.publish(subject, b"{}")
        await self.settle()
        return self._denied("publish", subjects)

    async def denied_subscriptions(self, subjects: list[str]) -> set[str]:
        subscriptions = [await self.client.subscribe(subject) for subject in subjects]
        await self.settle()
        for subscription in subscriptions:
            await subscription.unsubscribe()
        return self._denied("subscription", subjects)

    def _denied(self, kind: str, subjects: list[str]) -> set[str]:
        # The client reports the server's error text in lower case.
        return {s for s in subjects if (kind, s.lower()) in self.denied}

    async def close(self) -> None:
        await self.client.close()


async def login(url: str, user: str, password: str, inbox_prefix: str | None = None) -> Session:
    """``user`` logged in with its own inbox prefix, or ``inbox_prefix`` (a previous release's
    pod: ``_INBOX``)."""
    session: Session

    async def on_error(error: Exception) -> None:
        text = str(error)
        session.errors.append(text)
        match = _VIOLATION.search(text)
        if match:
            session.denied.add((match.group(1).lower(), match.group(2).lower()))

    client = await nats.connect(
        url,
        user=user,
        password=password,
        error_cb=on_error,
        allow_reconnect=False,
        connect_timeout=3,
        inbox_prefix=inbox_prefix or permissions.inbox_prefix_of(user),
    )
    session = Session(user, client)
    return session
