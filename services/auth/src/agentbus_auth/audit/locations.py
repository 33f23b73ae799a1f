"""Where a client IP is: country and city from the operator's MaxMind-format database.

The database (``AUTH_GEOIP_DATABASE``) is opened once; without it nothing is located. It must
be a City or Country database (the service does not start with another kind); a lookup the
file cannot answer (corrupt, or data of another shape) is logged and locates nothing. Nothing
is looked up over the network: lookups read the local file, off the event loop. Locations are
derived when sessions and audit entries are read, so no location is stored beyond the IP.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

import geoip2.database
import geoip2.errors
import maxminddb

from agentbus_shared.contracts.auth import SessionView
from agentbus_shared.contracts.common import Page
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

KNOWN_KINDS = ("City", "Country")
"""The database kinds locations are read from (by ``database_type``, e.g. GeoLite2-City)."""


@dataclass(frozen=True)
class Place:
    country: str | None
    """ISO 3166-1 alpha-2 code."""
    city: str | None


class Locations:
    """Locates IPs with the configured database; locates nothing without one."""

    def __init__(self, database: str | None) -> None:
        self._reader = geoip2.database.Reader(database) if database else None
        kind = self._reader.metadata().database_type if self._reader else ""
        if self._reader is not None and not any(known in kind for known in KNOWN_KINDS):
            self._reader.close()
            raise ValueError(
                f"AUTH_GEOIP_DATABASE is a {kind!r} database; a City or Country one is needed"
            )
        self._has_cities = "City" in kind

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()

    async def places(self, ips: Iterable[str | None]) -> dict[str, Place]:
        """The place of each of ``ips`` the database knows (unknown and missing IPs left out)."""
        wanted = {ip for ip in ips if ip}
        if self._reader is None or not wanted:
            return {}
        return await asyncio.to_thread(self._locate_all, wanted)

    def _locate_all(self, ips: set[str]) -> dict[str, Place]:
        found = {ip: self._locate(ip) for ip in ips}
        return {ip: place for ip, place in found.items() if place is not None}

    def _locate(self, ip: str) -> Place | None:
        assert self._reader is not None
        try:
            if self._has_cities:
                city = self._reader.city(ip)
                return Place(country=city.country.iso_code, city=city.city.name)
            return Place(country=self._reader.country(ip).country.iso_code, city=None)
        except geoip2.errors.AddressNotFoundError:
            return None
        except ValueError as exc:
            if not _is_address(ip):
                return None
            log.warning("geoip.lookup_failed", error=type(exc).__name__)
            return None
        except (maxminddb.InvalidDatabaseError, TypeError, KeyError) as exc:
            log.warning("geoip.lookup_failed", error=type(exc).__name__)
            return None

    async def place_sessions(self, page: Page[SessionView]) -> Page[SessionView]:
        """``page`` with each session's country and city, where its IP is known."""
        found = await self.places(item.ip for item in page.items)
        if not found:
            return page
        items = [
            item.model_copy(update=_place_fields(found.get(item.ip or ""))) for item in page.items
        ]
        return Page[SessionView](items=items, next_cursor=page.next_cursor)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _place_fields(place: Place | None) -> dict[str, str | None]:
    return {"country": place.country, "city": place.city} if place else {}
