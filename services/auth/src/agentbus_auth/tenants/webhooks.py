"""Where a tenant's webhook may point: https to a host whose every address is public.

Checked when the URL is stored, after resolving the host, so a name pointing into the
platform's own network (loopback, private, link-local, multicast, reserved, unspecified,
shared or IPv4-mapped forms of these) is refused; delivery checks again when it connects.
A host that does not resolve gets the same answer as one that is not public (the detail is
logged), so the check cannot be used to learn which internal names exist.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from typing import NoReturn
from urllib.parse import urlsplit

from agentbus_auth.errors import InvalidWebhookUrl
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""The addresses a host name resolves to (for a port)."""

RESOLVE_TIMEOUT = 5.0
"""Seconds a webhook's host gets to resolve."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

NOT_PUBLIC = "it must point to a public host"
"""The one answer for a host that is not public or does not resolve."""

_HOST_NAME = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.?"
)


async def resolve_host(host: str, port: int) -> list[str]:
    """The host's addresses from the system resolver, off the event loop."""
    infos = await asyncio.wait_for(
        asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM),
        timeout=RESOLVE_TIMEOUT,
    )
    return [str(info[4][0]) for info in infos]


def is_public(address: Address) -> bool:
    """Whether ``address`` is a public unicast address (IPv4-mapped IPv6 judged as its IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def _is_host_name(host: str) -> bool:
    """A DNS name (international names in their ASCII form), so nothing odd reaches the resolver."""
    try:
        ascii_name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return len(ascii_name) <= 253 and _HOST_NAME.fullmatch(ascii_name) is not None


def _address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%", 1)[0])


def _refused(host: str, why: str) -> NoReturn:
    log.info("webhook.target_refused", host=host, why=why)
    raise InvalidWebhookUrl(NOT_PUBLIC)


class WebhookTargets:
    """Checks webhook URLs; ``allow_http`` only in development."""

    def __init__(self, *, allow_http: bool, resolve: Resolver = resolve_host) -> None:
        self._schemes = {"https", "http"} if allow_http else {"https"}
        self._resolve = resolve

    async def check(self, url: str) -> str:
        """``url`` if a webhook may point there; ``InvalidWebhookUrl`` with the reason if not."""
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            raise InvalidWebhookUrl("it is not a URL") from None
        if parts.scheme not in self._schemes:
            raise InvalidWebhookUrl("it must start with https://")
        if parts.username is not None or parts.password is not None:
            raise InvalidWebhookUrl("it must not carry a user name or password")
        host = parts.hostname
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise InvalidWebhookUrl("its port is not a number between 1 and 65535") from None
        if not host:
            raise InvalidWebhookUrl("it names no host")
        for address in await self._addresses(host, port):
            if not is_public(address):
                _refused(host, "not_public")
        return parts.geturl()

    async def _addresses(self, host: str, port: int) -> list[Address]:
        try:
            return [_address(host)]
        except ValueError:
            pass
        if not _is_host_name(host):
            raise InvalidWebhookUrl("its host name is not valid")
        try:
            found = await self._resolve(host, port)
        except (OSError, TimeoutError, UnicodeError, ValueError):
            _refused(host, "unresolved")
        if not found:
            _refused(host, "unresolved")
        try:
            return [_address(text) for text in found]
        except ValueError:
            _refused(host, "not_an_address")
