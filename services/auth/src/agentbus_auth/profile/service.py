"""The caller's profile, the terms and privacy versions they accepted, and which notifications
they get: read and changed by the user themselves; changes announced as events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import get_args

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.errors import ConsentVersionOutdated, SecurityMailRequired
from agentbus_auth.events import emit
from agentbus_auth.profile import repository as repo
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.contracts.users import (
    ChannelChoice,
    ConsentDocument,
    Consents,
    ConsentsAccept,
    ConsentView,
    NotificationChannel,
    NotificationKind,
    NotificationPreferences,
    NotificationPreferencesChanged,
    ProfileUpdate,
    ProfileView,
    UserProfileChanged,
)
from agentbus_shared.db import Database
from agentbus_shared.errors import NotFound

DEFAULT_CHOICES: dict[tuple[str, str], bool] = {
    (kind, channel): not (kind == "product" and channel == "email")
    for kind in get_args(NotificationKind)
    for channel in get_args(NotificationChannel)
}
"""Before a person chooses: everything on but product news by email (that one is opt-in)."""


@dataclass(frozen=True)
class RequiredConsents:
    """The versions of each document every account must have accepted, and where each is
    published (operator settings)."""

    terms: str
    privacy: str
    terms_url: str | None = None
    privacy_url: str | None = None

    def by_document(self) -> dict[str, str]:
        return {"terms": self.terms, "privacy": self.privacy}

    def url(self, document: str) -> str | None:
        """Where ``document`` is published, if the operator says."""
        return self.terms_url if document == "terms" else self.privacy_url

    def accepted(self, *, terms: str | None, privacy: str | None) -> dict[str, str]:
        """The versions given, by document, each checked to be the one required now; an older
        or unknown one raises :class:`ConsentVersionOutdated` (422). Not given: stays due."""
        given = {"terms": terms, "privacy": privacy}
        required = self.by_document()
        for document, version in given.items():
            if version is not None and version != required[document]:
                raise ConsentVersionOutdated(document, required[document])
        return {document: version for document, version in given.items() if version is not None}


async def has_consents_due(session: AsyncSession, user_id: str, required: RequiredConsents) -> bool:
    """Whether the user still has to accept a required version."""
    return not await repo.has_accepted(session, user_id, required.by_document())


async def record_consents(session: AsyncSession, user_id: str, accepted: dict[str, str]) -> None:
    """Record the versions ``accepted`` (checked by :meth:`RequiredConsents.accepted`)."""
    for document, version in accepted.items():
        await repo.accept_consent(session, user_id, document, version)


class ProfileService:
    def __init__(self, db: Database, *, required: RequiredConsents) -> None:
        self._db = db
        self.required = required

    # ---------------------------------------------------------------- profile
    async def profile(self, user_id: str) -> ProfileView:
        """The caller's profile; raises :class:`NotFound` for an unknown user."""
        async with self._db.session() as session:
            return await self._profile(session, user_id)

    async def _profile(self, session: AsyncSession, user_id: str) -> ProfileView:
        user = await accounts_repo.by_id(session, user_id)
        if user is None:
            raise NotFound()
        return ProfileView(
            id=user.id,
            email=user.email,
            email_verified=user.email_verified,
            display_name=user.display_name,
            consents_due=await has_consents_due(session, user_id, self.required),
            **await repo.profile_fields(session, user_id),
        )

    async def update(self, principal: Principal, changes: ProfileUpdate) -> ProfileView:
        """Change the fields ``changes`` carries (``null`` clears one); the profile after."""
        values = changes.model_dump(include=changes.model_fields_set)
        async with self._db.transaction() as session:
            if values:
                await repo.update_profile(session, principal.user_id, values)
                await emit(
                    session,
                    UserProfileChanged(
                        user_id=principal.user_id, fields=sorted(values), changed_at=_now()
                    ),
                    tenant_id=principal.tenant_id,
                )
            return await self._profile(session, principal.user_id)

    # ---------------------------------------------------------------- consents
    async def consents_due(self, user_id: str) -> bool:
        """Whether the user still has to accept a required version (asked at login)."""
        async with self._db.session() as session:
            return await has_consents_due(session, user_id, self.required)

    async def consents(self, user_id: str) -> Consents:
        async with self._db.session() as session:
            accepted = await repo.accepted_consents(session, user_id)
        items = [
            self._consent(document, [c for c in accepted if c.document == document])
            for document in ("terms", "privacy")
        ]
        return Consents(items=items, due=any(item.due for item in items))

    def _consent(self, document: ConsentDocument, accepted: list[repo.Consent]) -> ConsentView:
        """Due unless the required version is among those accepted (as at login, after a
        rollback to an earlier version too); shows that acceptance, else the newest."""
        required = self.required.by_document()[document]
        of_required = [c for c in accepted if c.version == required]
        newest_first = [*reversed(of_required), *reversed(accepted)]
        shown = newest_first[0] if newest_first else None
        return ConsentView(
            document=document,
            required_version=required,
            accepted_version=shown.version if shown else None,
            accepted_at=shown.accepted_at if shown else None,
            document_url=self.required.url(document),
            due=not of_required,
        )

    async def accept(self, user_id: str, cmd: ConsentsAccept, meta: RequestMeta) -> Consents:
        """Accept the required versions ``cmd`` names; an older or unknown one is refused (422)."""
        accepted = self.required.accepted(terms=cmd.terms_version, privacy=cmd.privacy_version)
        async with self._db.transaction() as session:
            await record_consents(session, user_id, accepted)
            await record(
                session, AuditKind.CONSENTS_ACCEPTED, user_id=user_id, meta=meta, **accepted
            )
        return await self.consents(user_id)

    # ---------------------------------------------------------------- notification preferences
    async def notification_preferences(self, user_id: str) -> NotificationPreferences:
        async with self._db.session() as session:
            stored = await repo.notification_choices(session, user_id)
        return _preferences(DEFAULT_CHOICES | stored)

    async def update_notification_preferences(
        self, principal: Principal, preferences: NotificationPreferences
    ) -> NotificationPreferences:
        """Store every choice; security mail cannot be turned off (422)."""
        if not preferences.security.email:
            raise SecurityMailRequired()
        choices = {
            (kind, channel): getattr(getattr(preferences, kind), channel)
            for kind, channel in DEFAULT_CHOICES
        }
        async with self._db.transaction() as session:
            await repo.store_notification_choices(session, principal.user_id, choices)
            await emit(
                session,
                NotificationPreferencesChanged(
                    user_id=principal.user_id, preferences=preferences, changed_at=_now()
                ),
                tenant_id=principal.tenant_id,
            )
        return preferences


def _preferences(choices: dict[tuple[str, str], bool]) -> NotificationPreferences:
    by_kind = {
        kind: ChannelChoice(email=choices[(kind, "email")], in_app=choices[(kind, "in_app")])
        for kind in get_args(NotificationKind)
    }
    return NotificationPreferences(**by_kind)


def _now() -> datetime:
    return datetime.now(UTC)
