"""Operators run the tenant lifecycle: search and open tenants, create one for an owner they
invite, suspend and reactivate; a suspended tenant gets no token of any kind."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
from auth_support import Account, AuthClient, ReadEvents, client_credentials
from signup_support import operator_of
from sqlalchemy import update

from agentbus_auth.audit.repository import entries
from agentbus_auth.models import tenants
from agentbus_shared.contracts.platform import Operation
from agentbus_shared.contracts.streams import ENTITLEMENTS
from agentbus_shared.errors import AgentbusError


async def tenant_page(client: AuthClient, operator: Account, tenant_id: str) -> dict[str, Any]:
    reply = await client.call(
        Operation.TENANTS_GET, {"tenant_id": tenant_id}, token=operator.access_token
    )
    return dict(reply.data)


async def suspend(client: AuthClient, operator: Account, tenant_id: str) -> dict[str, Any]:
    reply = await client.call(
        Operation.TENANTS_SUSPEND,
        {"tenant_id": tenant_id, "reason": "unpaid invoices"},
        token=operator.access_token,
    )
    return dict(reply.data)


async def audited(client: AuthClient, kind: str, tenant_id: str) -> int:
    """How many entries of ``kind`` the audit trail holds about the tenant."""
    async with client.parts.db.session() as session:
        found = await entries(session, kind=kind)
    return sum(1 for e in found if e.tenant_id == tenant_id)


async def listed(client: AuthClient, operator: Account, **query: Any) -> list[str]:
    reply = await client.call(Operation.TENANTS_LIST, query, token=operator.access_token)
    return [t["id"] for t in reply.data["items"]]


# ---------------------------------------------------------------- who may
async def test_members_may_not_run_the_platform(client: AuthClient) -> None:
    owner = await client.register()
    for operation, payload in (
        (Operation.TENANTS_LIST, {}),
        (Operation.TENANTS_GET, {"tenant_id": owner.tenant_id}),
        (Operation.TENANTS_SUSPEND, {"tenant_id": owner.tenant_id, "reason": "x"}),
        (Operation.TENANTS_REACTIVATE, {"tenant_id": owner.tenant_id}),
        (Operation.TENANTS_CREATE, {"name": "Mine", "owner_email": "a@example.com"}),
    ):
        error = await client.error(operation, payload, token=owner.access_token)
        assert (error.status, error.code) == (403, "forbidden"), operation


# ---------------------------------------------------------------- reading
async def test_operators_search_tenants_by_name_slug_owner_email_and_status(
    client: AuthClient,
) -> None:
    operator = await operator_of(client)
    zebra = await client.register(tenant_name="Zebra Crossing")
    other = await client.register(client.new_email("unusual"), tenant_name="Plain")
    suspended = await client.register(tenant_name="Zebra Sleeps")
    await suspend(client, operator, suspended.tenant_id)

    assert await listed(client, operator, q="zebra") == [suspended.tenant_id, zebra.tenant_id]
    assert await listed(client, operator, q="unusual") == [other.tenant_id]
    slug = (await tenant_page(client, operator, other.tenant_id))["slug"]
    assert await listed(client, operator, q=slug) == [other.tenant_id]
    assert await listed(client, operator, q="zebra", status="suspended") == [suspended.tenant_id]
    assert await listed(client, operator, q="100%_") == []
    literal = await client.register(tenant_name="Half_Price 50%")
    await client.register(tenant_name="HalfXPrice 500")
    # "_" and "%" are searched for as themselves, not as LIKE wildcards.
    assert await listed(client, operator, q="f_price 50%") == [literal.tenant_id]

    first = await client.call(
        Operation.TENANTS_LIST, {"q": "zebra", "limit": 1}, token=operator.access_token
    )
    second = await client.call(
        Operation.TENANTS_LIST,
        {"q": "zebra", "limit": 1, "cursor": first.data["next_cursor"]},
        token=operator.access_token,
    )
    assert [t["id"] for t in first.data["items"] + second.data["items"]] == [
        suspended.tenant_id,
        zebra.tenant_id,
    ]
    assert second.data["next_cursor"] is None
    assert first.data["items"][0]["owner_email"] == suspended.email


async def test_a_tenants_page_shows_its_members_and_this_periods_usage(
    client: AuthClient, nats_url: str
) -> None:
    operator = await operator_of(client)
    owner = await client.register_verified(tenant_name="Counted")
    await client.join(owner, "member")
    before = await tenant_page(client, operator, owner.tenant_id)
    assert before["members_count"] == 2
    assert before["status"] == "active"
    assert before["usage"] == {"period_start": None, "period_end": None, "used": {}}
    assert before["data_parts"] == []

    await _entitlements(nats_url, owner.tenant_id, used={"messages": 7, "tokens": 1200})
    after = await tenant_page(client, operator, owner.tenant_id)
    assert after["usage"]["used"] == {"messages": 7, "tokens": 1200}
    # Billing has written nothing since its period ended: that was not this period's usage.
    await _entitlements(nats_url, owner.tenant_id, used={"messages": 9}, ended=True)
    stale = await tenant_page(client, operator, owner.tenant_id)
    assert stale["usage"] == {"period_start": None, "period_end": None, "used": {}}

    missing = await client.error(
        Operation.TENANTS_GET, {"tenant_id": "t_nobody"}, token=operator.access_token
    )
    assert (missing.status, missing.code) == (404, "tenant_not_found")


async def _entitlements(
    nats_url: str, tenant_id: str, *, used: dict[str, int], ended: bool = False
) -> None:
    """What billing writes to its bucket after a usage change (of a period now over: ``ended``)."""
    now = datetime.now(UTC) - timedelta(days=31 if ended else 0)
    value = {
        "tenant_id": tenant_id,
        "plan": "free",
        "status": "active",
        "limits": {"messages": 100, "tokens": 100000},
        "used": used,
        "period_start": now.isoformat(),
        "period_end": (now + timedelta(days=30)).isoformat(),
        "features": ["chat"],
        "updated_at": now.isoformat(),
    }
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        kv = await js.create_key_value(bucket=ENTITLEMENTS.name, history=1)
        await kv.put(tenant_id, json.dumps(value).encode())
    finally:
        await nc.close()


# ---------------------------------------------------------------- creating
async def test_creating_a_tenant_invites_its_owner(client: AuthClient, events: ReadEvents) -> None:
    operator = await operator_of(client)
    email = client.new_email("newowner")
    reply = await client.call(
        Operation.TENANTS_CREATE,
        {"name": "Fresh Start", "owner_email": email},
        token=operator.access_token,
    )
    assert reply.status == 201
    tenant = reply.data
    assert (tenant["name"], tenant["status"], tenant["members_count"]) == (
        "Fresh Start",
        "active",
        0,
    )
    assert tenant["owner_email"] == email
    assert await listed(client, operator, q=email) == [tenant["id"]]

    token = await client.mail.mailed_invite(email)
    accepted = await client.call(
        "tenants.invites.accept", {"token": token, "password": client.password}
    )
    assert accepted.data["tenant"] == {
        "id": tenant["id"],
        "name": "Fresh Start",
        "role": "owner",
        "status": "active",
    }
    assert (await tenant_page(client, operator, tenant["id"]))["members_count"] == 1
    created = await events(f"events.auth.{tenant['id']}.tenant.created", 1)
    assert created[0]["data"]["name"] == "Fresh Start"
    assert await audited(client, "tenant.created_by_operator", tenant["id"]) == 1


async def test_a_tenant_needs_a_name_and_an_owner_email(client: AuthClient) -> None:
    operator = await operator_of(client)
    error = await client.error(
        Operation.TENANTS_CREATE, {"name": " ", "owner_email": "nope"}, token=operator.access_token
    )
    assert (error.status, error.code) == (422, "validation_failed")


# ---------------------------------------------------------------- suspending
async def test_a_suspended_tenant_gets_no_token_until_reactivated(
    client: AuthClient, events: ReadEvents
) -> None:
    operator = await operator_of(client)
    owner = await client.register_verified(tenant_name="Paused")
    robot = await client.create_service_account(owner, ["conversations:read"])
    invited = client.new_email("late")
    invite_token = await client.invite(owner, invited)

    page = await suspend(client, operator, owner.tenant_id)
    assert (page["status"], page["suspension_reason"]) == ("suspended", "unpaid invoices")
    (event,) = await events(f"events.auth.{owner.tenant_id}.tenant.suspended", 1)
    assert event["data"]["reason"] == "unpaid invoices"
    assert event["data"]["suspended_by"] == operator.user_id
    # The gateway orders the answer's suspension against the events by this moment.
    assert datetime.fromisoformat(event["data"]["suspended_at"]) == datetime.fromisoformat(
        page["suspended_at"]
    )

    refusals = [
        await client.error("login", {"email": owner.email, "password": client.password}),
        await client.error("refresh", {"refresh_token": owner.refresh_token}),
        await client.error("oauth.token", client_credentials(robot)),
        await client.error(
            "tenants.invites.accept", {"token": invite_token, "password": client.password}
        ),
    ]
    assert [(e.status, e.code) for e in refusals] == [(403, "tenant_suspended")] * 4

    again = await suspend(client, operator, owner.tenant_id)  # nothing new to announce
    assert again["suspended_at"] == page["suspended_at"]

    reply = await client.call(
        Operation.TENANTS_REACTIVATE, {"tenant_id": owner.tenant_id}, token=operator.access_token
    )
    assert (reply.data["status"], reply.data["suspension_reason"]) == ("active", None)
    (back,) = await events(f"events.auth.{owner.tenant_id}.tenant.reactivated", 1)
    assert back["data"]["reactivated_by"] == operator.user_id
    refreshed = await client.call("refresh", {"refresh_token": owner.refresh_token})
    assert refreshed.data["access_token"]
    assert (await client.login(owner.email, client.password)).data["access_token"]
    assert await client.service_account_token(robot)
    assert await audited(client, "tenant.suspended", owner.tenant_id) == 1
    assert await audited(client, "tenant.reactivated", owner.tenant_id) == 1


async def test_a_member_of_a_suspended_tenant_logs_in_to_their_other_tenant(
    client: AuthClient,
) -> None:
    operator = await operator_of(client)
    owner = await client.register_verified(tenant_name="First")
    member = await client.join(owner, "member")
    other = await client.register_verified(tenant_name="Second")
    await client.call(
        "tenants.invites.create",
        {"email": member.email, "role": "member"},
        token=other.access_token,
    )
    token = await client.mail.mailed_invite(member.email, count=2)
    await client.call("tenants.invites.accept", {"token": token, "password": client.password})
    await suspend(client, operator, owner.tenant_id)

    tokens = (await client.login(member.email, client.password)).data
    assert client.claims(tokens["access_token"]).tid == other.tenant_id
    refused = await client.error(
        "login", {"email": member.email, "password": client.password, "tenant_id": owner.tenant_id}
    )
    assert refused.code == "tenant_suspended"


async def test_an_operator_of_a_suspended_tenant_still_logs_in_to_reactivate_it(
    client: AuthClient,
) -> None:
    operator = await operator_of(client)
    await suspend(client, operator, operator.tenant_id)
    tokens = (await client.login(operator.email, client.password)).data
    reply = await client.call(
        Operation.TENANTS_REACTIVATE,
        {"tenant_id": operator.tenant_id},
        token=tokens["access_token"],
    )
    assert reply.data["status"] == "active"


async def test_a_tenant_being_deprovisioned_can_be_neither_suspended_nor_reactivated(
    client: AuthClient,
) -> None:
    operator = await operator_of(client)
    owner = await client.register()
    async with client.parts.db.transaction() as session:
        await session.execute(
            update(tenants).where(tenants.c.id == owner.tenant_id).values(status="deprovisioning")
        )
    for operation, payload in (
        (Operation.TENANTS_SUSPEND, {"tenant_id": owner.tenant_id, "reason": "late"}),
        (Operation.TENANTS_REACTIVATE, {"tenant_id": owner.tenant_id}),
    ):
        error = await client.error(operation, payload, token=operator.access_token)
        assert (error.status, error.code) == (409, "tenant_not_active")
    unknown: AgentbusError = await client.error(
        Operation.TENANTS_SUSPEND,
        {"tenant_id": "t_nobody", "reason": "late"},
        token=operator.access_token,
    )
    assert unknown.status == 404
