"""Invites as a way in and as mail to strangers: who holds the token, who may send, how many,
and what the invited person reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auth_support import AuthClient, ReadEvents
from sqlalchemy import update

from agentbus_auth.crypto import token_hash
from agentbus_auth.mail.templates import quoted
from agentbus_auth.models import invites
from agentbus_auth.tenants import repository as tenants_repo
from agentbus_auth.tenants.invites import INVITES_PER_DAY, PENDING_INVITES
from agentbus_shared.contracts.common import Role
from agentbus_shared.ids import new_id

WEAK_PASSWORD = "password12345"


async def test_inviter_never_sees_the_invite_secret(client: AuthClient, events: ReadEvents) -> None:
    owner = await client.register_verified()
    answer = await client.call(
        "tenants.invites.create",
        {"email": "friend@example.com", "role": "member"},
        token=owner.access_token,
    )
    token = await client.mail.mailed_invite("friend@example.com")
    assert set(answer.data) == {"id", "email", "role", "expires_at"}
    assert token not in repr(answer.data)
    requested = await events("events.auth.*.email.requested", 2)
    assert all(token not in repr(event) for event in requested)


async def test_an_invite_is_accepted_only_with_the_mailed_token(client: AuthClient) -> None:
    owner = await client.register_verified()
    answer = await client.call(
        "tenants.invites.create",
        {"email": "victim@example.com", "role": "member"},
        token=owner.access_token,
    )
    for guess in (answer.data["id"], "inv_" + answer.data["id"]):
        refused = await client.error(
            "tenants.invites.accept", {"token": guess, "password": client.password}
        )
        assert (refused.status, refused.code) == (400, "invalid_invite")
    accepted = await client.call(
        "tenants.invites.accept",
        {
            "token": await client.mail.mailed_invite("victim@example.com"),
            "password": client.password,
        },
    )
    assert accepted.data["user"]["email"] == "victim@example.com"
    assert accepted.data["user"]["email_verified"] is True


async def test_an_unverified_account_cannot_invite(client: AuthClient) -> None:
    owner = await client.register()
    refused = await client.error(
        "tenants.invites.create",
        {"email": "stranger@example.com", "role": "member"},
        token=owner.access_token,
    )
    assert (refused.status, refused.code) == (403, "email_unverified")
    await client.verify_email(owner)
    await client.call(
        "tenants.invites.create",
        {"email": "stranger@example.com", "role": "member"},
        token=owner.access_token,
    )
    await client.mail.wait("stranger@example.com", "invite")
    assert len(client.mail.messages("stranger@example.com", "invite")) == 1


async def add_invites(client: AuthClient, tenant_id: str, count: int, *, sent: datetime) -> None:
    """``count`` open invites of ``tenant_id`` sent at ``sent``, straight into the table."""
    async with client.parts.db.transaction() as session:
        ids = [new_id("inv") for _ in range(count)]
        for invite_id in ids:
            await tenants_repo.add_invite(
                session,
                invite_id=invite_id,
                tenant_id=tenant_id,
                email=f"{invite_id}@example.com",
                role=Role.MEMBER,
                token_hash=token_hash(invite_id),
                created_by="usr_test",
                expires_at=sent + timedelta(days=7),
            )
        await session.execute(update(invites).where(invites.c.id.in_(ids)).values(created_at=sent))


async def test_a_tenant_sends_a_limited_number_of_invites_a_day(client: AuthClient) -> None:
    owner = await client.register_verified()
    await add_invites(client, owner.tenant_id, INVITES_PER_DAY, sent=datetime.now(UTC))
    refused = await client.error(
        "tenants.invites.create",
        {"email": "one-more@example.com", "role": "member"},
        token=owner.access_token,
    )
    assert (refused.status, refused.code) == (429, "too_many_invites")
    assert 23 * 3600 < refused.retry_after <= 24 * 3600 + 1

    other = await client.register_verified()
    await client.call(
        "tenants.invites.create",
        {"email": "one-more@example.com", "role": "member"},
        token=other.access_token,
    )


async def test_a_tenant_has_a_limited_number_of_pending_invites(client: AuthClient) -> None:
    owner = await client.register_verified()
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    await add_invites(client, owner.tenant_id, PENDING_INVITES, sent=two_days_ago)
    refused = await client.error(
        "tenants.invites.create",
        {"email": "one-more@example.com", "role": "member"},
        token=owner.access_token,
    )
    assert (refused.status, refused.code) == (429, "too_many_pending_invites")
    assert refused.retry_after > 4 * 24 * 3600

    async with client.parts.db.transaction() as session:
        await session.execute(
            update(invites)
            .where(invites.c.tenant_id == owner.tenant_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await client.call(
        "tenants.invites.create",
        {"email": "one-more@example.com", "role": "member"},
        token=owner.access_token,
    )


async def test_invite_mail_keeps_chosen_names_out_of_the_subject_and_quotes_them(
    client: AuthClient,
) -> None:
    lure = "Agentbus Security: account suspended, verify at https://evil.example"
    owner = await client.register_verified(
        tenant_name=lure, display_name="Agentbus\nSecurity  Team"
    )
    await client.call(
        "tenants.invites.create",
        {"email": "target@example.com", "role": "member"},
        token=owner.access_token,
    )
    mail = await client.mail.wait("target@example.com", "invite")
    body = mail.get_payload(decode=True).decode()
    assert mail["Subject"] == "You are invited to join a team on Agentbus"
    assert f'Team name:  "{lure}"' in body
    assert 'Invited by: "Agentbus Security Team"' in body
    assert "chosen by the person who invited you" in body


def test_a_quoted_name_is_one_line_without_control_or_format_characters() -> None:
    spoofed = 'Acme\r\nSubject: reset\u202eliam.evil\u0000 "Ltd"'
    assert quoted(spoofed) == "\"Acme Subject: reset liam.evil 'Ltd'\""


async def test_a_weak_password_gets_the_same_answer_whether_the_account_exists(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    existing = await client.register()
    answers = []
    for email in (existing.email, "nobody-yet@example.com"):
        token = await client.invite(owner, email)
        refused = await client.error(
            "tenants.invites.accept", {"token": token, "password": WEAK_PASSWORD}
        )
        answers.append((refused.status, refused.code))
    assert answers == [(422, "weak_password"), (422, "weak_password")]
