"""Who may sign up: the signup policy, access requests (202 whatever the email) and the signup
quotas per client address and email domain."""

from __future__ import annotations

import pytest
from auth_support import AuthClient, ClientFor, StartAuth
from signup_support import (
    mailed_invite_token,
    operator_of,
    pending_request,
    registration,
    request_access,
)
from sqlalchemy import func, select

from agentbus_auth.models import audit_events, outbox, signup_requests
from agentbus_auth.signup.quotas import client_network, registrable_domain
from agentbus_shared.contracts.signup import Operation


async def traces(client: AuthClient) -> tuple[int, int]:
    """Audit entries and queued events (every mail is one): what a request leaves behind."""
    async with client.parts.db.session() as session:
        return (
            await session.scalar(select(func.count()).select_from(audit_events)) or 0,
            await session.scalar(select(func.count()).select_from(outbox.table)) or 0,
        )


async def requests_stored(client: AuthClient, email: str) -> int:
    """Access requests stored for ``email`` (whatever their status)."""
    async with client.parts.db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(signup_requests)
            .where(signup_requests.c.email_normalized == email)
        )
    return int(count or 0)


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
    assert registrable_domain(email) == counted_as


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
