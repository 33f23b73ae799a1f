"""Signup quotas: registrations and access requests per client IP and per email domain, counted
apart in Redis over a fixed window (``AUTH_TUNING__SIGNUP_*``).

Access requests create no account and send no mail, so they never use up the registrations of an
address or a domain: a stranger flooding the request form for a domain cannot close sign-up to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agentbus_auth.errors import SignupQuotaExceeded
from agentbus_auth.throttle import LoginThrottle

SignupAttempt = Literal["registration", "access_request"]
"""What an attempt counts against: each has its own counters."""


@dataclass(frozen=True)
class SignupLimits:
    window: int
    per_ip: int
    per_domain: int


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


class SignupQuotas:
    """Counts signup attempts of each kind against their client IP and their email domain."""

    def __init__(self, throttle: LoginThrottle, limits: SignupLimits) -> None:
        self._throttle = throttle
        self._limits = limits

    async def take_address(self, attempt: SignupAttempt, client_ip: str | None) -> None:
        """Count one ``attempt`` from ``client_ip``; raises ``SignupQuotaExceeded`` (with its
        Retry-After) once the address has used up its quota of them for the window."""
        key = f"signup-ip:{attempt}:{client_ip or '-'}"
        await self._count(key, self._limits.per_ip, "ip")

    async def take_domain(self, attempt: SignupAttempt, email: str) -> None:
        """Count one ``attempt`` for the domain of ``email``; raises ``SignupQuotaExceeded`` once
        the domain has used up its quota of them for the window."""
        key = f"signup-domain:{attempt}:{email_domain(email)}"
        await self._count(key, self._limits.per_domain, "domain")

    async def _count(self, key: str, limit: int, quota: str) -> None:
        if await self._throttle.within_rate(key, limit=limit, window=self._limits.window):
            return
        retry_after = await self._throttle.rate_spent(key, limit=limit)
        raise SignupQuotaExceeded(retry_after=max(1, retry_after), details={"quota": quota})
