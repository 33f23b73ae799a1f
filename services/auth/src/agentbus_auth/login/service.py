"""Logging in: email and password under lockout, then tokens or an MFA challenge.

Order matters: a slot is taken in the throttle before the password is
checked (so concurrent guesses cannot exceed the limit), an unknown email
costs the same argon2 verification as a known one, and every refusal —
unknown email, wrong password, locked account — says the same words. The
account's status is read again, held, in the transaction that starts the
session: an account disabled while its password or code was being checked
gets no tokens.
"""

from __future__ import annotations

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.accounts.repository import User
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import token_hash
from agentbus_auth.errors import (
    AccountDisabled,
    AccountLocked,
    InvalidChallenge,
    InvalidCredentials,
    InvalidMfaCode,
    TooManyAttempts,
)
from agentbus_auth.mail.requests import security_alert
from agentbus_auth.mfa import repository as mfa_repo
from agentbus_auth.mfa.service import MfaService
from agentbus_auth.passwords.hasher import PasswordHasher
from agentbus_auth.sessions.service import SessionService
from agentbus_auth.tenants.membership import active_membership, usable_membership
from agentbus_auth.throttle import Attempt, LoginThrottle, Refusal, Refused, account_key
from agentbus_shared.contracts.auth import LoginCommand, MfaChallenge, MfaCompleteCommand, TokenPair
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.db import Database
from agentbus_shared.errors import AgentbusError
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


class LoginService:
    def __init__(
        self,
        db: Database,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        sessions: SessionService,
        mfa: MfaService,
        *,
        challenge_attempts: int,
    ) -> None:
        self._db = db
        self._hasher = hasher
        self._throttle = throttle
        self._sessions = sessions
        self._mfa = mfa
        self._challenge_attempts = challenge_attempts

    async def login(self, cmd: LoginCommand, meta: RequestMeta) -> TokenPair | MfaChallenge:
        attempt = await self.begin_attempt(cmd.email, meta)
        async with self._db.session() as session:
            user = await accounts_repo.by_email(session, cmd.email)
        verification = await self._hasher.verify(user.password_hash if user else None, cmd.password)
        if user is None or not verification.ok:
            await self._failed(attempt, user, meta, cmd.email)
            raise InvalidCredentials()
        # Parameters changed since this hash was made: store a new one (argon2 off the loop).
        rehashed = await self._hasher.hash(cmd.password) if verification.needs_rehash else None
        try:
            async with self._db.transaction() as session:
                member = await usable_membership(session, user.id, cmd.tenant_id)
                if rehashed is not None:
                    await accounts_repo.replace_hash(
                        session, user.id, old=user.password_hash, new=rehashed
                    )
                if await mfa_repo.has_confirmed_factor(session, user.id):
                    challenge = await self._mfa.open_challenge(
                        session, user_id=user.id, tenant_id=member.tenant_id, meta=meta
                    )
                else:
                    challenge = None
                    tokens = await self._sessions.start(session, member, meta)
                    await record(
                        session,
                        AuditKind.LOGIN_SUCCEEDED,
                        user_id=user.id,
                        tenant_id=member.tenant_id,
                        meta=meta,
                    )
        except AgentbusError:
            await attempt.succeeded()  # the password was right: no lockout for that
            raise
        if challenge is not None:
            await attempt.release()  # the count stands until the second factor is right
            return challenge
        await attempt.succeeded()
        return tokens

    async def complete_mfa(self, cmd: MfaCompleteCommand, meta: RequestMeta) -> TokenPair:
        async with self._db.transaction() as session:
            challenge = await mfa_repo.take_challenge_attempt(
                session, token_hash(cmd.challenge_token), max_attempts=self._challenge_attempts
            )
        if challenge is None:
            raise InvalidChallenge()
        async with self._db.session() as session:
            member = await active_membership(session, challenge.tenant_id, challenge.user_id)
        if member is None:
            raise InvalidChallenge()
        attempt = await self.begin_attempt(member.email, meta)
        async with self._db.transaction() as session:
            used = await self._mfa.check_second_factor(session, member.user_id, cmd.code)
            if used is not None:
                if await accounts_repo.held_status(session, member.user_id) != "active":
                    raise AccountDisabled()
                if not await mfa_repo.consume_challenge(session, challenge.id):
                    used = None
                else:
                    tokens = await self._sessions.start(session, member, meta, mfa=True)
                    await record(
                        session,
                        AuditKind.LOGIN_SUCCEEDED,
                        user_id=member.user_id,
                        tenant_id=member.tenant_id,
                        meta=meta,
                        second_factor=used,
                    )
                    if used == "recovery_code":
                        await record(
                            session, AuditKind.RECOVERY_CODE_USED, user_id=member.user_id, meta=meta
                        )
        if used is None:
            await attempt.failed()
            async with self._db.transaction() as session:
                await record(
                    session,
                    AuditKind.MFA_FAILED,
                    user_id=member.user_id,
                    tenant_id=member.tenant_id,
                    meta=meta,
                )
            raise InvalidMfaCode()
        await attempt.succeeded()
        return tokens

    # ---------------------------------------------------------------- parts
    async def begin_attempt(self, email: str, meta: RequestMeta) -> Attempt:
        """A slot in the throttle for one credential check, or the refusal (429)."""
        slot = await self._throttle.begin(account_key(email), meta.client_ip)
        if isinstance(slot, Refused):
            async with self._db.transaction() as session:
                await record(
                    session,
                    AuditKind.LOGIN_REFUSED,
                    meta=meta,
                    account=account_key(email),
                    reason=slot.reason.name.lower(),
                )
            if slot.reason is Refusal.IP_THROTTLED:
                raise TooManyAttempts(retry_after=slot.retry_after)
            raise AccountLocked(retry_after=slot.retry_after)
        return slot

    async def _failed(
        self, attempt: Attempt, user: User | None, meta: RequestMeta, email: str
    ) -> None:
        locked_for = await attempt.failed()
        async with self._db.transaction() as session:
            user_id = user.id if user else None
            await record(
                session,
                AuditKind.LOGIN_FAILED,
                user_id=user_id,
                meta=meta,
                account=account_key(email),
                known=user is not None,
            )
            if locked_for is not None:
                await record(
                    session,
                    AuditKind.ACCOUNT_LOCKED,
                    user_id=user_id,
                    meta=meta,
                    account=account_key(email),
                    seconds=locked_for,
                )
                if user is not None:
                    await security_alert(
                        session,
                        email=user.email,
                        display_name=user.display_name,
                        what="Your account was locked after repeated failed sign-in attempts",
                    )
                log.warning("login.account_locked", seconds=locked_for, known=user is not None)
