"""Letting people in: operators deciding on access requests, and platform signup invites bound to
one email that register it once, whatever the signup policy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from auth_support import Account, AuthClient, ClientFor, StartAuth
from signup_support import (
    mailed_invite_token,
    operator_of,
    pending_request,
    registration,
    request_access,
)
from sqlalchemy import func, select, update

from agentbus_auth.audit.repository import entries
from agentbus_auth.models import signup_invites, tenants, users
from agentbus_shared.contracts.signup import Operation
from agentbus_shared.errors import AgentbusError


async def accounts_with(client: AuthClient, email: str) -> int:
    async with client.parts.db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(users).where(users.c.email_normalized == email)
        )
    return int(count or 0)


async def created(client: AuthClient) -> tuple[int, int]:
    """Accounts and tenants: what a refused registration must leave as it was."""
    async with client.parts.db.session() as session:
        return (
            await session.scalar(select(func.count()).select_from(users)) or 0,
            await session.scalar(select(func.count()).select_from(tenants)) or 0,
        )


async def invite_status(client: AuthClient, operator: Account, invite_id: str) -> str:
    listed = await client.call(Operation.INVITES_LIST, token=operator.access_token)
    (invite,) = [i for i in listed.data["items"] if i["id"] == invite_id]
    return str(invite["status"])


async def requested(client: AuthClient, operator: Account, name: str) -> tuple[str, dict[str, Any]]:
    """A new email that asked for access, and its pending request as operators see it."""
    email = client.new_email(name)
    await request_access(client, email)
    return email, await pending_request(client, operator, email)


# ---------------------------------------------------------------- operator decisions
async def test_operator_routes_refuse_a_normal_user(client: AuthClient) -> None:
    member = await client.register()
    calls: list[tuple[str, dict[str, Any]]] = [
        (Operation.REQUESTS_LIST, {}),
        (Operation.REQUESTS_APPROVE, {"signup_request_id": "sreq_x"}),
        (Operation.REQUESTS_REJECT, {"signup_request_id": "sreq_x"}),
        (Operation.INVITES_LIST, {}),
        (Operation.INVITES_CREATE, {"email": "someone@example.com"}),
        (Operation.INVITES_REVOKE, {"signup_invite_id": "sinv_x"}),
    ]
    for operation, payload in calls:
        error = await client.error(operation, payload, token=member.access_token)
        assert error.status == 403, operation
    assert client.mail.messages("someone@example.com", "signup_invite") == []


async def test_an_approved_request_mails_an_invite_that_registers_its_email_once(
    client: AuthClient,
) -> None:
    operator = await operator_of(client)
    email, request = await requested(client, operator, "approved")

    approved = await client.call(
        Operation.REQUESTS_APPROVE,
        {"signup_request_id": request["id"]},
        token=operator.access_token,
    )
    assert approved.data["status"] == "approved"
    assert approved.data["invite_id"]
    token = await mailed_invite_token(client, email)

    again = await client.error(
        Operation.REQUESTS_APPROVE,
        {"signup_request_id": request["id"]},
        token=operator.access_token,
    )
    assert (again.status, again.code) == (409, "signup_request_decided")

    foreign = client.new_email("foreign")
    before = await created(client)
    refused = await client.error("register", registration(foreign, client.password, token))
    assert (refused.status, refused.code) == (400, "invalid_signup_invite")
    assert await created(client) == before  # no account, no tenant
    assert await invite_status(client, operator, approved.data["invite_id"]) == "pending"

    registered = await client.call("register", registration(email, client.password, token))
    assert registered.status == 201
    assert registered.data["user"]["email_verified"] is True
    assert registered.data["tokens"]["access_token"]
    async with client.parts.db.session() as session:
        (used,) = await entries(
            session, user_id=registered.data["user"]["id"], kind="signup.invite_used"
        )
    assert used.tenant_id == registered.data["tenant"]["id"]  # in the new tenant's audit log

    before = await created(client)
    reused = await client.error("register", registration(email, client.password, token))
    assert (reused.status, reused.code) == (400, "invalid_signup_invite")
    other = await client.error("register", registration(client.new_email(), client.password, token))
    assert (other.status, other.code) == (400, "invalid_signup_invite")
    assert await created(client) == before
    listed = await client.call(Operation.INVITES_LIST, token=operator.access_token)
    (invite,) = [i for i in listed.data["items"] if i["id"] == approved.data["invite_id"]]
    assert (invite["status"], invite["signup_request_id"]) == ("used", request["id"])
    revoke_used = await client.error(
        Operation.INVITES_REVOKE, {"signup_invite_id": invite["id"]}, token=operator.access_token
    )
    assert (revoke_used.status, revoke_used.code) == (409, "signup_invite_used")


async def test_approving_a_request_whose_email_got_an_account_closes_it(
    client: AuthClient,
) -> None:
    operator = await operator_of(client)
    email, request = await requested(client, operator, "meanwhile")
    await client.register(email)

    closed = await client.call(
        Operation.REQUESTS_APPROVE,
        {"signup_request_id": request["id"]},
        token=operator.access_token,
    )
    assert (closed.data["status"], closed.data["invite_id"]) == ("account_exists", None)
    assert client.mail.messages(email, "signup_invite") == []
    again = await client.error(
        Operation.REQUESTS_APPROVE,
        {"signup_request_id": request["id"]},
        token=operator.access_token,
    )
    assert (again.status, again.code) == (409, "signup_request_decided")
    listed = await client.call(
        Operation.REQUESTS_LIST, {"status": "account_exists"}, token=operator.access_token
    )
    assert [r["id"] for r in listed.data["items"]] == [request["id"]]
    async with client.parts.db.session() as session:
        (audited,) = await entries(session, kind="signup.request_closed")
    assert audited.actor_id == operator.user_id


async def test_two_registrations_racing_with_one_invite_make_one_account(
    client: AuthClient,
) -> None:
    operator = await operator_of(client)
    email = client.new_email("racing")
    created_invite = await client.call(
        Operation.INVITES_CREATE, {"email": email}, token=operator.access_token
    )
    token = await mailed_invite_token(client, email)
    before = await created(client)

    outcomes = await asyncio.gather(
        *(client.call("register", registration(email, client.password, token)) for _ in range(2)),
        return_exceptions=True,
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, AgentbusError)]
    assert [w.status for w in won] == [201]
    assert len(lost) == 1 and 400 <= lost[0].status < 500, outcomes
    assert await created(client) == (before[0] + 1, before[1] + 1)
    assert await invite_status(client, operator, created_invite.data["id"]) == "used"


async def test_a_rejection_with_a_reason_tells_the_requester(client: AuthClient) -> None:
    operator = await operator_of(client)
    told, silent = client.new_email("told"), client.new_email("silent")
    spoof = "Agentbus Security: account suspended, verify at evil.example"
    for email in (told, silent):
        await request_access(client, email, name=spoof)
    for email, reason in ((told, "We open to teams next quarter."), (silent, None)):
        request = await pending_request(client, operator, email)
        rejected = await client.call(
            Operation.REQUESTS_REJECT,
            {"signup_request_id": request["id"], "reason": reason},
            token=operator.access_token,
        )
        assert (rejected.data["status"], rejected.data["reason"]) == ("rejected", reason)

    mail = await client.mail.wait(told, "signup_rejected")
    body = mail.get_payload()
    assert "We open to teams next quarter." in body
    assert body.startswith("Hello,")
    assert "evil.example" not in body + mail["Subject"]  # the name given is not mailed
    rejected_only = await client.call(
        Operation.REQUESTS_LIST, {"status": "rejected"}, token=operator.access_token
    )
    assert {r["email"] for r in rejected_only.data["items"]} == {told, silent}
    assert client.mail.messages(silent, "signup_rejected") == []
    unknown = await client.error(
        Operation.REQUESTS_REJECT, {"signup_request_id": "sreq_none"}, token=operator.access_token
    )
    assert (unknown.status, unknown.code) == (404, "signup_request_not_found")


async def test_the_operator_lists_page_with_a_cursor(client: AuthClient) -> None:
    operator = await operator_of(client)
    emails = [client.new_email("paged") for _ in range(3)]
    for email in emails:
        await request_access(client, email)
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await client.call(
            Operation.REQUESTS_LIST,
            {"limit": 2, **({"cursor": cursor} if cursor else {})},
            token=operator.access_token,
        )
        seen += [r["email"] for r in page.data["items"]]
        cursor = page.data["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(emails))  # newest first, each once

    bad = await client.error(
        Operation.INVITES_LIST, {"cursor": "not-a-cursor"}, token=operator.access_token
    )
    assert (bad.status, bad.code) == (400, "invalid_cursor")


# ---------------------------------------------------------------- signup invites
async def test_revoked_and_expired_invites_create_nothing(client: AuthClient) -> None:
    operator = await operator_of(client)
    revoked_email, expired_email = client.new_email("revoked"), client.new_email("expired")
    created = await client.call(
        Operation.INVITES_CREATE,
        {"email": revoked_email, "note": "from the conference"},
        token=operator.access_token,
    )
    assert (created.status, created.data["status"]) == (201, "pending")
    revoked = await client.call(
        Operation.INVITES_REVOKE,
        {"signup_invite_id": created.data["id"]},
        token=operator.access_token,
    )
    assert revoked.data["status"] == "revoked"
    token = await mailed_invite_token(client, revoked_email)
    refused = await client.error("register", registration(revoked_email, client.password, token))
    assert refused.code == "invalid_signup_invite"

    await client.call(
        Operation.INVITES_CREATE, {"email": expired_email}, token=operator.access_token
    )
    async with client.parts.db.transaction() as session:
        await session.execute(
            update(signup_invites)
            .where(signup_invites.c.email == expired_email)
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    token = await mailed_invite_token(client, expired_email)
    expired = await client.error("register", registration(expired_email, client.password, token))
    assert expired.code == "invalid_signup_invite"
    made_up = await client.error(
        "register", registration(client.new_email(), client.password, "sgi_made-up")
    )
    assert made_up.code == "invalid_signup_invite"
    for email in (revoked_email, expired_email):
        assert await accounts_with(client, email) == 0

    unknown = await client.error(
        Operation.INVITES_REVOKE, {"signup_invite_id": "sinv_none"}, token=operator.access_token
    )
    assert (unknown.status, unknown.code) == (404, "signup_invite_not_found")
    taken = await client.error(
        Operation.INVITES_CREATE, {"email": operator.email}, token=operator.access_token
    )
    assert (taken.status, taken.code) == (409, "email_taken")


async def test_invite_only_needs_an_invite(start_auth: StartAuth, client_for: ClientFor) -> None:
    client = client_for(await start_auth(signup_policy="invite_only"))
    operator = await operator_of(client)
    email = client.new_email("closed")
    closed = await client.error("register", registration(email, client.password))
    assert (closed.status, closed.code) == (403, "signup_closed")

    await client.call(Operation.INVITES_CREATE, {"email": email}, token=operator.access_token)
    token = await mailed_invite_token(client, email)
    registered = await client.call("register", registration(email, client.password, token))
    assert registered.data["status"] == "active"


async def test_under_approval_an_invited_account_is_active_at_once(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(signup_policy="approval"))
    operator = await operator_of(client)
    invited, uninvited = client.new_email("invited"), client.new_email("uninvited")
    await client.call(Operation.INVITES_CREATE, {"email": invited}, token=operator.access_token)
    token = await mailed_invite_token(client, invited)

    active = await client.call("register", registration(invited, client.password, token))
    assert (active.status, active.data["status"]) == (201, "active")
    waiting = await client.call("register", registration(uninvited, client.password))
    assert (waiting.status, waiting.data["status"]) == (202, "pending_approval")
