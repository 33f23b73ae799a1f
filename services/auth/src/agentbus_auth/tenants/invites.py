"""Invites into a tenant: sending one (its row and its mail), its token, and the caps on invites.

A token is derived from the invite's id with the code key and stored only as a
hash: the mailer derives it again for the invited mailbox, nobody else sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.crypto import CodeKey, token_hash
from agentbus_auth.mail.requests import request_mail
from agentbus_auth.tenants import repository as repo
from agentbus_shared.contracts.common import Role
from agentbus_shared.ids import new_id

INVITES_PER_DAY = 50
"""Invites one tenant may send in 24 hours: a team's onboarding, not a mail campaign."""

PENDING_INVITES = 100
"""Invites of one tenant that may wait for an answer at once."""


def invite_token(key: CodeKey, invite_id: str) -> str:
    """The bearer token of ``invite_id``: only the invite mail carries it."""
    return key.token("invite", invite_id, "inv")


@dataclass(frozen=True)
class InviteLetter:
    """Who is invited into which tenant, by whom: what an invite's row and its mail say."""

    tenant_id: str
    tenant_name: str
    email: str
    role: Role
    inviter: str
    """The name the mail shows as the inviter's."""
    created_by: str


@dataclass(frozen=True)
class SentInvite:
    id: str
    expires_at: datetime


async def send_invite(
    session: AsyncSession, key: CodeKey, letter: InviteLetter, *, ttl: int
) -> SentInvite:
    """Store the invite and queue its mail in the caller's transaction; valid ``ttl`` seconds."""
    invite_id = new_id("inv")
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl)
    await repo.add_invite(
        session,
        invite_id=invite_id,
        tenant_id=letter.tenant_id,
        email=letter.email,
        role=letter.role,
        token_hash=token_hash(invite_token(key, invite_id)),
        created_by=letter.created_by,
        expires_at=expires_at,
    )
    await request_mail(
        session,
        to=letter.email,
        template="invite",
        tenant_id=letter.tenant_id,
        secret_ref=invite_id,
        inviter=letter.inviter,
        tenant_name=letter.tenant_name,
        role=letter.role.value,
        expires_at=expires_at.strftime("%Y-%m-%d %H:%M UTC"),
    )
    return SentInvite(id=invite_id, expires_at=expires_at)
