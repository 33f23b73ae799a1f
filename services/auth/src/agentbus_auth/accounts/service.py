"""User accounts: registration, the caller's profile, email verification and passwords."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts import repository as repo
from agentbus_auth.accounts.repository import User
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.codes.repository import Purpose
from agentbus_auth.codes.service import OneTimeCodes
from agentbus_auth.errors import (
    EmailAlreadyVerified,
    EmailTaken,
    InvalidCode,
    TooManyAttempts,
    WeakPassword,
)
from agentbus_auth.events import emit
from agentbus_auth.mail.requests import request_mail, security_alert
from agentbus_auth.mfa import repository as mfa_repo
from agentbus_auth.passwords.current import CurrentPassword
from agentbus_auth.passwords.hasher import PasswordHasher
from agentbus_auth.passwords.policy import PasswordPolicy
from agentbus_auth.profile.service import RequiredConsents, record_consents
from agentbus_auth.sessions.service import SessionService
from agentbus_auth.signup.gate import SignupGate
from agentbus_auth.tenants import repository as tenants_repo
from agentbus_auth.tenants.membership import caller_membership
from agentbus_auth.tenants.roles import granted_scopes
from agentbus_auth.throttle import LoginThrottle, account_key
from agentbus_shared.contracts.auth import (
    MeResult,
    PasswordChangeCommand,
    PasswordResetCommand,
    RegisterCommand,
    RegisterResult,
    TenantRef,
    UserRegistered,
    UserView,
)
from agentbus_shared.contracts.common import Principal, RequestMeta, Role
from agentbus_shared.contracts.tenants import TenantCreated
from agentbus_shared.db import Database
from agentbus_shared.errors import NotFound
from agentbus_shared.ids import new_id
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class AccountTimings:
    verify_code_ttl: int
    reset_code_ttl: int
    code_requests_per_hour: int
    password_history: int


EMAIL_TAKEN_PER_IP = 10
"""``email_taken`` answers one client address gets per hour. The answer tells that an account
exists; past this many, the address may not register at all until the hour is over."""


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} minutes"


class AccountService:
    def __init__(
        self,
        db: Database,
        *,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        throttle: LoginThrottle,
        current_password: CurrentPassword,
        codes: OneTimeCodes,
        sessions: SessionService,
        signup: SignupGate,
        consents: RequiredConsents,
        timings: AccountTimings,
    ) -> None:
        self._db = db
        self._hasher = hasher
        self._policy = policy
        self._throttle = throttle
        self._current_password = current_password
        self._codes = codes
        self._sessions = sessions
        self._signup = signup
        self._consents = consents
        self._timings = timings

    # ---------------------------------------------------------------- passwords
    async def _check_history(self, user_id: str, password: str, field: str) -> None:
        async with self._db.session() as session:
            hashes = await repo.recent_hashes(session, user_id, self._timings.password_history)
        if await self._hasher.matches_any(hashes, password):
            raise WeakPassword(
                [f"Choose a password you have not used for your last {len(hashes)} passwords."],
                field=field,
            )

    # ---------------------------------------------------------------- registration
    async def register(self, cmd: RegisterCommand, meta: RequestMeta) -> RegisterResult:
        """A tenant and its owner in one transaction; tokens unless approval is required.

        A signup invite (``cmd.invite_token``) is used up by it; it vouches for the email (the
        account is verified at once) and, under the approval policy, for the person."""
        accepted = self._consents.accepted(terms=cmd.terms_version, privacy=cmd.privacy_version)
        invite = await self._signup.admit(cmd, meta)
        await self._refuse_signup_prober(meta)
        self._policy.enforce(cmd.password, email=cmd.email, display_name=cmd.display_name)
        async with self._db.session() as session:
            taken = await repo.by_email(session, cmd.email) is not None
        if taken:
            await self._answer_email_taken(str(cmd.email), meta)
        password_hash = await self._hasher.hash(cmd.password)
        pending = self._signup.policy == "approval" and invite is None
        user_id, tenant_id = new_id("usr"), new_id("t")
        try:
            async with self._db.transaction() as session:
                tenant = await tenants_repo.add_tenant(
                    session, tenant_id=tenant_id, name=cmd.tenant_name
                )
                await repo.add(
                    session,
                    user_id=user_id,
                    email=str(cmd.email),
                    display_name=cmd.display_name,
                    password_hash=password_hash,
                    status="pending_approval" if pending else "active",
                    email_verified=invite is not None,
                )
                if invite is not None:
                    await self._signup.claim(
                        session, invite, user_id=user_id, tenant_id=tenant_id, meta=meta
                    )
                await tenants_repo.add_member(session, tenant_id, user_id, Role.OWNER)
                await record_consents(session, user_id, accepted)
                await emit(
                    session,
                    TenantCreated(
                        tenant_id=tenant_id,
                        name=tenant.name,
                        owner_user_id=user_id,
                        created_at=tenant.created_at,
                    ),
                    tenant_id=tenant_id,
                )
                await emit(
                    session,
                    UserRegistered(
                        user_id=user_id,
                        tenant_id=tenant_id,
                        email=str(cmd.email),
                        display_name=cmd.display_name,
                    ),
                    tenant_id=tenant_id,
                )
                if invite is None:
                    await self._send_verification(
                        session, user_id, str(cmd.email), cmd.display_name
                    )
                await record(
                    session,
                    AuditKind.USER_REGISTERED,
                    user_id=user_id,
                    tenant_id=tenant_id,
                    meta=meta,
                    pending=pending,
                )
                member = await tenants_repo.member(session, tenant_id, user_id)
                assert member is not None
                tokens = None if pending else await self._sessions.start(session, member, meta)
        except IntegrityError:
            raise EmailTaken() from None  # a concurrent registration of the same email won
        return RegisterResult(
            user=UserView(
                id=user_id,
                email=str(cmd.email),
                display_name=cmd.display_name,
                email_verified=invite is not None,
            ),
            tenant=TenantRef(id=tenant_id, name=tenant.name, role=Role.OWNER),
            tokens=tokens,
            status="pending_approval" if pending else "active",
        )

    def _signup_probes_key(self, meta: RequestMeta) -> str:
        return f"signup-taken:{meta.client_ip or '-'}"

    async def _refuse_signup_prober(self, meta: RequestMeta) -> None:
        """429 for a client address that has used up its ``email_taken`` answers."""
        retry_after = await self._throttle.rate_spent(
            self._signup_probes_key(meta), limit=EMAIL_TAKEN_PER_IP
        )
        if retry_after:
            raise TooManyAttempts(retry_after=retry_after)

    async def _answer_email_taken(self, email: str, meta: RequestMeta) -> None:
        """Raise 409 ``email_taken``, audited and counted against the client address (429 once
        it has had ``EMAIL_TAKEN_PER_IP`` of them this hour)."""
        key = self._signup_probes_key(meta)
        allowed = await self._throttle.within_rate(key, limit=EMAIL_TAKEN_PER_IP, window=3600)
        async with self._db.transaction() as session:
            await record(
                session,
                AuditKind.REGISTER_EMAIL_TAKEN,
                meta=meta,
                email_hash=account_key(email),
                refused=not allowed,
            )
        if not allowed:
            await self._refuse_signup_prober(meta)
        raise EmailTaken()

    async def approve(self, email: str, *, actor: str) -> bool:
        """Let the account of ``email`` in (signed up under the approval policy); False if it was
        not waiting for approval (active already, or disabled: approval does not re-enable).
        Raises ``NotFound`` without such an account."""
        async with self._db.transaction() as session:
            user = await repo.by_email(session, email)
            if user is None:
                raise NotFound("No account with this email.")
            approved = await repo.approve_pending(session, user.id)
            if approved:
                await record(session, AuditKind.USER_APPROVED, user_id=user.id, actor_id=actor)
        return approved

    async def pending_approval(self) -> list[User]:
        """The accounts waiting for an operator's approval, oldest first."""
        async with self._db.session() as session:
            return await repo.pending_approval(session)

    # ---------------------------------------------------------------- profile
    async def me(self, principal: Principal) -> MeResult:
        async with self._db.session() as session:
            member = await caller_membership(session, principal)
            mfa = await mfa_repo.has_confirmed_factor(session, principal.user_id)
            user = await repo.by_id(session, principal.user_id)
        if member is None or user is None:
            raise NotFound("The account is not a member of this tenant.")
        return MeResult(
            user=UserView(
                id=user.id,
                email=user.email,
                display_name=user.display_name,
                email_verified=user.email_verified,
                mfa_enabled=mfa,
            ),
            tenant=TenantRef(
                id=member.tenant_id,
                name=member.tenant_name,
                role=member.role,
                status=member.tenant_status,
            ),
            scopes=granted_scopes(member.role, platform_operator=member.platform_operator),
        )

    # ---------------------------------------------------------------- email verification
    async def _send_verification(
        self, session: AsyncSession, user_id: str, email: str, display_name: str | None
    ) -> None:
        code_id = await self._codes.issue(
            session, user_id, Purpose.VERIFY_EMAIL, ttl=self._timings.verify_code_ttl
        )
        await request_mail(
            session,
            to=email,
            template="verify_email",
            secret_ref=code_id,
            name=display_name or email,
            expires_in=_minutes(self._timings.verify_code_ttl),
        )

    async def send_verification(self, user_id: str) -> None:
        async with self._db.session() as session:
            user = await repo.by_id(session, user_id)
        if user is None:
            raise NotFound()
        if user.email_verified:
            raise EmailAlreadyVerified()
        if not await self._within_code_rate(f"verify:{user_id}"):
            raise TooManyAttempts(retry_after=3600)
        async with self._db.transaction() as session:
            await self._send_verification(session, user.id, user.email, user.display_name)

    async def verify_email(self, user_id: str, code: str, meta: RequestMeta) -> None:
        code_id = await self._codes.check(user_id, Purpose.VERIFY_EMAIL, code)
        if code_id is None:
            raise InvalidCode()
        async with self._db.transaction() as session:
            if not await self._codes.consume(session, code_id):
                raise InvalidCode()
            await repo.mark_email_verified(session, user_id)
            await record(session, AuditKind.EMAIL_VERIFIED, user_id=user_id, meta=meta)

    async def _within_code_rate(self, key: str) -> bool:
        return await self._throttle.within_rate(
            key, limit=self._timings.code_requests_per_hour, window=3600
        )

    # ---------------------------------------------------------------- forgot / reset / change
    async def forgot_password(self, email: str, meta: RequestMeta) -> None:
        """Mail a reset code if the account exists; the caller learns nothing either way."""
        if not await self._within_code_rate(f"reset:{account_key(email)}"):
            log.info("password.reset_throttled")
            return
        async with self._db.transaction() as session:
            user = await repo.by_email(session, email)
            if user is None or user.status == "disabled":
                return
            code_id = await self._codes.issue(
                session, user.id, Purpose.PASSWORD_RESET, ttl=self._timings.reset_code_ttl
            )
            await request_mail(
                session,
                to=user.email,
                template="password_reset",
                secret_ref=code_id,
                name=user.display_name or user.email,
                expires_in=_minutes(self._timings.reset_code_ttl),
            )
            await record(session, AuditKind.PASSWORD_RESET_REQUESTED, user_id=user.id, meta=meta)

    async def reset_password(self, cmd: PasswordResetCommand, meta: RequestMeta) -> None:
        """Set a new password with a reset code; every session of the account is revoked."""
        async with self._db.session() as session:
            user = await repo.by_email(session, cmd.email)
        if user is None:
            raise InvalidCode()
        code_id = await self._codes.check(user.id, Purpose.PASSWORD_RESET, cmd.code)
        if code_id is None:
            raise InvalidCode()
        # The code stays usable while the new password is refused: checked before consuming.
        self._policy.enforce(
            cmd.new_password, email=user.email, display_name=user.display_name, field="new_password"
        )
        await self._check_history(user.id, cmd.new_password, "new_password")
        new_hash = await self._hasher.hash(cmd.new_password)
        async with self._db.transaction() as session:
            if not await self._codes.consume(session, code_id):
                raise InvalidCode()
            await repo.set_password(session, user.id, new_hash, self._timings.password_history)
            await repo.mark_email_verified(session, user.id)  # the code proved the mailbox
            await self._sessions.revoke(
                session, reason="password_reset", user_id=user.id, meta=meta
            )
            await record(session, AuditKind.PASSWORD_RESET, user_id=user.id, meta=meta)
            await self._alert(session, user, "Your password was reset")
        await self._throttle.unlock(account_key(user.email))

    async def change_password(
        self, principal: Principal, cmd: PasswordChangeCommand, meta: RequestMeta
    ) -> None:
        """Change the password; the account's other sessions are revoked."""
        async with self._db.session() as session:
            user = await repo.by_id(session, principal.user_id)
        if user is None:
            raise NotFound()
        await self._current_password.confirm(user, cmd.current_password, meta)
        self._policy.enforce(
            cmd.new_password, email=user.email, display_name=user.display_name, field="new_password"
        )
        await self._check_history(user.id, cmd.new_password, "new_password")
        new_hash = await self._hasher.hash(cmd.new_password)
        async with self._db.transaction() as session:
            await repo.set_password(session, user.id, new_hash, self._timings.password_history)
            await self._sessions.revoke(
                session,
                reason="password_changed",
                user_id=user.id,
                keep=principal.session_id,
                meta=meta,
            )
            await record(session, AuditKind.PASSWORD_CHANGED, user_id=user.id, meta=meta)
            await self._alert(session, user, "Your password was changed")

    async def _alert(self, session: AsyncSession, user: User, what: str) -> None:
        await security_alert(session, email=user.email, display_name=user.display_name, what=what)
