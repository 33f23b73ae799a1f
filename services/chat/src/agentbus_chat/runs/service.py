"""Rules of a chat run: accept it, run the agents, persist what happened, account for it.

A run goes through three steps:

1. :meth:`ChatService.accept` — scope, agent, quota (402/429 before any
   model call), the feature picking the agent needs (403 ``feature_not_in_plan``; the
   tenant's features also decide which handoffs the agents are offered),
   the run's reservation (its place among the tenant's and user's live runs,
   429 past the caps, and its message against the plan),
   the conversation (created or owned), its lease (409 while another run
   writes into it), the run row and the user's message, in one transaction.
2. :meth:`ChatService.execute` — once the run has one of the replica's run
   slots (plain and streamed runs alike), the Agents SDK run with the
   conversation's memory, its events mapped to frames; stopped by a cancel,
   the run timeout, the input guardrail or an error, always with exactly one
   terminal frame.
3. ``_finish`` — the reply (complete, or partial after a cancel), tool
   results, the run's outcome, the released lease and the usage event (id =
   run id) in one transaction, before the terminal frame goes out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

import nats.errors
import openai
from agents import (
    Agent,
    InputGuardrailTripwireTriggered,
    MaxTurnsExceeded,
    ModelBehaviorError,
    RunConfig,
    Runner,
)
from nats.aio.client import Client as NatsClient

from agentbus_chat.agents.catalog import TRIAGE
from agentbus_chat.agents.context import ChatContext
from agentbus_chat.agents.guardrails import Screening, input_screen
from agentbus_chat.conversations import repository as conversations
from agentbus_chat.conversations.memory import ConversationMemory
from agentbus_chat.conversations.repository import Owner
from agentbus_chat.errors import (
    ShuttingDown,
    StreamNotFound,
    UnknownAgent,
)
from agentbus_chat.llm.backends import ModelBackend, RunModelProvider, UsageLedger
from agentbus_chat.metrics import REFUSED, RUN_SECONDS, RUN_TOKENS, RUNS
from agentbus_chat.models import outbox
from agentbus_chat.runs import repository as runs
from agentbus_chat.runs.frames import FrameSink, SilentSink
from agentbus_chat.runs.outcome import (
    MESSAGES,
    REPLY_STATUS,
    STOPPED,
    AcceptedRun,
    Outcome,
    error_for,
)
from agentbus_chat.runs.quota import QuotaGate
from agentbus_chat.runs.registry import LiveRun, LiveRuns
from agentbus_chat.runs.reservations import RunReservations
from agentbus_chat.runs.start import RunStart, record_start
from agentbus_chat.runs.tracker import RunTracker
from agentbus_chat.settings import ChatSettings
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.chat import (
    ChatRequest,
    ChatResult,
    RunEnd,
    StreamCancelled,
    StreamStatus,
    Usage,
)
from agentbus_shared.contracts.common import Principal
from agentbus_shared.contracts.features import Feature, FeatureSet
from agentbus_shared.db import Database, after_commit
from agentbus_shared.errors import AgentbusError, GatewayTimeout
from agentbus_shared.ids import new_id
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


class ChatService:
    """Chat runs: accepted, run, saved and accounted for; cancelled and asked after."""

    def __init__(
        self,
        *,
        settings: ChatSettings,
        db: Database,
        team: dict[str, Agent[ChatContext]],
        backend: ModelBackend,
        quota: QuotaGate,
        reservations: RunReservations,
        live: LiveRuns,
        connection: Callable[[], NatsClient],
        instance: str,
        features_to_pick: Mapping[str, Feature] | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._team = team
        self._features_to_pick = features_to_pick or {}
        self._backend = backend
        self._quota = quota
        self._reservations = reservations
        self._live = live
        self._connection = connection
        self._instance = instance
        self._run_slots = asyncio.Semaphore(settings.tuning.run_slots)
        self._guardrail = input_screen(settings.tuning.max_input_tokens)

    # ------------------------------------------------------------ the two entry points
    async def chat(
        self, principal: Principal, request: ChatRequest, *, run_ref: str | None = None
    ) -> ChatResult:
        """Run to the end and answer with the whole reply (``POST /chat``).

        ``run_ref`` names the run like a stream id (no frames are sent): the gateway asks
        :meth:`status` with it while it waits, to learn of a replica that died mid-run, or
        while the run waited for one of the replica's ``run_slots``.
        """
        async with self._live.waiting(run_ref), self._run_slots:
            live = LiveRun(
                run_id=new_id("run"),
                conversation_id="",
                stream_id=run_ref,
                tenant_id=principal.tenant_id,
            )
            sink = SilentSink()
            run = await self.accept(principal, request, live, sink)
            try:
                outcome = await self.execute(run, sink, live)
            finally:
                await self._live.unregister(live)
        if outcome.status == "completed":
            return ChatResult(
                conversation_id=run.conversation_id,
                agent=outcome.agent,
                output=outcome.output,
                usage=outcome.usage,
            )
        raise error_for(outcome)

    async def start_stream(
        self, principal: Principal, request: ChatRequest, stream_id: str, sink: FrameSink
    ) -> AcceptedRun:
        """Accept a streamed run and run it in the background (``stream.start``), once it has
        one of the replica's run slots; meanwhile it is ``running`` to ``stream.status`` and can
        be cancelled."""
        live = LiveRun(
            run_id=new_id("run"),
            conversation_id="",
            stream_id=stream_id,
            tenant_id=principal.tenant_id,
        )
        run = await self.accept(principal, request, live, sink)

        async def work() -> None:
            async with self._run_slots:
                await self.execute(run, sink, live)

        self._live.spawn(live, work())
        return run

    async def cancel(self, principal: Principal, stream_id: str) -> StreamCancelled:
        """Stop the caller's streamed run, on whichever replica runs it."""
        ended = await self._ask_replica(principal, stream_id, subjects.chat_run_cancel(stream_id))
        return StreamCancelled(stream_id=stream_id, status=ended or "cancelling")

    async def status(self, principal: Principal, stream_id: str) -> StreamStatus:
        """How the caller's streamed run stands; a run no replica runs any more is recorded as
        interrupted (its replica died), so the gateway can end the client's stream. A named
        ``POST /chat`` a replica holds but has not started (no row yet) is ``running``."""
        alive = subjects.chat_run_alive(stream_id)
        try:
            ended = await self._ask_replica(principal, stream_id, alive)
        except StreamNotFound:
            if not await self._replica_answers(alive):
                raise
            ended = None
        return StreamStatus(stream_id=stream_id, status=ended or "running")

    async def _ask_replica(
        self, principal: Principal, stream_id: str, subject: str
    ) -> RunEnd | None:
        """Request ``subject`` of the replica running the caller's run. None when it answered;
        otherwise how the run ended (already, or ``interrupted`` now: no replica runs it)."""
        async with self._db.session() as session:
            run = await runs.by_stream(session, Owner.of(principal), stream_id)
        if run is None:
            raise StreamNotFound()
        if run.status != "running":
            return run.status
        if not await self._replica_answers(subject):
            return await self._orphaned(run)
        return None

    async def _replica_answers(self, subject: str) -> bool:
        """Whether a replica listens on a run's ``subject`` (False: no responders)."""
        try:
            await self._connection().request(
                subject, b"", timeout=self._settings.tuning.rpc_timeout
            )
        except nats.errors.NoRespondersError:
            return False
        except (nats.errors.TimeoutError, TimeoutError):
            raise GatewayTimeout(
                "The replica running the stream did not answer.", retry_after=1
            ) from None
        return True

    async def _orphaned(self, run: runs.Run) -> RunEnd:
        """No replica runs ``run`` any more: record it as interrupted and free its conversation."""
        async with self._db.transaction() as session:
            marked = await runs.finish(
                session,
                run.tenant_id,
                run.id,
                status="interrupted",
                agent=run.agent,
                model=run.model,
                input_tokens=run.input_tokens,
                output_tokens=run.output_tokens,
                error_code="orphaned",
            )
            if marked:
                await conversations.release_lease(
                    session, run.tenant_id, run.conversation_id, run.id
                )
                return "interrupted"
            current = await runs.by_id(session, run.tenant_id, run.id)
        if current is None or current.status == "running":
            return "interrupted"
        return current.status

    # ------------------------------------------------------------ step 1
    async def accept(
        self, principal: Principal, request: ChatRequest, live: LiveRun, sink: FrameSink
    ) -> AcceptedRun:
        """Check everything a run needs, record it, register it as live, send its first frame.

        The ``conversation`` frame leaves before ``stream.start`` answers, so the client has
        the conversation id as early as possible and no later than the reply.
        """
        try:
            if not self._live.accepting:
                raise ShuttingDown(retry_after=1)
            agent = request.agent or TRIAGE
            if agent not in self._team:
                raise UnknownAgent(details={"agent": agent, "known": sorted(self._team)})
            entitlements = await self._quota.check(principal)
            features = FeatureSet.of(entitlements)
            needed = self._features_to_pick.get(agent)
            if needed is not None:
                features.require(needed)
            live.reservation = await self._reservations.reserve(
                live.run_id, principal.tenant_id, principal.subject, entitlements
            )
            try:
                await self._live.register(live)
                start = RunStart(
                    self._instance, self._settings.tuning.lease_seconds, agent, features
                )
                run = await record_start(self._db, principal, request, live, start)
            except BaseException:
                await self._live.unregister(live)
                raise
        except AgentbusError as exc:
            REFUSED.labels(exc.code).inc()
            raise
        live.conversation_id = run.conversation_id
        await sink.emit(
            "conversation", {"conversation_id": run.conversation_id, "stream_id": run.stream_id}
        )
        return run

    # ------------------------------------------------------------ step 2
    async def execute(self, run: AcceptedRun, sink: FrameSink, live: LiveRun) -> Outcome:
        """Run the agents; persist and account for the outcome; end with one terminal frame.

        The ``conversation`` frame has gone out already (:meth:`accept`).
        """
        started = time.monotonic()
        ledger = UsageLedger()
        tracker = RunTracker(sink, run.agent)
        memory = ConversationMemory(
            self._db,
            tenant_id=run.principal.tenant_id,
            conversation_id=run.conversation_id,
            token_budget=self._settings.tuning.history_token_budget,
        )
        await tracker.announce(run.agent)
        outcome = await self._run_agents(run, memory, tracker, ledger, live)
        try:
            await self._finish(run, outcome, memory, tracker, ledger, live=live)
        except Exception:
            log.exception("run.persist_failed", run_id=run.run_id)
        kind, data = outcome.terminal_frame()
        await sink.emit(kind, data)
        RUNS.labels(outcome.agent if outcome.agent in self._team else "other", outcome.status).inc()
        RUN_SECONDS.labels(outcome.status).observe(time.monotonic() - started)
        return outcome

    async def _run_agents(
        self,
        run: AcceptedRun,
        memory: ConversationMemory,
        tracker: RunTracker,
        ledger: UsageLedger,
        live: LiveRun,
    ) -> Outcome:
        config = RunConfig(
            model_provider=RunModelProvider(self._backend, ledger),
            model_settings=self._backend.model_settings,
            input_guardrails=[self._guardrail],
            tracing_disabled=not self._settings.tracing,
            workflow_name="agentbus-chat",
            group_id=run.conversation_id,
        )
        context = ChatContext(run.principal, run.conversation_id, run.run_id, run.features)
        error: tuple[str, str | None] | None = None
        blocked: Screening | None = None
        final_output: Any = None
        result = Runner.run_streamed(
            self._team[run.agent],
            run.message,
            context=context,
            session=memory,
            max_turns=self._settings.tuning.max_turns,
            run_config=config,
        )
        live.attach(result)
        try:
            async with asyncio.timeout(self._settings.tuning.run_timeout):
                async for event in result.stream_events():
                    await tracker.on_event(event)
            final_output = result.final_output
        except InputGuardrailTripwireTriggered as exc:
            info = exc.guardrail_result.output.output_info
            blocked = info if isinstance(info, Screening) else Screening(False, "input_blocked", "")
            error = (blocked.code, blocked.message)
        except TimeoutError:
            error = ("timeout", None)
        except MaxTurnsExceeded:
            error = ("max_turns", None)
        except openai.APIError as exc:
            log.warning("run.model_unavailable", run_id=run.run_id, error=type(exc).__name__)
            error = ("model_unavailable", None)
        except ModelBehaviorError as exc:
            log.warning("run.model_error", run_id=run.run_id, error=str(exc)[:300])
            error = ("model_error", None)
        except Exception as exc:
            log.exception("run.failed", run_id=run.run_id, error=type(exc).__name__)
            error = ("run_failed", None)
        usage = Usage(input_tokens=ledger.input_tokens, output_tokens=ledger.output_tokens)
        agent = tracker.agent
        if live.cancel_reason is not None and error is None and final_output is None:
            status, code = STOPPED[live.cancel_reason]
            return Outcome(status, agent, tracker.reply, usage, code, MESSAGES[code])
        if error is not None:
            code, message = error
            return Outcome(
                "failed",
                agent,
                tracker.reply,
                usage,
                code,
                message or MESSAGES.get(code, ""),
                blocked,
            )
        return Outcome("completed", agent, str(final_output), usage)

    # ------------------------------------------------------------ step 3
    async def _finish(
        self,
        run: AcceptedRun,
        outcome: Outcome,
        memory: ConversationMemory,
        tracker: RunTracker,
        ledger: UsageLedger,
        *,
        live: LiveRun,
    ) -> None:
        """Save what the run produced and its usage event in one transaction; once committed,
        the run's message counts as spent (it used the model) and its tokens are counted."""
        owner = run.owner
        async with self._db.transaction() as session:
            if not await runs.finish(
                session,
                owner.tenant_id,
                run.run_id,
                status=outcome.status,
                agent=outcome.agent,
                model=ledger.model or None,
                input_tokens=ledger.input_tokens,
                output_tokens=ledger.output_tokens,
                error_code=outcome.error_code,
            ):
                log.warning("run.already_finished", run_id=run.run_id)
            for exchange in tracker.tools:
                await conversations.add_message(
                    session,
                    owner,
                    run.conversation_id,
                    role="tool",
                    content=f"[{exchange.name}] {exchange.output}",
                    agent=exchange.agent,
                    run_id=run.run_id,
                )
            if outcome.output:
                await conversations.add_message(
                    session,
                    owner,
                    run.conversation_id,
                    role="assistant",
                    content=outcome.output,
                    agent=outcome.agent,
                    status=REPLY_STATUS[outcome.status],
                    run_id=run.run_id,
                )
            if outcome.blocked is not None:
                memory.discard()
                await conversations.set_message_status(session, owner, run.user_message_id, "error")
            elif outcome.status in ("cancelled", "interrupted") and outcome.output:
                # The SDK keeps the user's turn of a cancelled run but not the partial reply.
                memory.append({"role": "assistant", "content": outcome.output})
            await memory.flush(session)
            await conversations.end_run(
                session, owner, run.conversation_id, run.run_id, last_agent=outcome.agent
            )
            if ledger.calls:
                await outbox.emit(session, run.usage_event(outcome, ledger))

            async def saved() -> None:
                live.usage_recorded = bool(ledger.calls)
                RUN_TOKENS.labels("input").inc(ledger.input_tokens)
                RUN_TOKENS.labels("output").inc(ledger.output_tokens)

            after_commit(session, saved)
