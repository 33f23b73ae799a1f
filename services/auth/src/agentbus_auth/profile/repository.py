"""All SQL on profiles, consents, notification preferences, pending email changes and the account
changes a user makes to themselves (new email, disabling)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts.repository import normalize_email
from agentbus_auth.models import (
    consents,
    email_changes,
    memberships,
    notification_preferences,
    tenants,
    user_profiles,
    users,
)
from agentbus_auth.tenants import repository as tenants_repo
from agentbus_shared.contracts.common import Role

PROFILE_FIELDS = ("given_name", "family_name", "avatar_url", "timezone", "locale")
"""The profile fields stored beside the account (``display_name`` is on the account itself)."""


@dataclass(frozen=True)
class Consent:
    document: str
    version: str
    accepted_at: datetime


@dataclass(frozen=True)
class PendingEmailChange:
    new_email: str
    code_id: str


async def profile_fields(session: AsyncSession, user_id: str) -> dict[str, Any]:
    """The stored profile fields of the user (empty when none was ever set)."""
    columns = [user_profiles.c[name] for name in PROFILE_FIELDS]
    row = (
        await session.execute(select(*columns).where(user_profiles.c.user_id == user_id))
    ).first()
    return dict(row._mapping) if row else {}


async def update_profile(session: AsyncSession, user_id: str, changes: dict[str, Any]) -> None:
    """Store ``changes`` (profile fields and ``display_name``); fields not named stay."""
    if "display_name" in changes:
        await session.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(display_name=changes["display_name"], updated_at=func.now())
        )
    fields = {name: value for name, value in changes.items() if name in PROFILE_FIELDS}
    if fields:
        await session.execute(
            pg_insert(user_profiles)
            .values(user_id=user_id, **fields)
            .on_conflict_do_update(
                index_elements=[user_profiles.c.user_id], set_={**fields, "updated_at": func.now()}
            )
        )


# ---------------------------------------------------------------- consents
async def accept_consent(session: AsyncSession, user_id: str, document: str, version: str) -> None:
    """Record that the user accepted ``version`` of ``document`` (the first time counts)."""
    await session.execute(
        pg_insert(consents)
        .values(user_id=user_id, document=document, version=version)
        .on_conflict_do_nothing()
    )


async def accepted_consents(session: AsyncSession, user_id: str) -> list[Consent]:
    """Every version the user accepted, oldest first."""
    rows = (
        await session.execute(
            select(consents.c.document, consents.c.version, consents.c.accepted_at)
            .where(consents.c.user_id == user_id)
            .order_by(consents.c.accepted_at)
        )
    ).all()
    return [Consent(**r._mapping) for r in rows]


async def has_accepted(session: AsyncSession, user_id: str, required: dict[str, str]) -> bool:
    """Whether the user accepted every ``document: version`` of ``required``."""
    accepted = await session.scalar(
        select(func.count())
        .select_from(consents)
        .where(
            consents.c.user_id == user_id,
            tuple_(consents.c.document, consents.c.version).in_(list(required.items())),
        )
    )
    return int(accepted or 0) == len(required)


# ---------------------------------------------------------------- notification preferences
async def notification_choices(session: AsyncSession, user_id: str) -> dict[tuple[str, str], bool]:
    """The user's stored choices, by (kind, channel)."""
    rows = (
        await session.execute(
            select(
                notification_preferences.c.kind,
                notification_preferences.c.channel,
                notification_preferences.c.enabled,
            ).where(notification_preferences.c.user_id == user_id)
        )
    ).all()
    return {(r.kind, r.channel): r.enabled for r in rows}


async def store_notification_choices(
    session: AsyncSession, user_id: str, choices: dict[tuple[str, str], bool]
) -> None:
    statement = pg_insert(notification_preferences).values(
        [
            {"user_id": user_id, "kind": kind, "channel": channel, "enabled": enabled}
            for (kind, channel), enabled in choices.items()
        ]
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                notification_preferences.c.user_id,
                notification_preferences.c.kind,
                notification_preferences.c.channel,
            ],
            set_={"enabled": statement.excluded.enabled, "updated_at": func.now()},
        )
    )


# ---------------------------------------------------------------- email changes
async def start_email_change(
    session: AsyncSession, user_id: str, new_email: str, code_id: str
) -> None:
    """Make ``new_email`` the user's one pending change (replacing an earlier one)."""
    await session.execute(
        pg_insert(email_changes)
        .values(user_id=user_id, new_email=new_email, code_id=code_id)
        .on_conflict_do_update(
            index_elements=[email_changes.c.user_id],
            set_={"new_email": new_email, "code_id": code_id, "requested_at": func.now()},
        )
    )


async def take_email_change(session: AsyncSession, user_id: str) -> PendingEmailChange | None:
    """Remove and return the user's pending change."""
    row = (
        await session.execute(
            delete(email_changes)
            .where(email_changes.c.user_id == user_id)
            .returning(email_changes.c.new_email, email_changes.c.code_id)
        )
    ).first()
    return PendingEmailChange(**row._mapping) if row else None


async def set_email(session: AsyncSession, user_id: str, email: str) -> None:
    """Make ``email`` the account's address, verified (its code proved the mailbox)."""
    await session.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(
            email=email,
            email_normalized=normalize_email(email),
            email_verified_at=func.now(),
            updated_at=func.now(),
        )
    )


# ---------------------------------------------------------------- disabling
async def tenants_left_without_owner(session: AsyncSession, user_id: str) -> list[str]:
    """The tenants the user owns with no other active owner. Their rows stay locked until the
    transaction ends, so two owners disabling themselves at once cannot both pass."""
    owned = (
        select(tenants.c.id)
        .join(memberships, memberships.c.tenant_id == tenants.c.id)
        .where(memberships.c.user_id == user_id, memberships.c.role == Role.OWNER.value)
        .order_by(tenants.c.id)
        .with_for_update(of=tenants)
    )
    tenant_ids = list(await session.scalars(owned))
    return await tenants_repo.left_without_active_owner(session, tenant_ids, user_id)


async def disable(session: AsyncSession, user_id: str) -> None:
    await session.execute(
        update(users).where(users.c.id == user_id).values(status="disabled", updated_at=func.now())
    )


async def enable(session: AsyncSession, user_id: str) -> bool:
    """Make the disabled account active again; ``False`` if it was not disabled."""
    result = await session.execute(
        update(users)
        .where(users.c.id == user_id, users.c.status == "disabled")
        .values(status="active", updated_at=func.now())
        .returning(users.c.id)
    )
    return result.first() is not None
