"""The run-lost policy: when a request or stream waiting on a chat run is told its run is lost.

A chat run (a streamed run, or a plain ``POST /chat`` waiting for its reply) dies with
its replica and then never sends its last frame or its reply. While one waits, the
gateway asks chat after every ``run_check`` seconds how the run stands
(``stream.status``) and :class:`RunWatch` applies the one rule.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from agentbus_gateway.guard import Admission
from agentbus_gateway.sse import SseEvent, error_event
from agentbus_shared.bus import RpcClient, RpcReply
from agentbus_shared.contracts import chat
from agentbus_shared.errors import AgentbusError, ServiceUnavailable
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

RUN_LOST = "run_lost"

MISSING_CHECKS = 3
"""Checks in a row finding the run not running before it counts as lost. A request reaches
a replica within milliseconds and a run's reply or last frame follows its end at once, so
three checks a ``run_check`` apart leave a wide margin."""


class RunState(StrEnum):
    """How chat says a run stands."""

    RUNNING = "running"
    """A replica runs it, or holds it not started yet."""
    FINISHED = "finished"
    """It ended (completed, cancelled, failed): its reply or last frame was sent."""
    LOST = "lost"
    """Its replica died while running it (chat recorded it ``interrupted``)."""
    MISSING = "missing"
    """No replica holds it and none recorded it: not delivered yet, or lost undelivered."""
    UNKNOWN = "unknown"
    """Chat cannot tell now (busy, restarting, away): ask again later."""


_STATES: dict[str, RunState] = {
    "running": RunState.RUNNING,
    "completed": RunState.FINISHED,
    "cancelled": RunState.FINISHED,
    "failed": RunState.FINISHED,
    "interrupted": RunState.LOST,
}


class RunWatch:
    """Watches one run while a request or stream waits on it.

    The rule: the run is lost when chat says so (``interrupted``), or when it is not
    running (missing or finished, yet still awaited) :data:`MISSING_CHECKS` checks in a
    row; a check that finds it running starts the count again, one that cannot tell
    leaves it as it is.
    """

    def __init__(
        self,
        rpc: RpcClient,
        admission: Admission,
        run_id: str,
        *,
        run_check: float,
        rpc_timeout: float,
    ) -> None:
        self._rpc = rpc
        self._admission = admission
        self.run_id = run_id
        self._run_check = run_check
        # A check never waits longer than the pause between two checks.
        self._timeout = min(run_check, rpc_timeout)
        self._not_running = 0

    async def reply(self, call: Coroutine[Any, Any, RpcReply]) -> RpcReply:
        """The reply of the request that runs the run, checking on the run after each
        ``run_check`` seconds without one; 503 ``run_lost`` as soon as the run is lost."""
        pending = asyncio.ensure_future(call)
        try:
            while True:
                done, _ = await asyncio.wait({pending}, timeout=self._run_check)
                if done:
                    return pending.result()
                if await self.lost():
                    raise request_lost()
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending

    async def silence(self) -> SseEvent | None:
        """After a silence of the run's stream: the stream's last event if the run is lost."""
        return stream_lost() if await self.lost() else None

    async def lost(self) -> bool:
        """Ask chat once how the run stands; whether it is now lost."""
        state = await self.state()
        if state is RunState.RUNNING:
            self._not_running = 0
        elif state in (RunState.FINISHED, RunState.MISSING):
            self._not_running += 1
        if state is RunState.LOST or self._not_running >= MISSING_CHECKS:
            log.warning("run.lost", run_id=self.run_id, state=state)
            return True
        return False

    async def state(self) -> RunState:
        """How chat says the run stands now."""
        try:
            reply = await self._rpc.call(
                chat.SERVICE,
                chat.Operation.STREAM_STATUS,
                chat.StreamRef(stream_id=self.run_id),
                principal=self._admission.principal,
                meta=self._admission.meta,
                timeout=self._timeout,
            )
            return _STATES[chat.StreamStatus.model_validate(reply.data).status]
        except AgentbusError as exc:
            if exc.status == 404:
                return RunState.MISSING
            log.info("run.state_unknown", run_id=self.run_id, error=type(exc).__name__)
        except ValidationError:
            log.info("run.state_unknown", run_id=self.run_id, error="ValidationError")
        return RunState.UNKNOWN


def request_lost() -> ServiceUnavailable:
    """The answer to a request whose run is lost: 503 ``run_lost``, send it again."""
    return ServiceUnavailable(
        "The replica holding this request stopped before answering. Send the request again.",
        code=RUN_LOST,
        retry_after=1,
    )


def stream_lost() -> SseEvent:
    """The last event of a stream whose run is lost."""
    return error_event(
        RUN_LOST,
        "The run ended without its last frame (its chat replica stopped); "
        "what was saved is in the conversation.",
    )
