"""Replay: read STRIPE_WEBHOOKS through an ephemeral ordered consumer and re-apply each event.

Applying is idempotent (the newest Stripe state wins and unchanged state is
not written), so replaying everything, once or twice, leaves the database as
one pass did. Events the store never saw, or saw fail, are stored and marked
processed on the way; a dry run applies each event in a transaction that is
rolled back, counting what would change.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Literal

import nats.errors
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from agentbus_billing.outcomes import Outcome
from agentbus_billing.webhooks.service import (
    StripeEvent,
    StripeEventProcessor,
    describe,
    storable,
)
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.billing import ReplayCommand, ReplayResult
from agentbus_shared.contracts.streams import STRIPE_WEBHOOKS
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

Progress = Callable[[int, int], Awaitable[None] | None]
ReplayOutcome = Outcome | Literal["failed"]


class WebhookReplayer:
    def __init__(self, processor: StripeEventProcessor, js: Callable[[], JetStreamContext]) -> None:
        self._processor = processor
        self._js = js

    async def replay(self, command: ReplayCommand, *, idle_timeout: float = 2.0) -> ReplayResult:
        js = self._js()
        info = await js.stream_info(STRIPE_WEBHOOKS.name)
        last_seq = info.state.last_seq
        if last_seq == 0:
            return ReplayResult(count=0, dry_run=command.dry_run)
        subject = subjects.stripe_webhook(command.type) if command.type else "stripe.webhooks.>"
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        if command.from_seq is not None:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=command.from_seq
            )
        elif command.since is not None:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME,
                opt_start_time=command.since.astimezone(UTC),
            )
        await self._processor.refresh()
        started = time.perf_counter()
        count = applied = unchanged = failed = 0
        sub = await js.subscribe(
            subject, stream=STRIPE_WEBHOOKS.name, ordered_consumer=True, config=config
        )
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=idle_timeout)
                except (TimeoutError, nats.errors.TimeoutError):
                    break
                seq = msg.metadata.sequence.stream
                if seq > last_seq:
                    break
                count += 1
                outcome = await self._replay_one(msg.data, seq, dry_run=command.dry_run)
                if outcome == "applied":
                    applied += 1
                    log.info("stripe.replay_applied", stream_seq=seq, dry_run=command.dry_run)
                elif outcome == "failed":
                    failed += 1
                else:
                    unchanged += 1
                if seq >= last_seq or msg.metadata.num_pending == 0:
                    break
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        elapsed = time.perf_counter() - started
        log.info(
            "stripe.replayed",
            count=count,
            applied=applied,
            failed=failed,
            dry_run=command.dry_run,
            seconds=round(elapsed, 3),
        )
        return ReplayResult(
            count=count,
            applied=applied,
            unchanged=unchanged,
            failed=failed,
            dry_run=command.dry_run,
        )

    async def _replay_one(self, data: bytes, seq: int, *, dry_run: bool) -> ReplayOutcome:
        try:
            payload = storable(_json(data))
            event = StripeEvent.model_validate(payload)
        except (ValueError, RecursionError):  # not JSON, or not a Stripe event (ValidationError)
            return "failed"
        try:
            if dry_run:
                return await self._processor.dry_run(event)
            outcome = await self._processor.reapply(event, payload, seq)
            if outcome == "applied":
                log.info("stripe.replay_changed", stripe_event=event.id, type=event.type)
            return outcome
        except Exception as exc:
            log.warning("stripe.replay_failed", stripe_event=event.id, error=describe(exc))
            if not dry_run:
                await self._processor.record_failure(
                    event.id, event.type, payload, seq, exc, dead=False
                )
            return "failed"


def _json(data: bytes) -> dict[str, object]:
    value = json.loads(data)
    return value if isinstance(value, dict) else {}
