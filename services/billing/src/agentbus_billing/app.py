"""Builds the billing service process: runtime, outbox relay, RPC operations, consumers."""

from agentbus_billing.models import SCHEMA, outbox
from agentbus_billing.settings import BillingSettings
from agentbus_shared.db import OutboxRelay
from agentbus_shared.runtime import ServiceRuntime


def build(
    settings: BillingSettings | None = None, *, configure_process: bool = True
) -> ServiceRuntime:
    settings = settings or BillingSettings()
    runtime = ServiceRuntime(
        "billing", settings, schema=SCHEMA, use_redis=True, configure_process=configure_process
    )
    assert runtime.db is not None
    relay = OutboxRelay(runtime.db, outbox, runtime.publisher)
    runtime.background("outbox-relay", relay.run)
    return runtime
