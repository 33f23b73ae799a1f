"""The runs alive on this replica: their cancel subscriptions, lease renewals and shutdown.

A cancel may reach any replica (``rpc.chat.v1.stream.cancel`` is served by
the queue group). The replica running a streamed run therefore listens on
``chat.runs.<stream_id>.cancel`` for as long as the run lives; the replica
that got the RPC checks the caller owns the run and requests that subject.
Nobody answering means no replica runs it any more. A suspended tenant's runs are stopped on
every replica at once: each listens on ``chat.runs.tenants.<tenant_id>.stop``, whose body is
the moment of the suspension; a run begun well after it (a stop heard late, once the tenant
was reactivated) goes on.

Each run holds a lease on its conversation (one run at a time per
conversation) and a reservation (its place among the tenant's and user's live
runs, and its message against the plan); one loop per replica renews both for
all its live runs, so a replica that dies releases them when the lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from agents import RunResultStreaming
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from agentbus_chat.conversations.repository import renew_leases
from agentbus_chat.metrics import LIVE_RUNS, RUNS
from agentbus_chat.runs.repository import interrupt_abandoned
from agentbus_chat.runs.reservations import Reservation, RunReservations
from agentbus_shared.cancellation import raise_if_cancelled
from agentbus_shared.contracts import subjects
from agentbus_shared.db import Database, after_commit
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

CancelReason = Literal["cancelled", "shutdown", "tenant_suspended"]

SUSPENSION_GRACE = timedelta(seconds=5)
"""Runs begun up to this long after a suspension are stopped with it: the gateway may have
admitted them as the suspension was made, and the clocks of auth and chat may differ."""


@dataclass
class LiveRun:
    """One run on this replica; ``cancel`` stops its agent run wherever it is."""

    run_id: str
    conversation_id: str
    stream_id: str | None = None
    tenant_id: str = ""
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    cancel_reason: CancelReason | None = None
    task: asyncio.Task[None] | None = None
    reservation: Reservation | None = None
    usage_recorded: bool = False
    """Whether the run's usage event was written (it used the model): its message stays counted."""
    _result: RunResultStreaming | None = field(default=None, repr=False)
    _subscription: Subscription | None = field(default=None, repr=False)
    _alive: Subscription | None = field(default=None, repr=False)

    def attach(self, result: RunResultStreaming) -> None:
        self._result = result
        if self.cancel_reason is not None:
            result.cancel(mode="immediate")

    def cancel(self, reason: CancelReason) -> None:
        if self.cancel_reason is not None:
            return
        self.cancel_reason = reason
        if self._result is not None and not self._result.is_complete:
            self._result.cancel(mode="immediate")


async def _answer_alive(msg: Msg) -> None:
    if msg.reply:
        with contextlib.suppress(Exception):
            await msg.respond(b"running")


class LiveRuns:
    """This replica's live runs, by run id."""

    def __init__(
        self,
        connection: Callable[[], NatsClient],
        db: Database,
        reservations: RunReservations,
        *,
        lease_seconds: float,
        shutdown_grace: float,
    ) -> None:
        self._connection = connection
        self._db = db
        self._reservations = reservations
        self._lease_seconds = lease_seconds
        self._shutdown_grace = shutdown_grace
        self._runs: dict[str, LiveRun] = {}
        self._held: set[str] = set()  # stream ids ``waiting`` answers for
        self._closing = False
        self._tenant_stops: Subscription | None = None

    def __len__(self) -> int:
        return len(self._runs)

    @property
    def accepting(self) -> bool:
        return not self._closing

    async def register(self, run: LiveRun) -> None:
        """Track ``run``; for a streamed run, listen for its cancel before anyone can send one."""
        if run.stream_id is not None:
            run._subscription = await self._connection().subscribe(
                subjects.chat_run_cancel(run.stream_id), cb=self._on_cancel(run)
            )
            if run.stream_id not in self._held:  # else ``waiting`` answers for it already
                run._alive = await self._connection().subscribe(
                    subjects.chat_run_alive(run.stream_id), cb=_answer_alive
                )
        self._runs[run.run_id] = run
        LIVE_RUNS.set(len(self._runs))

    @contextlib.asynccontextmanager
    async def waiting(self, stream_id: str | None) -> AsyncIterator[None]:
        """Answer ``stream.status`` for a named run from the moment this replica holds it,
        before it gets a run slot and a row, to its end (a replica that dies meanwhile then no
        longer answers, and the caller learns the run is lost)."""
        if stream_id is None:
            yield
            return
        claim = await self._connection().subscribe(
            subjects.chat_run_alive(stream_id), cb=_answer_alive
        )
        self._held.add(stream_id)
        try:
            yield
        finally:
            self._held.discard(stream_id)
            with contextlib.suppress(Exception):
                await claim.unsubscribe()

    async def unregister(self, run: LiveRun) -> None:
        """Forget ``run``: stop listening for it and give its reservation back."""
        self._runs.pop(run.run_id, None)
        LIVE_RUNS.set(len(self._runs))
        for subscription in (run._subscription, run._alive):
            if subscription is not None:
                with contextlib.suppress(Exception):
                    await subscription.unsubscribe()
        run._subscription = run._alive = None
        if run.reservation is not None:
            reservation, run.reservation = run.reservation, None
            await self._reservations.end(reservation, message_spent=run.usage_recorded)

    def spawn(self, run: LiveRun, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in the background for ``run``; it unregisters itself when done."""

        async def supervised() -> None:
            try:
                await work
            except Exception:
                log.exception("run.crashed", run_id=run.run_id)
            finally:
                await self.unregister(run)

        run.task = asyncio.create_task(supervised(), name=f"run-{run.run_id}")

    def stop_tenant(self, tenant_id: str, suspended_at: datetime | None = None) -> int:
        """Stop the tenant's live runs on this replica (it was suspended at ``suspended_at``;
        runs begun later than its grace go on); how many."""
        latest = suspended_at + SUSPENSION_GRACE if suspended_at is not None else None
        runs = [
            r
            for r in self._runs.values()
            if r.tenant_id == tenant_id and (latest is None or r.started_at <= latest)
        ]
        for run in runs:
            run.cancel("tenant_suspended")
        return len(runs)

    async def hear_tenant_stops(self) -> None:
        """Listen, on this replica, for the tenants whose runs must stop (every replica hears
        each stop: a tenant's runs may live on any of them)."""

        async def on_stop(msg: Msg) -> None:
            tenant_id = msg.subject.split(".")[3]
            stopped = self.stop_tenant(tenant_id, _moment(msg.data))
            log.info("runs.tenant_stopped", tenant_id=tenant_id, runs=stopped)

        self._tenant_stops = await self._connection().subscribe(
            subjects.CHAT_TENANT_RUNS_STOPS, cb=on_stop
        )

    def _on_cancel(self, run: LiveRun) -> Callable[[Msg], Coroutine[Any, Any, None]]:
        async def on_cancel(msg: Msg) -> None:
            log.info("run.cancel_requested", run_id=run.run_id)
            run.cancel("cancelled")
            if msg.reply:
                with contextlib.suppress(Exception):
                    await msg.respond(b"cancelling")

        return on_cancel

    async def keep_leases(self) -> None:
        """Renew the leases of live runs until cancelled; on cancel, wind the runs down first.

        Each round also records runs abandoned by a dead replica (lease expired, still
        ``running``) as interrupted, so no run stays ``running`` for ever.
        """
        try:
            while True:
                await asyncio.sleep(self._lease_seconds / 3)
                try:
                    await self._reservations.renew(
                        [r.reservation for r in self._runs.values() if r.reservation is not None]
                    )
                    await self._renew_leases()
                except Exception as exc:
                    raise_if_cancelled()
                    log.warning("run.lease_renewal_failed", error=type(exc).__name__)
        except asyncio.CancelledError:
            await self.shutdown()
            raise

    async def _renew_leases(self) -> None:
        """Renew the conversation leases of the live runs; record abandoned runs as interrupted."""
        run_ids = list(self._runs)
        async with self._db.transaction() as session:
            if run_ids:
                await renew_leases(session, run_ids, self._lease_seconds)
            abandoned = await interrupt_abandoned(session)

            async def count_abandoned() -> None:
                for run in abandoned:
                    RUNS.labels(agent=run.agent, outcome="interrupted").inc()
                    log.warning("run.abandoned", run_id=run.id)

            if abandoned:
                after_commit(session, count_abandoned)

    async def shutdown(self) -> None:
        """Stop every live run: each ends with a terminal frame and its partial reply saved."""
        self._closing = True
        runs = list(self._runs.values())
        for run in runs:
            run.cancel("shutdown")
        tasks = [r.task for r in runs if r.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self._shutdown_grace)
            for task in pending:
                task.cancel()


def _moment(body: bytes) -> datetime | None:
    """The suspension's moment a stop carries (none, or unreadable: every run stops)."""
    try:
        return datetime.fromisoformat(body.decode()) if body else None
    except (UnicodeDecodeError, ValueError):
        return None
