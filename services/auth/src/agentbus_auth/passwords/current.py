"""The current password, asked again before a change a stolen access token must not make alone
(a new password, a second factor): checked under the same lockout as a login."""

from __future__ import annotations

from agentbus_auth.accounts.repository import User
from agentbus_auth.errors import AccountLocked, InvalidCurrentPassword
from agentbus_auth.passwords.hasher import PasswordHasher
from agentbus_auth.throttle import LoginThrottle, Refused, account_key
from agentbus_shared.contracts.common import RequestMeta


class CurrentPassword:
    def __init__(self, hasher: PasswordHasher, throttle: LoginThrottle) -> None:
        self._hasher = hasher
        self._throttle = throttle

    async def confirm(self, user: User, password: str, meta: RequestMeta) -> None:
        """Return if ``password`` is the user's; raises :class:`AccountLocked` while the account
        is locked and :class:`InvalidCurrentPassword` (a failure toward the lockout) if not."""
        attempt = await self._throttle.begin(account_key(user.email), meta.client_ip)
        if isinstance(attempt, Refused):
            raise AccountLocked(retry_after=attempt.retry_after)
        if not (await self._hasher.verify(user.password_hash, password)).ok:
            await attempt.failed()
            raise InvalidCurrentPassword()
        await attempt.succeeded()
