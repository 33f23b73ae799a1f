"""``agentbus billing …``: operator commands (stripe-setup, replay).

Both run in this process against ``DATABASE_URL``, ``NATS_URL`` and the Stripe
settings, with the same code the service runs.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from agentbus_billing.app import BillingParts

app = typer.Typer(help="Billing: Stripe provisioning and webhook replay.", no_args_is_help=True)


@asynccontextmanager
async def _billing(connect_nats: bool) -> AsyncIterator[BillingParts]:
    # Imported here: `agentbus --help` and other services' commands need not load Stripe.
    from agentbus_billing.app import BillingParts, build
    from agentbus_billing.settings import BillingSettings
    from agentbus_shared.logging import configure_logging

    settings = BillingSettings()
    configure_logging("billing-cli", level=settings.log_level, fmt="console")
    runtime = build(settings, configure_process=False)
    if connect_nats:
        await runtime.broker.connect()
    try:
        yield runtime.parts_as(BillingParts)
    finally:
        if connect_nats:
            await runtime.broker.stop()
        await runtime.database.dispose()
        await runtime.redis_client.aclose()


@app.command("stripe-setup")
def stripe_setup(
    webhook_url: Annotated[
        str | None,
        typer.Option(help="Register this /webhooks/stripe URL (default BILLING_WEBHOOK_URL)."),
    ] = None,
) -> None:
    """Provision products, prices (lookup keys) and meters in Stripe; write the plan -> price map."""

    from agentbus_billing.plans.setup import provision

    async def run() -> None:
        async with _billing(connect_nats=False) as billing:
            if not billing.stripe.configured:
                raise typer.BadParameter("STRIPE_API_KEY is not set")
            report = await provision(
                billing.stripe,
                billing.db,
                billing.catalog,
                webhook_url=webhook_url or billing.settings.webhook_url,
            )
        for kind, name, change in report.changes:
            typer.echo(f"{kind:<17} {name:<32} {change}")
        typer.echo(f"{report.created} created")

    asyncio.run(run())


@app.command()
def replay(
    since: Annotated[
        datetime | None, typer.Option(help="Replay events stored since this time (ISO 8601).")
    ] = None,
    from_seq: Annotated[
        int | None, typer.Option("--from-seq", min=1, help="Replay from this stream sequence.")
    ] = None,
    event_type: Annotated[
        str | None, typer.Option("--type", help="Only this Stripe event type (invoice.paid).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would change; change nothing.")
    ] = False,
) -> None:
    """Re-apply Stripe events from STRIPE_WEBHOOKS (idempotent: replaying twice changes nothing)."""
    from agentbus_shared.contracts.billing import ReplayCommand

    if since is not None and from_seq is not None:
        raise typer.BadParameter("give either --since or --from-seq")
    command = ReplayCommand(since=since, from_seq=from_seq, type=event_type, dry_run=dry_run)

    async def run() -> None:
        async with _billing(connect_nats=True) as billing:
            result = await billing.replayer.replay(command)
        typer.echo(json.dumps(result.model_dump()))

    asyncio.run(run())
