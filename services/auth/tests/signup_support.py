"""Signup as its tests drive it: an operator let in by a signup invite from the CLI, access
requests as operators list them, and registrations carrying a mailed invite's token."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs, urlsplit

from auth_support import Account, AuthClient
from typer.testing import CliRunner

from agentbus_auth.cli import app
from agentbus_shared.contracts.signup import Operation

runner = CliRunner()


async def auth_command(*args: str) -> str:
    """``agentbus auth ARGS``: its output (it must succeed)."""
    # The command runs its own event loop: keep it off this test's loop.
    result = await asyncio.to_thread(runner.invoke, app, list(args))
    assert result.exit_code == 0, result.output
    return str(result.output)


async def mailed_invite_token(client: AuthClient, email: str, count: int = 1) -> str:
    """The invite token of the signup invite link mailed to ``email``."""
    link = await client.mail.mailed_link(email, "signup_invite", count=count)
    query = parse_qs(urlsplit(link).query)
    assert query["email"] == [email]
    return query["invite"][0]


def registration(email: str, password: str, invite_token: str | None = None) -> dict[str, Any]:
    """A ``register`` payload for ``email``, carrying the signup invite's token when given."""
    return {
        "email": email,
        "password": password,
        "tenant_name": "Invited",
        **({"invite_token": invite_token} if invite_token else {}),
    }


async def operator_of(client: AuthClient) -> Account:
    """An account holding ``platform:operate``, signed up with an invite from the CLI (the way in
    of the first operator of an invitation-only platform)."""
    email = client.new_email("ops")
    assert "signup invite" in await auth_command("signup", "invite", email, "--note", "first")
    token = await mailed_invite_token(client, email)
    reply = await client.call("register", registration(email, client.password, token))
    await auth_command("operators", "grant", email)
    tokens = (await client.login(email, client.password)).data
    return Account.from_result(email, client.password, {**reply.data, "tokens": tokens})


async def request_access(
    client: AuthClient, email: str, *, ip: str = AuthClient.ip, **extra: Any
) -> int:
    """Ask for access as ``email``; the answer's status (its body is always empty)."""
    reply = await client.call(
        Operation.REQUEST_ACCESS, {"email": email, "name": "Ada"} | extra, ip=ip
    )
    assert reply.data is None
    return reply.status


async def pending_request(client: AuthClient, operator: Account, email: str) -> dict[str, Any]:
    """The pending access request of ``email`` as ``operator`` lists it."""
    listed = await client.call(
        Operation.REQUESTS_LIST, {"status": "pending"}, token=operator.access_token
    )
    (found,) = [r for r in listed.data["items"] if r["email"] == email]
    return dict(found)
