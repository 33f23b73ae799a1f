"""Builds the chat service process: runtime, outbox relay, RPC operations, consumers."""

from agentbus_chat.models import SCHEMA, outbox
from agentbus_chat.settings import ChatSettings
from agentbus_shared.db import OutboxRelay
from agentbus_shared.runtime import ServiceRuntime


def build(
    settings: ChatSettings | None = None, *, configure_process: bool = True
) -> ServiceRuntime:
    settings = settings or ChatSettings()
    runtime = ServiceRuntime(
        "chat", settings, schema=SCHEMA, use_redis=False, configure_process=configure_process
    )
    assert runtime.db is not None
    relay = OutboxRelay(runtime.db, outbox, runtime.publisher)
    runtime.background("outbox-relay", relay.run)
    return runtime
