"""Operator commands: ``agentbus billing stripe-setup`` and ``agentbus billing replay``."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx
import nats
import pytest
from billing_support import STRIPE_KEY, StandinServer, declare_streams, stripe_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from agentbus_shared.db import async_url


@dataclass
class Ran:
    exit_code: int
    stdout: str
    output: str


def agentbus(*args: str) -> Ran:
    """``agentbus <args>`` as an operator runs it: its own process (it configures logging)."""
    result = subprocess.run(
        [sys.executable, "-c", "from agentbus_shared.cli import main; main()", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=os.environ.copy(),
    )
    return Ran(result.returncode, result.stdout, result.stdout + result.stderr)


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, nats_url: str, standin_server: StandinServer
) -> dict[str, str]:
    standin_server.reset(None)
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "STRIPE_API_KEY": STRIPE_KEY,
        "BILLING_STRIPE_API_BASE": standin_server.url,
        "BILLING_TUNING__STRIPE_MAX_RETRIES": "0",
        "LOG_LEVEL": "WARNING",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def rows(database_url: str, query: str) -> list[tuple[object, ...]]:
    async def run() -> list[tuple[object, ...]]:
        engine = create_async_engine(async_url(database_url))
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(text(query))).all()]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_stripe_setup_twice_changes_nothing(
    cli_env: dict[str, str], standin_server: StandinServer
) -> None:
    webhook = "http://127.0.0.1:9/webhooks/stripe"
    first = agentbus("billing", "stripe-setup", "--webhook-url", webhook)
    assert first.exit_code == 0, first.output
    mapping = rows(
        cli_env["DATABASE_URL"], "SELECT plan, price_id FROM billing.plan_prices ORDER BY plan"
    )

    second = agentbus("billing", "stripe-setup", "--webhook-url", webhook)

    assert second.exit_code == 0, second.output
    assert "7 created" in first.output
    assert "0 created" in second.output
    assert [plan for plan, _ in mapping] == ["pro", "starter"]
    assert (
        rows(
            cli_env["DATABASE_URL"], "SELECT plan, price_id FROM billing.plan_prices ORDER BY plan"
        )
        == mapping
    )
    prices = httpx.get(
        f"{standin_server.url}/v1/prices", headers={"Authorization": f"Bearer {STRIPE_KEY}"}
    ).json()["data"]
    assert sorted(p["lookup_key"] for p in prices) == [
        "agentbus_pro_month",
        "agentbus_starter_month",
    ]
    meters = rows(
        cli_env["DATABASE_URL"],
        "SELECT meter, event_name FROM billing.stripe_meters ORDER BY meter",
    )
    assert meters == [("messages", "agentbus_messages"), ("tokens", "agentbus_tokens")]


def test_stripe_setup_needs_an_api_key(
    cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_API_KEY")
    result = agentbus("billing", "stripe-setup")
    assert result.exit_code != 0
    assert "STRIPE_API_KEY" in result.output


def test_replay_command_reapplies_from_the_stream(cli_env: dict[str, str]) -> None:
    event = stripe_event(
        "invoice.paid",
        {
            "id": "in_cli",
            "customer": "cus_cli",
            "status": "paid",
            "amount_due": 500,
            "amount_paid": 500,
            "currency": "usd",
            "created": int(time.time()),
            "subscription_details": {"metadata": {"tenant_id": "t_cli"}},
        },
        created=int(time.time()),
    )

    async def publish() -> None:
        nc = await nats.connect(cli_env["NATS_URL"])
        try:
            js = nc.jetstream()
            await declare_streams(js)
            await js.publish(
                "stripe.webhooks.invoice.paid",
                json.dumps(event).encode(),
                headers={"Nats-Msg-Id": event["id"]},
            )
        finally:
            await nc.close()

    asyncio.run(publish())

    dry = agentbus("billing", "replay", "--from-seq", "1", "--dry-run")
    applied = agentbus("billing", "replay", "--from-seq", "1")
    again = agentbus("billing", "replay", "--type", "invoice.paid")

    assert json.loads(dry.stdout) == {
        "count": 1,
        "applied": 1,
        "unchanged": 0,
        "failed": 0,
        "dry_run": True,
    }
    assert json.loads(applied.stdout)["applied"] == 1
    assert json.loads(again.stdout)["unchanged"] == 1
    assert rows(cli_env["DATABASE_URL"], "SELECT id, status FROM billing.stripe_events") == [
        (event["id"], "processed")
    ]


def test_billing_commands_are_part_of_the_operator_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from agentbus_shared.cli import main; main()", "billing", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "stripe-setup" in result.stdout
    assert "replay" in result.stdout
