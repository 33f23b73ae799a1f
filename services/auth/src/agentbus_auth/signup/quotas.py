"""Signup quotas: registrations and access requests per client IP and per email domain, counted
in Redis over a fixed window (``AUTH_TUNING__SIGNUP_*``)."""

from __future__ import annotations

from dataclasses import dataclass

from agentbus_auth.errors import SignupQuotaExceeded
from agentbus_auth.throttle import LoginThrottle


@dataclass(frozen=True)
class SignupLimits:
    window: int
    per_ip: int
    per_domain: int


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


class SignupQuotas:
    """Counts every signup attempt against its client IP, then its email domain."""

    def __init__(self, throttle: LoginThrottle, limits: SignupLimits) -> None:
        self._throttle = throttle
        self._limits = limits

    async def take(self, email: str, client_ip: str | None) -> None:
        """Count one attempt; raises ``SignupQuotaExceeded`` (with its Retry-After) when the IP
        or the domain has used up its quota for the window."""
        limits = self._limits
        await self._count(f"signup-ip:{client_ip or '-'}", limits.per_ip, "ip")
        await self._count(f"signup-domain:{email_domain(email)}", limits.per_domain, "domain")

    async def _count(self, key: str, limit: int, quota: str) -> None:
        if await self._throttle.within_rate(key, limit=limit, window=self._limits.window):
            return
        retry_after = await self._throttle.rate_spent(key, limit=limit)
        raise SignupQuotaExceeded(retry_after=max(1, retry_after), details={"quota": quota})
