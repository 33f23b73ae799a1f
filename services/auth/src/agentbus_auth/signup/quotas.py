"""Signup quotas: registrations and access requests per client IP and per email domain, counted
apart in Redis over a fixed window (``AUTH_TUNING__SIGNUP_*``).

Access requests create no account and send no mail, so they never use up the registrations of an
address or a domain: a stranger flooding the request form for a domain cannot close sign-up to it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Literal

from agentbus_auth.errors import SignupQuotaExceeded
from agentbus_auth.settings import idna_host
from agentbus_auth.throttle import LoginThrottle

SignupAttempt = Literal["registration", "access_request"]
"""What an attempt counts against: each has its own counters."""


@dataclass(frozen=True)
class SignupLimits:
    window: int
    per_ip: int
    per_domain: int


_PUBLIC_SECOND_LEVELS = frozenset(
    {"ac", "co", "com", "edu", "gob", "go", "gov", "ltd", "ne", "net", "or", "org", "plc", "sch"}
)
"""Second-level labels under which a country's registry hands out names (``example.co.uk``)."""


def registrable_domain(email: str) -> str:
    """The registrable domain of ``email`` in its IDNA form (``mail.Bücher.example`` →
    ``xn--bcher-kva.example``, ``mail.example.co.uk`` → ``example.co.uk``): the last two labels,
    or three under a public second level of a country code. Subdomains and spellings of one
    domain thus share its quota."""
    labels = _idna(email.rpartition("@")[2].strip().rstrip(".")).split(".")
    country_registry = (
        len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in _PUBLIC_SECOND_LEVELS
    )
    return ".".join(labels[-3:] if country_registry else labels[-2:])


def _idna(host: str) -> str:
    try:
        return idna_host(host)
    except UnicodeError:
        return host.lower()  # not a name IDNA can encode: counted as written


def client_network(client_ip: str | None) -> str:
    """The network ``client_ip`` is counted in: the address for IPv4 (an IPv4-mapped IPv6 address
    too), its /64 for IPv6, since one subscriber holds a whole /64.

    Without an address: ``-``, one bucket all such calls share, so they are limited together,
    never not at all. The gateway reports an address for every request it forwards; only a caller
    on the bus itself can leave it out.
    """
    if client_ip is None:
        return "-"
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class SignupQuotas:
    """Counts signup attempts of each kind against their client IP and their email domain."""

    def __init__(self, throttle: LoginThrottle, limits: SignupLimits) -> None:
        self._throttle = throttle
        self._limits = limits

    async def take_address(self, attempt: SignupAttempt, client_ip: str | None) -> None:
        """Count one ``attempt`` from the network of ``client_ip``; raises
        ``SignupQuotaExceeded`` (with its Retry-After) once that network has used up its quota of
        them for the window."""
        key = f"signup-ip:{attempt}:{client_network(client_ip)}"
        await self._count(key, self._limits.per_ip, "ip")

    async def take_domain(self, attempt: SignupAttempt, email: str) -> None:
        """Count one ``attempt`` for the domain of ``email``; raises ``SignupQuotaExceeded`` once
        the domain has used up its quota of them for the window."""
        key = f"signup-domain:{attempt}:{registrable_domain(email)}"
        await self._count(key, self._limits.per_domain, "domain")

    async def _count(self, key: str, limit: int, quota: str) -> None:
        if await self._throttle.within_rate(key, limit=limit, window=self._limits.window):
            return
        retry_after = await self._throttle.rate_spent(key, limit=limit)
        raise SignupQuotaExceeded(retry_after=max(1, retry_after), details={"quota": quota})
