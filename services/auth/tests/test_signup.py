"""Who may sign up: the signup policy, access requests (202 whatever the email), operators approving
and rejecting them, platform signup invites bound to one email, and the signup quotas."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from auth_support import Account, AuthClient, ClientFor, StartAuth
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from agentbus_auth.audit.repository import entries
from agentbus_auth.cli import app
from agentbus_auth.models import (
    audit_events,
    outbox,
    signup_invites,
    signup_requests,
    tenants,
    users,
)
from agentbus_auth.signup.quotas import client_network, email_domain
from agentbus_shared.contracts.signup import Operation
from agentbus_shared.errors import AgentbusError

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


async def accounts_with(client: AuthClient, email: str) -> int:
    async with client.parts.db.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(users).where(users.c.email_normalized == email)
        )
    return int(count or 0)


async def request_access(
    client: AuthClient, email: str, *, ip: str = AuthClient.ip, **extra: Any
) -> int:
    reply = await client.call(
        Operation.REQUEST_ACCESS, {"email": email, "name": "Ada"} | extra, ip=ip
    )
    assert reply.data is None
    return reply.status


async def traces(client: AuthClient) -> tuple[int, int]:
    """Audit entries and queued events (every mail is one): what a request leaves behind."""
    async with client.parts.db.session() as session:
        return (
            await session.scalar(select(func.count()).select_from(audit_events)) or 0,
            await session.scalar(select(func.count()).select_from(outbox.table)) or 0,
        )


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


async def requests_stored(client: AuthClient, email: str) -> int:
    """Access requests stored for ``email`` (whatever their status)."""
    async with client.parts.db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(signup_requests)
            .where(signup_requests.c.email_normalized == email)
        )
    return int(count or 0)


async def pending_request(client: AuthClient, operator: Account, email: str) -> dict[str, Any]:
    listed = await client.call(
        Operation.REQUESTS_LIST, {"status": "pending"}, token=operator.access_token
    )
    (found,) = [r for r in listed.data["items"] if r["email"] == email]
    return dict(found)


async def requested(client: AuthClient, operator: Account, name: str) -> tuple[str, dict[str, Any]]:
    """A new email that asked for access, and its pending request as operators see it."""
    email = client.new_email(name)
    await request_access(client, email)
    return email, await pending_request(client, operator, email)


# ---------------------------------------------------------------- policy
async def test_the_signup_policy_names_the_consent_versions(client: AuthClient) -> None:
    public = (await client.call(Operation.POLICY)).data
    settings = client.parts.settings
    assert public == {
        "policy": "public",
        "terms_version": settings.terms_version,
        "privacy_version": settings.privacy_version,
        "terms_url": None,  # the documents' addresses, when the operator publishes them
        "privacy_url": None,
    }


async def test_invite_only_names_its_policy(start_auth: StartAuth, client_for: ClientFor) -> None:
    closed = client_for(await start_auth(signup_policy="invite_only"))
    assert (await closed.call(Operation.POLICY)).data["policy"] == "invite_only"


# ---------------------------------------------------------------- access requests
async def test_request_access_answers_202_whatever_the_email_and_keeps_one_pending_request(
    client: AuthClient,
) -> None:
    operator = await operator_of(client)
    member = await client.register()
    newcomer = client.new_email("newcomer")

    answers = []
    for email, extra in [
        (newcomer, {"company": "Acme", "message": "Trial please"}),
        (newcomer.upper(), {}),  # a repeat
        (member.email, {}),  # has an account: the same answer and the same steps
        (operator.email, {}),
    ]:
        before = await traces(client)
        reply = await client.call(Operation.REQUEST_ACCESS, {"email": email, "name": "Ada"} | extra)
        after = await traces(client)
        answers.append((reply.status, reply.data, after[0] - before[0], after[1] - before[1]))
    assert answers == [(202, None, 1, 0)] * 4  # one audit entry each, nothing queued to mail

    listed = await client.call(Operation.REQUESTS_LIST, token=operator.access_token)
    emails = [r["email"].lower() for r in listed.data["items"]]
    assert emails.count(newcomer) == 1
    stored = await pending_request(client, operator, newcomer)
    assert (stored["company"], stored["message"], stored["status"]) == (
        "Acme",
        "Trial please",
        "pending",
    )


async def test_request_access_refuses_oversized_fields(client: AuthClient) -> None:
    error = await client.error(
        Operation.REQUEST_ACCESS, {"email": "a@example.com", "name": "A", "message": "x" * 1001}
    )
    assert (error.status, error.code) == (422, "validation_failed")


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


# ---------------------------------------------------------------- quotas
async def test_signups_from_one_address_stop_at_its_quota_with_retry_after(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(tuning={"signup_ip_limit": 2}))
    for _ in range(2):
        await client.register(client.new_email())
        assert await request_access(client, client.new_email()) == 202

    over = await client.error("register", registration(client.new_email(), client.password))
    assert (over.status, over.code) == (429, "signup_quota_exceeded")
    assert over.retry_after and 0 < over.retry_after <= 3600
    asked = await client.error(Operation.REQUEST_ACCESS, {"email": "late@example.org", "name": "L"})
    assert asked.status == 429
    assert await requests_stored(client, "late@example.org") == 0


async def test_access_requests_never_use_up_a_domains_registrations(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(tuning={"signup_domain_limit": 2}))
    for n in range(2):
        ip = f"192.0.2.{n + 1}"
        assert await request_access(client, f"flood{n}@target.example", ip=ip) == 202
    flooded = await client.error(
        Operation.REQUEST_ACCESS, {"email": "flood9@target.example", "name": "F"}, ip="192.0.2.9"
    )
    assert (flooded.status, flooded.code) == (429, "signup_quota_exceeded")

    employee = await client.call(
        "register", registration("staff@target.example", client.password), ip="198.51.100.1"
    )
    assert employee.status == 201


async def test_a_valid_signup_invite_registers_past_a_spent_domain_quota(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(tuning={"signup_domain_limit": 1}))
    operator = await operator_of(client)
    await client.call("register", registration("first@busy.example", client.password))
    spent = await client.error("register", registration("second@busy.example", client.password))
    assert (spent.status, spent.code) == (429, "signup_quota_exceeded")

    invited = "invited@busy.example"
    await client.call(Operation.INVITES_CREATE, {"email": invited}, token=operator.access_token)
    token = await mailed_invite_token(client, invited)
    forged = await client.error(
        "register", registration("third@busy.example", client.password, "sgi_made-up")
    )
    assert forged.code == "invalid_signup_invite"  # the invite is judged before the quota
    registered = await client.call("register", registration(invited, client.password, token))
    assert registered.status == 201


async def test_signups_for_one_email_domain_stop_at_its_quota(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(tuning={"signup_domain_limit": 2}))
    for n, ip in enumerate(("192.0.2.1", "192.0.2.2")):
        await client.call("register", registration(f"a{n}@crowd.example", client.password), ip=ip)
    over = await client.error(
        "register", registration("a3@crowd.example", client.password), ip="192.0.2.3"
    )
    assert (over.status, over.code) == (429, "signup_quota_exceeded")
    other_domain = await client.call(
        "register", registration("a3@elsewhere.example", client.password), ip="192.0.2.3"
    )
    assert other_domain.status == 201


@pytest.mark.parametrize(
    ("email", "counted_as"),
    [
        ("ada@mail.Crowd.EXAMPLE", "crowd.example"),
        ("ada@eu.mail.crowd.example.", "crowd.example"),
        ("ada@team.example.co.uk", "example.co.uk"),
        ("ada@example.com.au", "example.com.au"),
        ("ada@shop.google.co", "google.co"),
        ("ada@mail.bücher.example", "xn--bcher-kva.example"),
        ("ada@\uff45xample.com", "example.com"),  # a fullwidth e
    ],
)
def test_the_domain_quota_counts_the_registrable_domain(email: str, counted_as: str) -> None:
    assert email_domain(email) == counted_as


@pytest.mark.parametrize(
    ("client_ip", "counted_as"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        (None, "-"),  # calls without an address share one bucket
    ],
)
def test_the_address_quota_counts_ipv6_clients_by_their_64(
    client_ip: str | None, counted_as: str
) -> None:
    assert client_network(client_ip) == counted_as


async def test_subdomains_and_spellings_of_one_domain_share_its_quota(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(tuning={"signup_domain_limit": 2}))
    for n, email in enumerate(("a@crowd.example", "b@Mail.CROWD.example")):
        await client.call("register", registration(email, client.password), ip=f"192.0.2.{n}")
    over = await client.error(
        "register", registration("c@eu.crowd.example", client.password), ip="192.0.2.9"
    )
    assert (over.status, over.code) == (429, "signup_quota_exceeded")


async def test_addresses_of_one_ipv6_64_share_its_quota(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(tuning={"signup_ip_limit": 2}))
    for ip in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::2"):
        await client.call("register", registration(client.new_email(), client.password), ip=ip)
    over = await client.error(
        "register", registration(client.new_email(), client.password), ip="2001:db8:1:2::3"
    )
    assert (over.status, over.code) == (429, "signup_quota_exceeded")
    next_door = await client.call(
        "register", registration(client.new_email(), client.password), ip="2001:db8:1:3::1"
    )
    assert next_door.status == 201


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
