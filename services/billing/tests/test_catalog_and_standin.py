"""The plan catalog as data, billing periods, and the Stripe stand-in's own pages."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from billing_support import STRIPE_KEY, StandinServer

from agentbus_billing.periods import calendar_month, from_unix, period_at
from agentbus_billing.plans.catalog import load_catalog
from agentbus_shared.errors import NotFound

AUTH = {"Authorization": f"Bearer {STRIPE_KEY}"}


def test_built_in_catalog_has_free_starter_and_pro() -> None:
    catalog = load_catalog()
    assert catalog.default.code == "free"
    assert [p.code for p in catalog.plans] == ["free", "starter", "pro"]
    assert catalog.by_lookup_key("agentbus_pro_month") == catalog.get("pro")
    assert {m.meter for m in catalog.meters} == {"messages", "tokens"}
    with pytest.raises(NotFound):
        catalog.get("gold")


def test_catalog_file_replaces_the_built_in_one(tmp_path: Path) -> None:
    path = tmp_path / "plans.toml"
    path.write_text(
        'default_plan = "hobby"\n'
        '[[plans]]\ncode = "hobby"\nname = "Hobby"\nprice_cents = 0\n'
        "limits = { messages = 5 }\n"
    )
    catalog = load_catalog(path)
    assert catalog.default.limits.messages == 5
    assert catalog.default.limits.tokens is None  # unlimited


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            'default_plan = "x"\n[[plans]]\ncode = "free"\nname = "F"\nprice_cents = 0\n',
            "default_plan",
        ),
        (
            'default_plan = "free"\n[[plans]]\ncode = "free"\nname = "F"\nprice_cents = 0\n'
            '[[plans]]\ncode = "paid"\nname = "P"\nprice_cents = 5\n',
            "lookup_key",
        ),
        (
            'default_plan = "free"\n[[plans]]\ncode = "free"\nname = "F"\nprice_cents = 0\n'
            '[[plans]]\ncode = "free"\nname = "G"\nprice_cents = 0\n',
            "unique",
        ),
    ],
)
def test_invalid_catalogs_are_refused(tmp_path: Path, body: str, reason: str) -> None:
    path = tmp_path / "plans.toml"
    path.write_text(body)
    with pytest.raises(ValueError, match=reason):
        load_catalog(path)


def test_periods_follow_stripe_and_else_the_calendar_month() -> None:
    at = datetime(2026, 12, 15, tzinfo=UTC)
    assert calendar_month(at).start == datetime(2026, 12, 1, tzinfo=UTC)
    assert calendar_month(at).end == datetime(2027, 1, 1, tzinfo=UTC)
    start, end = datetime(2026, 12, 10, tzinfo=UTC), datetime(2027, 1, 10, tzinfo=UTC)
    assert period_at(at, start, end).start == start
    assert period_at(datetime(2027, 2, 1, tzinfo=UTC), start, end).start == datetime(
        2027, 2, 1, tzinfo=UTC
    )
    assert from_unix("1790000000") == datetime.fromtimestamp(1790000000, UTC)
    assert from_unix(True) is None
    assert from_unix("soon") is None


async def test_standin_checkout_page_pays_with_a_test_card(standin_server: StandinServer) -> None:
    standin_server.reset(None)
    async with httpx.AsyncClient(base_url=standin_server.url, headers=AUTH) as client:
        await client.post("/v1/products", data={"id": "prod_x", "name": "X"})
        price = (
            await client.post(
                "/v1/prices",
                data={
                    "product": "prod_x",
                    "unit_amount": "500",
                    "currency": "usd",
                    "recurring[interval]": "month",
                },
            )
        ).json()
        customer = (await client.post("/v1/customers", data={"email": "a@example.com"})).json()
        session = (
            await client.post(
                "/v1/checkout/sessions",
                data={
                    "mode": "subscription",
                    "customer": customer["id"],
                    "line_items[0][price]": price["id"],
                    "line_items[0][quantity]": "1",
                    "success_url": "http://app.example/ok",
                },
            )
        ).json()
        page = await client.get(f"/checkout/{session['id']}")
        paid = await client.post(f"/checkout/{session['id']}/pay", follow_redirects=False)
        again = await client.post(f"/_standin/checkout/sessions/{session['id']}/complete")
        fetched = (await client.get(f"/v1/checkout/sessions/{session['id']}")).json()
        portal = (
            await client.post(
                "/v1/billing_portal/sessions",
                data={"customer": customer["id"], "return_url": "http://app.example/billing"},
            )
        ).json()
        portal_page = await client.get(portal["url"].removeprefix(standin_server.url))
        unauthenticated = await client.get("/v1/prices", headers={"Authorization": ""})
        bad_mode = await client.post("/v1/checkout/sessions", data={"mode": "payment"})
    assert "5.00 USD" in page.text
    assert paid.status_code == 303
    assert paid.headers["location"] == "http://app.example/ok"
    assert again.status_code == 400
    assert fetched["status"] == "complete"
    assert fetched["subscription"].startswith("sub_")
    assert "http://app.example/billing" in portal_page.text
    assert unauthenticated.status_code == 401
    assert bad_mode.status_code == 400


async def test_standin_refuses_meter_events_for_unknown_meters(
    standin_server: StandinServer,
) -> None:
    standin_server.reset(None)
    async with httpx.AsyncClient(base_url=standin_server.url, headers=AUTH) as client:
        refused = await client.post(
            "/v1/billing/meter_events",
            data={
                "event_name": "nope",
                "payload[stripe_customer_id]": "cus_x",
                "payload[value]": "1",
            },
        )
        await client.post("/v1/products", data={"id": "prod_y", "name": "Y"})
        duplicate_lookup = [
            await client.post(
                "/v1/prices",
                data={
                    "product": "prod_y",
                    "unit_amount": "1",
                    "currency": "usd",
                    "lookup_key": "k",
                },
            )
            for _ in range(2)
        ]
    assert refused.status_code == 400
    assert [r.status_code for r in duplicate_lookup] == [200, 400]


def test_standin_keeps_its_objects_across_restarts_with_a_data_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    from agentbus_shared.servers import free_port
    from agentbus_shared.testing.waiting import eventually_blocking

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "agentbus_stripe_standin",
        "--port",
        str(port),
        "--data-file",
        str(tmp_path / "standin.pickle"),
    ]

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/_standin/health").status_code == 200
        except httpx.TransportError:
            return False

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            eventually_blocking(healthy, what="the stand-in answers", timeout=30, interval=0.1)
        except AssertionError:
            process.kill()
            raise
        return process

    first = start()
    try:
        customer = httpx.post(f"{url}/v1/customers", headers=AUTH, data={"email": "k@example.com"})
        httpx.post(f"{url}/v1/products", headers=AUTH, data={"id": "prod_k", "name": "K"})
        price = httpx.post(
            f"{url}/v1/prices",
            headers=AUTH,
            data={"product": "prod_k", "unit_amount": "700", "currency": "usd", "lookup_key": "kk"},
        )
    finally:
        first.terminate()
        first.wait(10)
    second = start()
    try:
        again = httpx.get(f"{url}/v1/customers/{customer.json()['id']}", headers=AUTH)
        prices = httpx.get(f"{url}/v1/prices", headers=AUTH, params={"lookup_keys[]": "kk"})
    finally:
        second.terminate()
        second.wait(10)
    assert again.status_code == 200
    assert [p["id"] for p in prices.json()["data"]] == [price.json()["id"]]
