"""TOTP enrollment and checks, recovery codes, and the challenge between password and second factor.

- A TOTP code is accepted for the current time step and one step either side,
  and each time step only once per user (``last_used_step`` only grows), so an
  observed code cannot be replayed.
- Ten recovery codes are shown once at enrollment and stored as MACs; each
  works once (atomic ``UPDATE … WHERE used_at IS NULL``). A current TOTP code
  replaces the set with a new one (the old set stops working at once).
- The TOTP secret is sealed under the key-encryption key.
- Starting and confirming enrollment ask for the current password (a failure
  toward the lockout, like a login's): a stolen access token alone cannot put
  a factor on the account. Turning TOTP off needs a code of the factor; an
  operator removes the factors of a user who lost them (``remove_by_operator``).
"""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime, timedelta
from typing import Literal

import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import (
    CodeKey,
    SecretBox,
    new_recovery_code,
    new_token,
    normalize_code,
    token_hash,
)
from agentbus_auth.errors import (
    AccountLocked,
    InvalidMfaCode,
    MfaAlreadyEnabled,
    MfaCodeRequired,
    MfaNotEnabled,
    MfaNotEnrolled,
)
from agentbus_auth.mail.requests import security_alert
from agentbus_auth.mfa import repository as repo
from agentbus_auth.passwords.current import CurrentPassword
from agentbus_auth.throttle import Attempt, LoginThrottle, Refused, account_key
from agentbus_shared.contracts.auth import (
    MfaChallenge,
    RecoveryCodes,
    TotpConfirmCommand,
    TotpEnrollment,
)
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.contracts.users import MfaMethods, TotpMethod
from agentbus_shared.db import Database
from agentbus_shared.errors import NotFound
from agentbus_shared.ids import new_id

RECOVERY_CODES = 10
_STEP = 30
_RECOVERY_PURPOSE = "recovery"

SecondFactor = Literal["totp", "recovery_code"]


def _looks_like_totp(code: str) -> bool:
    # isascii: str.isdigit() accepts other scripts' digits (e.g. "١٢٣٤٥٦"), which
    # hmac.compare_digest refuses to compare with an exception.
    return code.isascii() and code.isdigit() and len(code) == 6


def _new_recovery_codes() -> list[str]:
    return [new_recovery_code() for _ in range(RECOVERY_CODES)]


def totp_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // _STEP)


class MfaService:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        code_key: CodeKey,
        throttle: LoginThrottle,
        current_password: CurrentPassword,
        *,
        issuer: str,
        challenge_ttl: int,
    ) -> None:
        self._db = db
        self._box = box
        self._code_key = code_key
        self._throttle = throttle
        self._current_password = current_password
        self._issuer = issuer
        self._challenge_ttl = challenge_ttl

    # ---------------------------------------------------------------- second factor
    async def check_second_factor(
        self, session: AsyncSession, user_id: str, code: str
    ) -> SecondFactor | None:
        """Accept a TOTP code (once per time step) or spend a recovery code; ``None`` if neither."""
        normalized = normalize_code(code)
        if _looks_like_totp(normalized):
            return "totp" if await self._accept_totp(session, user_id, normalized) else None
        mac = self._code_key.mac(_RECOVERY_PURPOSE, normalized)
        if await repo.use_recovery_code(session, user_id, mac):
            return "recovery_code"
        return None

    async def _accept_totp(self, session: AsyncSession, user_id: str, code: str) -> bool:
        """Accept a TOTP code of the user's factor, once per time step."""
        factor = await repo.factor(session, user_id)
        if factor is None:
            return False
        step = self._matching_step(factor, code)
        return step is not None and await repo.claim_step(session, user_id, step)

    def _matching_step(self, factor: repo.Factor, code: str) -> int | None:
        secret = self._box.open(factor.secret_sealed, bound_to=f"totp:{factor.user_id}").decode()
        totp = pyotp.TOTP(secret)
        now = totp_step()
        for step in (now - 1, now, now + 1):
            # As bytes: compare_digest raises on str with non-ASCII characters (any code a
            # client sends, e.g. "١٢٣٤٥٦", is just a wrong code).
            if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
                return step
        return None

    async def prove_if_on(self, user_id: str, code: str | None, meta: RequestMeta) -> None:
        """With TOTP on, require a TOTP or recovery code (401 ``mfa_code_required`` without one,
        ``invalid_mfa_code`` for a wrong one, counted toward the lockout); nothing without it."""
        async with self._db.session() as session:
            enabled = await repo.has_confirmed_factor(session, user_id)
        if not enabled:
            return
        if code is None:
            raise MfaCodeRequired()
        attempt = await self._begin_factor_attempt(user_id, meta)
        async with self._db.transaction() as session:
            used = await self.check_second_factor(session, user_id, code)
        if used is None:
            await attempt.failed()
            raise InvalidMfaCode()
        await attempt.succeeded()

    # ---------------------------------------------------------------- challenges
    async def open_challenge(
        self, session: AsyncSession, *, user_id: str, tenant_id: str, meta: RequestMeta
    ) -> MfaChallenge:
        token = new_token("mfa")
        await repo.add_challenge(
            session,
            challenge_id=new_id("mfc"),
            token_hash=token_hash(token),
            user_id=user_id,
            tenant_id=tenant_id,
            expires_at=datetime.now(UTC) + timedelta(seconds=self._challenge_ttl),
        )
        await record(
            session, AuditKind.MFA_CHALLENGED, user_id=user_id, tenant_id=tenant_id, meta=meta
        )
        return MfaChallenge(challenge_token=token)

    # ---------------------------------------------------------------- enrollment
    async def enroll(self, user_id: str, password: str, meta: RequestMeta) -> TotpEnrollment:
        """A new secret to confirm with :meth:`confirm`; refused without the current password."""
        user = await self._user(user_id)
        await self._current_password.confirm(user, password, meta)
        async with self._db.transaction() as session:
            existing = await repo.factor(session, user_id)
            if existing is not None and existing.confirmed:
                raise MfaAlreadyEnabled()
            secret = pyotp.random_base32()
            sealed = self._box.seal(secret.encode(), bound_to=f"totp:{user_id}")
            await repo.start_enrollment(session, user_id, sealed)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=self._issuer)
        return TotpEnrollment(secret=secret, otpauth_uri=uri)

    async def confirm(
        self, user_id: str, cmd: TotpConfirmCommand, meta: RequestMeta
    ) -> RecoveryCodes:
        """Finish enrollment with a first code and the current password; the recovery codes,
        shown this once."""
        await self._current_password.confirm(await self._user(user_id), cmd.current_password, meta)
        codes = _new_recovery_codes()
        async with self._db.transaction() as session:
            factor = await repo.factor(session, user_id)
            if factor is None:
                raise MfaNotEnrolled()
            if factor.confirmed:
                raise MfaAlreadyEnabled()
            step = self._matching_step(factor, normalize_code(cmd.code))
            if step is None or not await repo.claim_step(session, user_id, step):
                raise InvalidMfaCode()
            await repo.confirm(session, user_id)
            await self._store_recovery_codes(session, user_id, codes)
            await record(session, AuditKind.MFA_ENABLED, user_id=user_id, meta=meta)
            await self._alert(session, user_id, "Two-factor authentication was turned on")
        return RecoveryCodes(recovery_codes=codes)

    async def _store_recovery_codes(
        self, session: AsyncSession, user_id: str, codes: list[str]
    ) -> None:
        """Make ``codes`` the user's recovery codes (as MACs); the earlier set stops working."""
        macs = [self._code_key.mac(_RECOVERY_PURPOSE, normalize_code(c)) for c in codes]
        await repo.replace_recovery_codes(session, user_id, macs)

    # ---------------------------------------------------------------- methods and recovery codes
    async def methods(self, user_id: str) -> MfaMethods:
        """Which second factors are on, and how many recovery codes are left."""
        async with self._db.session() as session:
            since = await repo.enabled_since(session, user_id)
            left = await repo.recovery_codes_left(session, user_id)
        totp = TotpMethod(enabled_since=since) if since is not None else None
        return MfaMethods(totp=totp, recovery_codes_remaining=left if totp else 0)

    async def regenerate_recovery_codes(
        self, user_id: str, code: str, meta: RequestMeta
    ) -> RecoveryCodes:
        """A new set of recovery codes for a current TOTP code (shown this once); the old set
        stops working. A wrong code counts toward the account lockout."""
        attempt = await self._begin_factor_attempt(user_id, meta)
        codes = _new_recovery_codes()
        normalized = normalize_code(code)
        async with self._db.transaction() as session:
            accepted = _looks_like_totp(normalized) and await self._accept_totp(
                session, user_id, normalized
            )
            if accepted:
                await self._store_recovery_codes(session, user_id, codes)
                await record(
                    session, AuditKind.RECOVERY_CODES_REGENERATED, user_id=user_id, meta=meta
                )
                await self._alert(
                    session, user_id, "New recovery codes were made (the old ones stopped working)"
                )
        if not accepted:
            await attempt.failed()
            raise InvalidMfaCode()
        await attempt.succeeded()
        return RecoveryCodes(recovery_codes=codes)

    async def _begin_factor_attempt(self, user_id: str, meta: RequestMeta) -> Attempt:
        """A slot for a code of the user's factor under the account lockout; raises
        :class:`MfaNotEnabled` without a factor and :class:`AccountLocked` while locked."""
        async with self._db.session() as session:
            user = await accounts_repo.by_id(session, user_id)
            enabled = await repo.has_confirmed_factor(session, user_id)
        if user is None or not enabled:
            raise MfaNotEnabled()
        attempt = await self._throttle.begin(account_key(user.email), meta.client_ip)
        if isinstance(attempt, Refused):
            raise AccountLocked(retry_after=attempt.retry_after)
        return attempt

    async def disable(self, user_id: str, code: str, meta: RequestMeta) -> None:
        """Turn TOTP off with a current code or a recovery code (guessing counts toward lockout)."""
        attempt = await self._begin_factor_attempt(user_id, meta)
        async with self._db.transaction() as session:
            used = await self.check_second_factor(session, user_id, code)
            if used is not None:
                await repo.remove_factor(session, user_id)
                await record(
                    session, AuditKind.MFA_DISABLED, user_id=user_id, meta=meta, with_=used
                )
                await self._alert(session, user_id, "Two-factor authentication was turned off")
        if used is None:
            await attempt.failed()
            raise InvalidMfaCode()
        await attempt.succeeded()

    async def remove_by_operator(self, email: str, *, actor: str) -> bool:
        """Remove the factors (TOTP and recovery codes) of the user with ``email``: for one who
        lost them, or whose account got a factor from someone else. Audited; the user is told by
        mail. ``False`` if the user has none; raises :class:`NotFound` for an unknown email."""
        async with self._db.transaction() as session:
            user = await accounts_repo.by_email(session, email)
            if user is None:
                raise NotFound(f"No account with email {email}.")
            if await repo.factor(session, user.id) is None:
                return False
            await repo.remove_factor(session, user.id)
            await record(
                session, AuditKind.MFA_REMOVED_BY_OPERATOR, user_id=user.id, actor_id=actor
            )
            await self._alert(
                session, user.id, "Two-factor authentication was removed by an operator"
            )
        return True

    async def _user(self, user_id: str) -> accounts_repo.User:
        async with self._db.session() as session:
            user = await accounts_repo.by_id(session, user_id)
        if user is None:
            raise NotFound()
        return user

    async def _alert(self, session: AsyncSession, user_id: str, what: str) -> None:
        user = await accounts_repo.by_id(session, user_id)
        if user is not None:
            await security_alert(
                session, email=user.email, display_name=user.display_name, what=what
            )
