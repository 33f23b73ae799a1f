"""Session and audit locations from a local MaxMind-format database (``AUTH_GEOIP_DATABASE``),
built here with ``mmdb-writer``: a login from a known network shows its country and city."""

from __future__ import annotations

from pathlib import Path

import pytest
from auth_support import AuthClient, ClientFor, StartAuth
from mmdb_writer import MMDBWriter
from netaddr import IPSet
from structlog.testing import capture_logs

from agentbus_auth.audit.locations import Locations, Place

SYDNEY_IP = "203.0.113.9"
BERLIN_IP = "2001:db8::7"


def write_database(path: Path) -> Path:
    """A city database knowing 203.0.113.0/24 (Sydney) and 2001:db8::/32 (Berlin)."""
    writer = MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="Test-City",
        languages=["en"],
        description="networks of the auth tests",
    )
    for network, country, city in (
        ("203.0.113.0/24", "AU", "Sydney"),
        ("2001:db8::/32", "DE", "Berlin"),
    ):
        writer.insert_network(
            IPSet([network]),
            {"country": {"iso_code": country}, "city": {"names": {"en": city}}},
        )
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def geoip_database(tmp_path: Path) -> Path:
    return write_database(tmp_path / "cities.mmdb")


async def test_known_networks_are_located_and_others_not(geoip_database: Path) -> None:
    locations = Locations(str(geoip_database))
    try:
        found = await locations.places([SYDNEY_IP, BERLIN_IP, "198.51.100.7", "not-an-ip", None])
    finally:
        locations.close()
    assert found == {
        SYDNEY_IP: Place(country="AU", city="Sydney"),
        BERLIN_IP: Place(country="DE", city="Berlin"),
    }


def test_a_database_of_another_kind_is_refused_at_start(tmp_path: Path) -> None:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="Test-ASN")
    writer.insert_network(IPSet(["203.0.113.0/24"]), {"autonomous_system_number": 64496})
    writer.to_db_file(str(tmp_path / "asn.mmdb"))
    with pytest.raises(ValueError, match="City or Country"):
        Locations(str(tmp_path / "asn.mmdb"))


async def test_a_record_of_another_shape_locates_nothing_and_is_logged(tmp_path: Path) -> None:
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="Test-City")
    writer.insert_network(IPSet(["203.0.113.0/24"]), {"country": "AU", "city": ["Sydney"]})
    writer.to_db_file(str(tmp_path / "odd.mmdb"))
    locations = Locations(str(tmp_path / "odd.mmdb"))
    try:
        with capture_logs() as logs:
            assert await locations.places([SYDNEY_IP, BERLIN_IP]) == {}
    finally:
        locations.close()
    assert [entry["event"] for entry in logs] == ["geoip.lookup_failed"]


async def test_without_a_database_nothing_is_located() -> None:
    assert await Locations(None).places([SYDNEY_IP]) == {}


async def test_a_login_from_a_known_network_shows_where_it_came_from(
    start_auth: StartAuth, client_for: ClientFor, geoip_database: Path
) -> None:
    client = client_for(await start_auth(geoip_database=str(geoip_database)))
    owner = await client.register()
    login = await client.call(
        "login", {"email": owner.email, "password": owner.password}, ip=SYDNEY_IP
    )
    sessions = await client.call("sessions.list", token=login.data["access_token"])
    places = {(s["ip"], s["country"], s["city"]) for s in sessions.data["items"]}
    assert places == {(SYDNEY_IP, "AU", "Sydney"), (client.ip, None, None)}

    logins = await client.call("audit.list", {"kind": "login.succeeded"}, token=owner.access_token)
    (entry,) = logins.data["items"]
    assert (entry["ip"], entry["country"], entry["city"]) == (SYDNEY_IP, "AU", "Sydney")


async def test_sessions_carry_no_location_when_no_database_is_set(client: AuthClient) -> None:
    owner = await client.register()
    await client.call("login", {"email": owner.email, "password": owner.password}, ip=SYDNEY_IP)
    sessions = await client.call("sessions.list", token=owner.access_token)
    assert {(s["country"], s["city"]) for s in sessions.data["items"]} == {(None, None)}
