"""``platform:operate`` comes from an explicit, audited grant (``agentbus auth operators …``),
never from an email address, whoever registered or invited it."""

from __future__ import annotations

import asyncio
import json

from auth_support import AuthClient
from typer.testing import CliRunner, Result

from agentbus_auth.cli import app
from agentbus_shared.contracts.common import Scope

runner = CliRunner()


async def operators(*args: str) -> Result:
    # The commands run their own event loop: keep it off this test's loop.
    return await asyncio.to_thread(runner.invoke, app, ["operators", *args])


def operates(client: AuthClient, access_token: str) -> bool:
    return Scope.PLATFORM_OPERATE in client.claims(access_token).scope.split()


async def test_a_self_invite_of_an_operator_email_gives_no_platform_operate(
    client: AuthClient,
) -> None:
    intruder = await client.register_verified()
    invite = await client.call(
        "tenants.invites.create",
        {"email": "ops@example.com", "role": "owner"},
        token=intruder.access_token,
    )
    stolen = await client.error(
        "tenants.invites.accept", {"token": invite.data["id"], "password": client.password}
    )
    assert stolen.code == "invalid_invite"

    # Even the mailbox's owner, who holds the token, gets no operator scope from it.
    accepted = await client.call(
        "tenants.invites.accept",
        {"token": await client.mail.mailed_invite("ops@example.com"), "password": client.password},
    )
    assert not operates(client, accepted.data["tokens"]["access_token"])
    me = await client.call("me", token=accepted.data["tokens"]["access_token"])
    assert Scope.PLATFORM_OPERATE not in me.data["scopes"]


async def test_only_an_explicit_grant_gives_platform_operate_and_revoke_takes_it_away(
    client: AuthClient,
) -> None:
    operator = await client.register_verified("ops@example.com")
    assert not operates(client, operator.access_token)

    granted = await operators("grant", "ops@example.com")
    assert granted.exit_code == 0, granted.output
    assert "granted platform:operate" in granted.output
    assert "already an operator" in (await operators("grant", "ops@example.com")).output
    assert "ops@example.com" in (await operators("list")).output
    tokens = (await client.login(operator.email, client.password)).data
    assert operates(client, tokens["access_token"])
    me = await client.call("me", token=tokens["access_token"])
    assert Scope.PLATFORM_OPERATE in me.data["scopes"]

    revoked = await operators("revoke", "ops@example.com")
    assert revoked.exit_code == 0, revoked.output
    ended = await client.error("refresh", {"refresh_token": tokens["refresh_token"]})
    assert ended.status == 401
    again = (await client.login(operator.email, client.password)).data
    assert not operates(client, again["access_token"])
    assert "ops@example.com" not in (await operators("list")).output

    audit = await asyncio.to_thread(
        runner.invoke, app, ["audit", "--email", "ops@example.com", "--limit", "100"]
    )
    kinds = [(e["kind"], e["actor_id"]) for e in map(json.loads, audit.output.splitlines())]
    assert ("operator.granted", "cli") in kinds
    assert ("operator.revoked", "cli") in kinds


async def test_an_unverified_or_unknown_account_is_not_granted(client: AuthClient) -> None:
    squatter = await client.register("ops@example.com")
    unverified = await operators("grant", "ops@example.com")
    assert unverified.exit_code == 1
    assert "not verified" in unverified.output
    unknown = await operators("grant", "nobody@example.com")
    assert unknown.exit_code == 1
    tokens = (await client.login(squatter.email, client.password)).data
    assert not operates(client, tokens["access_token"])
