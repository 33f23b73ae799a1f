"""Sessions and refresh-token families: rotation, reuse detection, logout and revocation."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime

import pytest
from auth_support import AuthClient, ReadEvents

from agentbus_auth.audit.repository import AuditKind
from agentbus_shared.bus.rpc import RpcReply
from agentbus_shared.errors import AgentbusError


async def test_refresh_rotates_the_refresh_token_and_keeps_the_session(client: AuthClient) -> None:
    account = await client.register()
    first = client.claims(account.access_token)
    reply = await client.call("refresh", {"refresh_token": account.refresh_token})
    tokens = reply.data
    assert tokens["refresh_token"] != account.refresh_token
    second = client.claims(tokens["access_token"])
    assert second.sid == first.sid
    assert second.jti != first.jti
    again = await client.call("refresh", {"refresh_token": tokens["refresh_token"]})
    assert client.claims(again.data["access_token"]).sid == first.sid


async def test_reused_refresh_token_revokes_the_family(
    client: AuthClient, events: ReadEvents
) -> None:
    account = await client.register()
    sid = client.claims(account.access_token).sid
    rotated = (await client.call("refresh", {"refresh_token": account.refresh_token})).data

    reuse = await client.error("refresh", {"refresh_token": account.refresh_token})
    assert (reuse.status, reuse.code) == (401, "refresh_token_reused")

    # The thief's copy and the owner's newest token are both dead now.
    dead = await client.error("refresh", {"refresh_token": rotated["refresh_token"]})
    assert (dead.status, dead.code) == (401, "invalid_refresh_token")

    revoked = await events("events.auth.*.session.revoked", 1)
    data = revoked[0]["data"]
    assert (data["session_id"], data["reason"]) == (sid, "refresh_token_reused")
    expires = datetime.fromisoformat(data["expires_at"])
    assert expires >= datetime.fromisoformat(data["revoked_at"])
    found = await client.parts.audit.entries(kind=AuditKind.REFRESH_REUSE_DETECTED)
    assert [(e.user_id, e.ip) for e in found] == [(account.user_id, client.ip)]


async def test_concurrent_refreshes_of_one_token_yield_one_rotation_and_revoke_the_family(
    client: AuthClient,
) -> None:
    account = await client.register()

    async def refresh() -> RpcReply | AgentbusError:
        try:
            return await client.call("refresh", {"refresh_token": account.refresh_token})
        except AgentbusError as exc:
            return exc

    outcomes = await asyncio.gather(*(refresh() for _ in range(5)))
    successes = [o for o in outcomes if not isinstance(o, AgentbusError)]
    failures = [o for o in outcomes if isinstance(o, AgentbusError)]
    assert len(successes) == 1
    assert {f.status for f in failures} == {401}
    assert "refresh_token_reused" in {f.code for f in failures}
    rotated = successes[0].data["refresh_token"]
    assert (await client.error("refresh", {"refresh_token": rotated})).status == 401


async def test_unknown_refresh_token_is_refused(client: AuthClient) -> None:
    error = await client.error("refresh", {"refresh_token": "rt_not-a-real-token"})
    assert (error.status, error.code) == (401, "invalid_refresh_token")


async def test_logout_revokes_the_session_at_once(client: AuthClient, events: ReadEvents) -> None:
    account = await client.register()
    sid = client.claims(account.access_token).sid
    reply = await client.call("logout", token=account.access_token)
    assert reply.data is None
    error = await client.error("refresh", {"refresh_token": account.refresh_token})
    assert error.status == 401
    revoked = await events("events.auth.*.session.revoked", 1)
    assert revoked[0]["data"]["session_id"] == sid
    assert revoked[0]["data"]["reason"] == "logout"
    assert revoked[0]["tenantid"] == account.tenant_id


async def test_logout_all_revokes_every_session_of_the_user(
    client: AuthClient, events: ReadEvents
) -> None:
    account = await client.register()
    second = (await client.login(account.email, client.password)).data
    other = await client.register()
    await client.call("logout.all", token=second["access_token"])
    for refresh_token in (account.refresh_token, second["refresh_token"]):
        assert (await client.error("refresh", {"refresh_token": refresh_token})).status == 401
    assert (await client.call("refresh", {"refresh_token": other.refresh_token})).data
    revoked = await events("events.auth.*.session.revoked", 2)
    assert {e["data"]["reason"] for e in revoked} == {"logout_all"}


async def test_sessions_are_listed_and_one_can_be_revoked(client: AuthClient) -> None:
    account = await client.register()
    second = (await client.login(account.email, client.password)).data
    listed = (await client.call("sessions.list", {"limit": 20}, token=account.access_token)).data
    assert len(listed["items"]) == 2
    current = [s for s in listed["items"] if s["current"]]
    assert [s["id"] for s in current] == [client.claims(account.access_token).sid]
    assert current[0]["ip"] == client.ip
    assert current[0]["user_agent"] == "pytest"

    page = (await client.call("sessions.list", {"limit": 1}, token=account.access_token)).data
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    rest = await client.call(
        "sessions.list", {"limit": 1, "cursor": page["next_cursor"]}, token=account.access_token
    )
    assert rest.data["items"][0]["id"] != page["items"][0]["id"]

    other_sid = client.claims(second["access_token"]).sid
    await client.call("sessions.revoke", {"session_id": other_sid}, token=account.access_token)
    assert (await client.error("refresh", {"refresh_token": second["refresh_token"]})).status == 401
    listed = (await client.call("sessions.list", token=account.access_token)).data
    assert [s["id"] for s in listed["items"]] == [client.claims(account.access_token).sid]


async def test_nobody_can_revoke_another_users_session(client: AuthClient) -> None:
    victim = await client.register()
    attacker = await client.register()
    error = await client.error(
        "sessions.revoke",
        {"session_id": client.claims(victim.access_token).sid},
        token=attacker.access_token,
    )
    assert (error.status, error.code) == (404, "session_not_found")
    assert (await client.call("refresh", {"refresh_token": victim.refresh_token})).data


def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


TYPE_CONFUSED_CURSORS = ["!!nope", _cursor("[1,2]"), _cursor('[{"a":1}]'), _cursor('["a","b","c"]')]
"""Garbage, and cursors of the wrong shape: every one of them gave a 500 in some list once."""


@pytest.mark.parametrize(
    "operation", ["sessions.list", "tenants.members.list", "service_accounts.list"]
)
async def test_a_type_confused_cursor_is_a_400_invalid_cursor_in_every_list(
    client: AuthClient, operation: str
) -> None:
    owner = await client.register()
    for cursor in TYPE_CONFUSED_CURSORS:
        error = await client.error(operation, {"cursor": cursor}, token=owner.access_token)
        assert (error.status, error.code) == (400, "invalid_cursor"), cursor
