"""What a user does to their own account with the password again: a new email address (proved by
a code mailed to it, the old address told) and disabling the account (every session ends).

- The new address is checked free when the change is asked for and again when it is confirmed:
  someone may have registered it in between. A taken address answers ``email_taken`` like
  registration does, and the answers one account gets are limited per hour.
- Disabling asks for the password and, with TOTP on, a code of the second factor. The last
  active owner of a tenant cannot disable their account (409 ``last_owner``): the tenant would
  be left without anyone able to manage it. Disabling also revokes the service accounts the
  user created (as leaving a tenant does) and closes their open one-time codes. Only an
  operator enables an account again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.accounts.repository import User, normalize_email
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.codes import repository as codes_repo
from agentbus_auth.codes.repository import Purpose
from agentbus_auth.codes.service import OneTimeCodes
from agentbus_auth.errors import (
    EmailTaken,
    EmailUnchanged,
    InvalidCode,
    LastOwnerLeaving,
    TooManyAttempts,
)
from agentbus_auth.events import emit
from agentbus_auth.mail.requests import request_mail, security_alert
from agentbus_auth.mfa.service import MfaService
from agentbus_auth.passwords.current import CurrentPassword
from agentbus_auth.profile import repository as repo
from agentbus_auth.service_accounts.service import ServiceAccountService
from agentbus_auth.sessions.service import SessionService
from agentbus_auth.tenants import repository as tenants_repo
from agentbus_auth.throttle import LoginThrottle
from agentbus_shared.contracts.common import Principal, RequestMeta
from agentbus_shared.contracts.users import (
    AccountDisableCommand,
    EmailChangeCommand,
    UserProfileChanged,
)
from agentbus_shared.db import Database
from agentbus_shared.errors import NotFound

EMAIL_TAKEN_PER_ACCOUNT = 10
"""``email_taken`` answers one account gets per hour when asking for a new address."""


@dataclass(frozen=True)
class EmailChangeTimings:
    code_ttl: int
    requests_per_hour: int


class AccountChanges:
    def __init__(
        self,
        db: Database,
        *,
        codes: OneTimeCodes,
        current_password: CurrentPassword,
        throttle: LoginThrottle,
        sessions: SessionService,
        mfa: MfaService,
        service_accounts: ServiceAccountService,
        timings: EmailChangeTimings,
    ) -> None:
        self._db = db
        self._codes = codes
        self._current_password = current_password
        self._throttle = throttle
        self._sessions = sessions
        self._mfa = mfa
        self._service_accounts = service_accounts
        self._timings = timings

    async def _user(self, user_id: str) -> User:
        async with self._db.session() as session:
            user = await accounts_repo.by_id(session, user_id)
        if user is None:
            raise NotFound()
        return user

    # ---------------------------------------------------------------- email change
    async def request_email_change(
        self, user_id: str, cmd: EmailChangeCommand, meta: RequestMeta
    ) -> None:
        """Mail a code to the new address (the current password first); refuses an address in
        use (409 ``email_taken``) and more than the hourly number of requests (429)."""
        user = await self._user(user_id)
        await self._current_password.confirm(user, cmd.current_password, meta)
        new_email = str(cmd.new_email)
        if normalize_email(new_email) == user.email_normalized:
            raise EmailUnchanged()
        if not await self._within_rate(f"email-change:{user_id}", self._timings.requests_per_hour):
            raise TooManyAttempts(retry_after=3600)
        await self._refuse_taken(user_id, new_email)
        async with self._db.transaction() as session:
            code_id = await self._codes.issue(
                session, user_id, Purpose.EMAIL_CHANGE, ttl=self._timings.code_ttl
            )
            await repo.start_email_change(session, user_id, new_email, code_id)
            await request_mail(
                session,
                to=new_email,
                template="email_change",
                secret_ref=code_id,
                expires_in=f"{self._timings.code_ttl // 60} minutes",
            )
            await record(session, AuditKind.EMAIL_CHANGE_REQUESTED, user_id=user_id, meta=meta)

    async def _refuse_taken(self, user_id: str, email: str) -> None:
        async with self._db.session() as session:
            taken = await accounts_repo.by_email(session, email) is not None
        if taken:
            if not await self._within_rate(
                f"email-change-taken:{user_id}", EMAIL_TAKEN_PER_ACCOUNT
            ):
                raise TooManyAttempts(retry_after=3600)
            raise EmailTaken()

    async def _within_rate(self, key: str, limit: int) -> bool:
        return await self._throttle.within_rate(key, limit=limit, window=3600)

    async def confirm_email_change(
        self, principal: Principal, code: str, meta: RequestMeta
    ) -> None:
        """Make the pending address the account's with the code mailed to it; the old address is
        told and the account's other sessions end (as a password change does). A wrong, used or
        expired code is refused (400 ``invalid_code``)."""
        user = await self._user(principal.user_id)
        code_id = await self._codes.check(user.id, Purpose.EMAIL_CHANGE, code)
        if code_id is None:
            raise InvalidCode()
        try:
            async with self._db.transaction() as session:
                pending = await repo.take_email_change(session, user.id)
                if pending is None or pending.code_id != code_id:
                    raise InvalidCode()
                if not await self._codes.consume(session, code_id):
                    raise InvalidCode()
                taken = await accounts_repo.by_email(session, pending.new_email)
                if taken is not None:
                    raise EmailTaken()
                await repo.set_email(session, user.id, pending.new_email)
                await self._sessions.revoke(
                    session,
                    reason="email_changed",
                    user_id=user.id,
                    keep=principal.session_id,
                    meta=meta,
                )
                await record(session, AuditKind.EMAIL_CHANGED, user_id=user.id, meta=meta)
                await security_alert(
                    session,
                    email=user.email,
                    display_name=user.display_name,
                    what="The email address was changed (the new one is "
                    f"at {pending.new_email.rsplit('@', 1)[-1]})",
                )
                await emit(
                    session,
                    UserProfileChanged(
                        user_id=user.id, fields=["email"], changed_at=datetime.now(UTC)
                    ),
                    tenant_id=principal.tenant_id,
                )
        except IntegrityError:
            raise EmailTaken() from None  # registered by someone else at this very moment

    # ---------------------------------------------------------------- disabling
    async def disable(self, user_id: str, cmd: AccountDisableCommand, meta: RequestMeta) -> None:
        """Disable the account with the current password and, with TOTP on, a code of the second
        factor: every session is revoked at once. The last active owner of a tenant is refused
        (409 ``last_owner``) and nothing changes. An operator enables it again."""
        user = await self._user(user_id)
        await self._current_password.confirm(user, cmd.current_password, meta)
        await self._mfa.prove_if_on(user_id, cmd.code, meta)
        async with self._db.transaction() as session:
            # Locked first: a login starting a session on the account waits, or goes first and
            # its session is revoked below.
            await accounts_repo.by_id(session, user_id, for_update=True)
            orphaned = await repo.tenants_left_without_owner(session, user_id)
            if orphaned:
                raise LastOwnerLeaving(orphaned)
            await repo.disable(session, user_id)
            await codes_repo.close_all(session, user_id)  # a reset code mailed earlier dies too
            for member in await tenants_repo.memberships_of(session, user_id):
                await self._service_accounts.revoke_created_by(
                    session, member, reason="creator_disabled", actor_id=user_id, meta=meta
                )
            await self._sessions.revoke(
                session, reason="account_disabled", user_id=user_id, meta=meta
            )
            await record(session, AuditKind.ACCOUNT_DISABLED, user_id=user_id, meta=meta)
            await security_alert(
                session,
                email=user.email,
                display_name=user.display_name,
                what="The account was disabled and every session ended",
            )

    async def enable_by_operator(self, email: str, *, actor: str) -> bool:
        """Enable the disabled account with ``email`` again (audited, its owner mailed); ``False``
        if it is not disabled. Raises :class:`NotFound` for an unknown email."""
        async with self._db.transaction() as session:
            user = await accounts_repo.by_email(session, email)
            if user is None:
                raise NotFound(f"No account with email {email}.")
            if not await repo.enable(session, user.id):
                return False
            await record(
                session, AuditKind.ACCOUNT_ENABLED_BY_OPERATOR, user_id=user.id, actor_id=actor
            )
            await security_alert(
                session,
                email=user.email,
                display_name=user.display_name,
                what="The account was enabled again by an operator",
            )
        return True
