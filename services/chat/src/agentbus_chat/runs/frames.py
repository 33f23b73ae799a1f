"""Where a run's frames go: ``streams.chat.<stream_id>`` for a streamed run, nowhere for ``/chat``.

A sink numbers frames from 1 and lets exactly one terminal frame (``final``
or ``error``) through; anything emitted after it is dropped, so no code path
can end a stream twice.
"""

from __future__ import annotations

from typing import Any, Protocol

from nats.aio.client import Client as NatsClient

from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.chat import TERMINAL_EVENTS, FrameEvent, StreamFrame
from agentbus_shared.logging import get_logger

log = get_logger(__name__)


class FrameSink(Protocol):
    frames: int
    terminated: bool

    async def emit(self, event: FrameEvent, data: dict[str, Any]) -> None: ...


class SilentSink:
    """Counts frames of a run nobody streams (``POST /chat``)."""

    def __init__(self) -> None:
        self.frames = 0
        self.terminated = False

    async def emit(self, event: FrameEvent, data: dict[str, Any]) -> None:
        self._number(event)

    def _number(self, event: FrameEvent) -> int | None:
        """The frame's number; None after the terminal frame (nothing goes out any more)."""
        if self.terminated:
            return None
        self.frames += 1
        self.terminated = event in TERMINAL_EVENTS
        return self.frames


class NatsFrameSink(SilentSink):
    """Publishes frames on the run's stream subject (core NATS: the gateway relays them live)."""

    def __init__(self, connection: NatsClient, stream_id: str) -> None:
        super().__init__()
        self._connection = connection
        self.subject = subjects.chat_stream(stream_id)

    async def emit(self, event: FrameEvent, data: dict[str, Any]) -> None:
        seq = self._number(event)
        if seq is None:
            return
        frame = StreamFrame(seq=seq, event=event, data=data)
        try:
            await self._connection.publish(self.subject, frame.model_dump_json().encode())
            if self.terminated:
                # The terminal frame must leave now, not with the next batch.
                await self._connection.flush(timeout=5)
        except Exception as exc:
            # The run goes on and is persisted even when nobody can hear it.
            log.warning("frames.publish_failed", frame=event, error=type(exc).__name__)
