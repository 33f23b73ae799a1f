"""Tenants: the current tenant, members and their roles, invites, and the plan billing reports.

Tenant isolation: every query is scoped by the caller's ``tenant_id`` from
the verified principal, so a member of another tenant is simply not found.
Authorization uses the actor's role as stored now, not as remembered by the
token. The last active owner cannot be removed or demoted (a disabled owner
manages nothing): the tenant row is locked while owners are counted, so two
concurrent demotions cannot both pass.
Removing a member, or demoting one below admin, revokes the service accounts
they created in the tenant; the answer names them so they can be replaced.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import CodeKey, token_hash
from agentbus_auth.errors import (
    AccountDisabled,
    AlreadyMember,
    EmailUnverified,
    InvalidCredentials,
    InvalidInvite,
    LastOwner,
    MemberNotFound,
    OwnerOnly,
    PasswordRequired,
    TooManyInvites,
    TooManyPendingInvites,
)
from agentbus_auth.events import emit
from agentbus_auth.login.service import LoginService
from agentbus_auth.mfa import repository as mfa_repo
from agentbus_auth.models import processed_events
from agentbus_auth.passwords.hasher import PasswordHasher
from agentbus_auth.passwords.policy import PasswordPolicy
from agentbus_auth.profile.service import RequiredConsents, record_consents
from agentbus_auth.service_accounts.service import ServiceAccountService
from agentbus_auth.sessions.service import SessionService
from agentbus_auth.tenants import repository as repo
from agentbus_auth.tenants.invites import (
    INVITES_PER_DAY,
    PENDING_INVITES,
    InviteLetter,
    send_invite,
)
from agentbus_auth.tenants.membership import MANAGERS, acting_member, require_belonging
from agentbus_auth.tenants.repository import Member, Tenant
from agentbus_shared.contracts.auth import RegisterResult, TenantRef, UserRegistered, UserView
from agentbus_shared.contracts.billing import SubscriptionChanged, SubscriptionStatus
from agentbus_shared.contracts.common import Page, PageQuery, Principal, RequestMeta, Role
from agentbus_shared.contracts.events import CloudEvent
from agentbus_shared.contracts.tenants import (
    InviteAccept,
    InviteCreate,
    InviteCreated,
    MemberChanged,
    MemberRemoved,
    MemberUpdate,
    MemberUpdated,
    MemberView,
    RevokedServiceAccount,
    TenantView,
)
from agentbus_shared.db import Database, record_once
from agentbus_shared.errors import NotFound, TenantSuspended
from agentbus_shared.ids import new_id
from agentbus_shared.logging import get_logger
from agentbus_shared.pagination import cut_page, decode_cursor

log = get_logger(__name__)

ENDED_SUBSCRIPTION: frozenset[SubscriptionStatus] = frozenset({"canceled", "incomplete_expired"})
FREE_PLAN = "free"
DAY = timedelta(days=1)


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds()) + 1)


def member_view(member: Member) -> MemberView:
    return MemberView(
        user_id=member.user_id,
        email=member.email,
        display_name=member.display_name,
        role=member.role,
        joined_at=member.joined_at,
    )


def member_updated(member: Member, *, revoked: list[RevokedServiceAccount]) -> MemberUpdated:
    return MemberUpdated(**member_view(member).model_dump(), revoked_service_accounts=revoked)


def tenant_view(tenant: Tenant) -> TenantView:
    return TenantView.model_validate(tenant, from_attributes=True)


class TenantService:
    def __init__(
        self,
        db: Database,
        *,
        sessions: SessionService,
        service_accounts: ServiceAccountService,
        login: LoginService,
        hasher: PasswordHasher,
        code_key: CodeKey,
        policy: PasswordPolicy,
        consents: RequiredConsents,
        invite_ttl: int,
    ) -> None:
        self._db = db
        self._sessions = sessions
        self._service_accounts = service_accounts
        self._login = login
        self._hasher = hasher
        self._code_key = code_key
        self._policy = policy
        self._consents = consents
        self._invite_ttl = invite_ttl

    # ---------------------------------------------------------------- reading
    async def current(self, principal: Principal) -> TenantView:
        async with self._db.session() as session:
            await require_belonging(session, principal)
            tenant = await repo.tenant(session, principal.tenant_id)
        if tenant is None:
            raise NotFound("The tenant does not exist.")
        return tenant_view(tenant)

    async def members(self, principal: Principal, page: PageQuery) -> Page[MemberView]:
        after = decode_cursor(page.cursor, datetime, str) if page.cursor else None
        async with self._db.session() as session:
            await require_belonging(session, principal)
            rows = await repo.members(
                session, principal.tenant_id, limit=page.limit + 1, after=after
            )
        members, next_cursor = cut_page(rows, page.limit, lambda m: (m.joined_at, m.user_id))
        return Page[MemberView](items=[member_view(m) for m in members], next_cursor=next_cursor)

    # ---------------------------------------------------------------- managing members
    @staticmethod
    async def _actor(session: AsyncSession, principal: Principal) -> Member:
        """The acting member as stored now; refuses anyone who may not manage members."""
        return await acting_member(
            session, principal, roles=MANAGERS, refusal="Only owners and admins manage members."
        )

    async def change_role(
        self, principal: Principal, cmd: MemberUpdate, meta: RequestMeta
    ) -> MemberUpdated:
        async with self._db.transaction() as session:
            await repo.tenant(session, principal.tenant_id, for_update=True)
            actor = await self._actor(session, principal)
            target = await repo.member(session, principal.tenant_id, cmd.user_id)
            if target is None:
                raise MemberNotFound()
            if Role.OWNER in (target.role, cmd.role) and actor.role is not Role.OWNER:
                raise OwnerOnly()
            if target.role is cmd.role:
                return member_updated(target, revoked=[])
            if target.role is Role.OWNER and await repo.left_without_active_owner(
                session, [principal.tenant_id], target.user_id
            ):
                raise LastOwner([principal.tenant_id])
            await repo.set_role(session, principal.tenant_id, cmd.user_id, cmd.role)
            revoked: list[RevokedServiceAccount] = []
            # Any role below admin: also ends accounts kept from an earlier admin role.
            if cmd.role not in MANAGERS:
                revoked = await self._service_accounts.revoke_created_by(
                    session, target, reason="creator_demoted", actor_id=principal.subject, meta=meta
                )
            await self._announce(session, principal, target, cmd.role, meta, revoked=revoked)
            # Tokens carry the role: end the member's sessions here so no token keeps the old one.
            await self._sessions.revoke(
                session,
                reason="role_changed",
                user_id=target.user_id,
                tenant_id=principal.tenant_id,
                meta=meta,
                actor_id=principal.user_id,
            )
            updated = await repo.member(session, principal.tenant_id, cmd.user_id)
        assert updated is not None
        return member_updated(updated, revoked=revoked)

    async def remove(self, principal: Principal, user_id: str, meta: RequestMeta) -> MemberRemoved:
        async with self._db.transaction() as session:
            await repo.tenant(session, principal.tenant_id, for_update=True)
            actor = await self._actor(session, principal)
            target = await repo.member(session, principal.tenant_id, user_id)
            if target is None:
                raise MemberNotFound()
            if target.role is Role.OWNER:
                if actor.role is not Role.OWNER:
                    raise OwnerOnly()
                if await repo.left_without_active_owner(session, [principal.tenant_id], user_id):
                    raise LastOwner([principal.tenant_id])
            await repo.remove_member(session, principal.tenant_id, user_id)
            revoked = await self._service_accounts.revoke_created_by(
                session, target, reason="creator_removed", actor_id=principal.subject, meta=meta
            )
            await self._announce(session, principal, target, None, meta, revoked=revoked)
            await self._sessions.revoke(
                session,
                reason="member_removed",
                user_id=user_id,
                tenant_id=principal.tenant_id,
                meta=meta,
                actor_id=principal.user_id,
            )
        return MemberRemoved(user_id=user_id, revoked_service_accounts=revoked)

    async def _announce(
        self,
        session: AsyncSession,
        principal: Principal,
        target: Member,
        role: Role | None,
        meta: RequestMeta,
        *,
        revoked: list[RevokedServiceAccount],
    ) -> None:
        await emit(
            session,
            MemberChanged(
                tenant_id=principal.tenant_id,
                user_id=target.user_id,
                role=role,
                changed_by=principal.subject,
            ),
            tenant_id=principal.tenant_id,
        )
        await record(
            session,
            AuditKind.MEMBER_CHANGED,
            user_id=target.user_id,
            tenant_id=principal.tenant_id,
            actor_id=principal.subject,
            meta=meta,
            old_role=target.role.value,
            new_role=role.value if role else None,
            revoked_service_accounts=[account.id for account in revoked],
        )

    # ---------------------------------------------------------------- invites
    async def invite(
        self, principal: Principal, cmd: InviteCreate, meta: RequestMeta
    ) -> InviteCreated:
        """Mail an invite to ``cmd.email``. The token goes only into that mail: whoever accepts
        proves the mailbox, so the inviter learns the invite's id, never its secret.

        Refused while the inviter's own email is unverified, and beyond the tenant's caps
        (``INVITES_PER_DAY``, ``PENDING_INVITES``): invites are mail to strangers.
        """
        async with self._db.transaction() as session:
            await repo.tenant(session, principal.tenant_id, for_update=True)  # counts stay true
            actor = await self._actor(session, principal)
            if not actor.email_verified:
                raise EmailUnverified("Verify your email address before inviting anyone.")
            if cmd.role is Role.OWNER and actor.role is not Role.OWNER:
                raise OwnerOnly()
            await self._within_invite_caps(session, principal.tenant_id)
            existing = await accounts_repo.by_email(session, cmd.email)
            if existing and await repo.member(session, principal.tenant_id, existing.id):
                raise AlreadyMember()
            sent = await send_invite(
                session,
                self._code_key,
                InviteLetter(
                    tenant_id=principal.tenant_id,
                    tenant_name=actor.tenant_name,
                    email=str(cmd.email),
                    role=cmd.role,
                    inviter=actor.display_name or actor.email,
                    created_by=principal.user_id,
                ),
                ttl=self._invite_ttl,
            )
            await record(
                session,
                AuditKind.INVITE_CREATED,
                tenant_id=principal.tenant_id,
                actor_id=principal.user_id,
                meta=meta,
                invite_id=sent.id,
                role=cmd.role.value,
            )
        return InviteCreated(
            id=sent.id, email=str(cmd.email), role=cmd.role, expires_at=sent.expires_at
        )

    @staticmethod
    async def _within_invite_caps(session: AsyncSession, tenant_id: str) -> None:
        counts = await repo.invite_counts(session, tenant_id)
        now = datetime.now(UTC)
        if counts.sent_today >= INVITES_PER_DAY and counts.oldest_today is not None:
            raise TooManyInvites(retry_after=_seconds_until(counts.oldest_today + DAY, now))
        if counts.pending >= PENDING_INVITES and counts.next_expiry is not None:
            raise TooManyPendingInvites(retry_after=_seconds_until(counts.next_expiry, now))

    async def accept_invite(self, cmd: InviteAccept, meta: RequestMeta) -> RegisterResult:
        """Join the inviting tenant (``TenantSuspended`` while it is not active).

        An existing account proves itself with its password (and, with MFA on,
        gets no tokens here: it logs in with its second factor as usual); a new
        account is created with the invited, and thereby verified, email.
        """
        accepted = self._consents.accepted(terms=cmd.terms_version, privacy=cmd.privacy_version)
        async with self._db.session() as session:
            invite = await repo.open_invite(session, token_hash(cmd.token))
            user = await accounts_repo.by_email(session, invite.email) if invite else None
            tenant = await repo.tenant(session, invite.tenant_id) if invite else None
        if invite is None or tenant is None:
            raise InvalidInvite()
        if tenant.status != "active":
            raise TenantSuspended()
        if cmd.password is None:
            raise PasswordRequired()
        # The same check whether the account exists or not: a weak password is refused alike,
        # so the answer does not tell whether the invited address has an account.
        self._policy.enforce(cmd.password, email=invite.email, display_name=cmd.display_name)
        new_hash: str | None = None
        if user is not None:
            attempt = await self._login.begin_attempt(user.email, meta)
            if not (await self._hasher.verify(user.password_hash, cmd.password)).ok:
                await attempt.failed()
                raise InvalidCredentials()
            await attempt.succeeded()
            # Only after the password: the answer must not tell a stranger the account is disabled.
            if user.status == "disabled":
                raise AccountDisabled()
        else:
            new_hash = await self._hasher.hash(cmd.password)
        user_id = user.id if user else new_id("usr")
        async with self._db.transaction() as session:
            if not await repo.claim_invite(session, invite.id, user_id):
                raise InvalidInvite()
            if new_hash is not None:
                await accounts_repo.add(
                    session,
                    user_id=user_id,
                    email=invite.email,
                    display_name=cmd.display_name,
                    password_hash=new_hash,
                    status="active",
                    email_verified=True,
                )
                await emit(
                    session,
                    UserRegistered(
                        user_id=user_id,
                        tenant_id=invite.tenant_id,
                        email=invite.email,
                        display_name=cmd.display_name,
                    ),
                    tenant_id=invite.tenant_id,
                )
            else:
                await accounts_repo.approve_pending(session, user_id)  # the invite vouches
            await record_consents(session, user_id, accepted)
            if not await repo.add_member(session, invite.tenant_id, user_id, invite.role):
                raise AlreadyMember()
            await emit(
                session,
                MemberChanged(
                    tenant_id=invite.tenant_id,
                    user_id=user_id,
                    role=invite.role,
                    changed_by=user_id,
                ),
                tenant_id=invite.tenant_id,
            )
            await record(
                session,
                AuditKind.INVITE_ACCEPTED,
                user_id=user_id,
                tenant_id=invite.tenant_id,
                meta=meta,
                invite_id=invite.id,
                new_account=new_hash is not None,
            )
            member = await repo.member(session, invite.tenant_id, user_id)
            assert member is not None
            has_mfa = await mfa_repo.has_confirmed_factor(session, user_id)
            tokens = None if has_mfa else await self._sessions.start(session, member, meta)
        return RegisterResult(
            user=UserView(
                id=user_id,
                email=member.email,
                display_name=member.display_name,
                email_verified=member.email_verified,
                mfa_enabled=has_mfa,
            ),
            tenant=TenantRef(id=member.tenant_id, name=member.tenant_name, role=member.role),
            tokens=tokens,
        )

    # ---------------------------------------------------------------- plan (from billing)
    async def apply_subscription(
        self, event: CloudEvent[SubscriptionChanged], *, consumer: str
    ) -> None:
        """Record the plan billing reports, once per event and never over a newer one."""
        change = event.data
        plan = FREE_PLAN if change.status in ENDED_SUBSCRIPTION else change.plan
        async with self._db.transaction() as session:
            if not await record_once(
                session, processed_events, consumer=consumer, event_id=event.id
            ):
                return
            applied = await repo.apply_plan(
                session, change.tenant_id, plan=plan, status=change.status, changed_at=event.time
            )
        log.info("tenant.plan_event", tenant_id=change.tenant_id, plan=plan, applied=applied)
