"""Where a tenant's webhook may point: https to a host whose every address is public.

Checked when the URL is stored, after resolving the host, so a name pointing into the
platform's own network (loopback, private, link-local, multicast, reserved, unspecified,
shared, or an IPv6 form carrying one of these: IPv4-mapped, 6to4, Teredo, NAT64) is refused;
delivery checks again when it connects. Only ports 443 and 8443 are accepted, a name ending
in a number (an IPv4 address in disguise) is refused, and the host is stored in its
canonical ASCII (IDNA) form.
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
from urllib.parse import SplitResult, urlsplit

from agentbus_auth.errors import InvalidWebhookUrl
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""The addresses a host name resolves to (for a port)."""

RESOLVE_TIMEOUT = 2.0
"""Seconds a webhook's host gets to resolve: well inside the gateway's wait for the reply
(``rpc_timeout``), so a resolver that hangs gets a refusal, not a gateway timeout."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

HTTPS_PORTS = frozenset({443, 8443})
"""The ports a webhook may use: HTTPS's own and its usual alternative, never an internal
service's (a database, a cache, the message bus) nor port 0."""
HTTP_PORTS = frozenset({80, 8080})
"""The plain-HTTP ports added in development."""
DEFAULT_PORTS = {"https": 443, "http": 80}

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


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64) and reaches."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if address in _NAT64:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def _is_public_unicast(address: Address) -> bool:
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def is_public(address: Address) -> bool:
    """Whether ``address`` is a public unicast address; an IPv6 address carrying an IPv4 one
    (mapped, 6to4, Teredo, NAT64) is judged by what it carries too."""
    embedded = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else []
    if embedded:
        return all(_is_public_unicast(inner) for inner in embedded)
    return _is_public_unicast(address)


def _ends_in_a_number(ascii_name: str) -> bool:
    """Whether the last label is a number (decimal or 0x hex), which resolvers may read as an
    IPv4 address in a short or odd form ("10.1", "0x7f.1")."""
    last = ascii_name.rstrip(".").rsplit(".", 1)[-1]
    return last.isdigit() or re.fullmatch(r"0x[0-9a-f]*", last) is not None


def _ascii_host(host: str) -> str | None:
    """The host name in its canonical ASCII (IDNA) form, or None if it is not a valid DNS name
    (so nothing odd reaches the resolver)."""
    try:
        ascii_name = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if len(ascii_name) > 253 or _HOST_NAME.fullmatch(ascii_name) is None:
        return None
    return None if _ends_in_a_number(ascii_name) else ascii_name


def _address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%", 1)[0])


def _refused(host: str, why: str) -> NoReturn:
    log.info("webhook.target_refused", host=host, why=why)
    raise InvalidWebhookUrl(NOT_PUBLIC)


class WebhookTargets:
    """Checks webhook URLs; ``allow_http`` only in development."""

    def __init__(self, *, allow_http: bool, resolve: Resolver = resolve_host) -> None:
        self._schemes = {"https", "http"} if allow_http else {"https"}
        self._ports = HTTPS_PORTS | (HTTP_PORTS if allow_http else frozenset())
        self._resolve = resolve

    async def check(self, url: str) -> str:
        """``url``, with its host in canonical ASCII form, if a webhook may point there;
        ``InvalidWebhookUrl`` with the reason if not."""
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            raise InvalidWebhookUrl("it is not a URL") from None
        if parts.scheme not in self._schemes:
            raise InvalidWebhookUrl("it must start with https://")
        if parts.username is not None or parts.password is not None:
            raise InvalidWebhookUrl("it must not carry a user name or password")
        port = self._port(parts)
        if not parts.hostname:
            raise InvalidWebhookUrl("it names no host")
        host, addresses = await self._addresses(parts.hostname, port)
        for address in addresses:
            if not is_public(address):
                _refused(host, "not_public")
        netloc = host if parts.port is None else f"{host}:{port}"
        return parts._replace(netloc=netloc).geturl()

    def _port(self, parts: SplitResult) -> int:
        try:
            explicit = parts.port
        except ValueError:
            raise InvalidWebhookUrl("its port is not a number between 1 and 65535") from None
        port = DEFAULT_PORTS[parts.scheme] if explicit is None else explicit
        if port not in self._ports:
            allowed = ", ".join(str(p) for p in sorted(self._ports))
            raise InvalidWebhookUrl(f"its port must be one of {allowed}")
        return port

    async def _addresses(self, host: str, port: int) -> tuple[str, list[Address]]:
        """The host as stored (an IPv6 address in brackets) and the addresses it stands for."""
        try:
            address = _address(host)
        except ValueError:
            pass
        else:
            return (f"[{address}]" if address.version == 6 else str(address)), [address]
        ascii_name = _ascii_host(host)
        if ascii_name is None:
            raise InvalidWebhookUrl("its host name is not valid")
        try:
            found = await self._resolve(ascii_name, port)
        except (OSError, TimeoutError, UnicodeError, ValueError):
            _refused(ascii_name, "unresolved")
        if not found:
            _refused(ascii_name, "unresolved")
        try:
            return ascii_name, [_address(text) for text in found]
        except ValueError:
            _refused(ascii_name, "not_an_address")
