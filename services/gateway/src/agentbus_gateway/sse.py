"""Server-sent events relayed from NATS: a bounded inbox, heartbeats, one clean ending.

A core NATS subscription feeds an :class:`Inbox` of bounded size. The relay
writes each message as an SSE event, a comment heartbeat whenever nothing was
sent for ``heartbeat`` seconds, and ends the stream with an ``error`` event
when the client reads too slowly for the inbox (rather than grow memory), when
the source stays silent past ``idle_timeout``, or when the inbox is ended from
outside (its session revoked, its token expired: see :mod:`lifetimes`). The
response runs its ``on_close`` cleanup whatever the ending: done, client gone,
or shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from nats.aio.msg import Msg
from pydantic_core import to_json
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from agentbus_shared.logging import get_logger

log = get_logger(__name__)

HEARTBEAT = b": keep-alive\n\n"


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: Any
    id: str | None = None
    terminal: bool = False

    def encode(self) -> bytes:
        payload = self.data if isinstance(self.data, bytes) else to_json(self.data)
        lines = [f"event: {_single_line(self.event)}".encode()]
        if self.id is not None:
            lines.insert(0, f"id: {_single_line(self.id)}".encode())
        # A data field may not hold a line break: each line becomes its own field.
        lines += [b"data: " + line for line in payload.splitlines() or [b""]]
        return b"\n".join(lines) + b"\n\n"


def _single_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


def error_event(code: str, message: str) -> SseEvent:
    return SseEvent("error", {"code": code, "message": message}, terminal=True)


class Inbox:
    """A bounded queue of NATS messages that can be ended: once ended (or full), the next
    read answers the ending event, whatever is still queued."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[Msg | None] = asyncio.Queue(size)
        self.ending: SseEvent | None = None

    async def put(self, msg: Msg) -> None:
        """The subscription callback: never blocks the connection's reader."""
        if self.ending is not None:
            return
        try:
            self._queue.put_nowait(msg)
        except asyncio.QueueFull:
            log.warning("sse.slow_client")
            self.end(error_event("slow_consumer", "The client read too slowly."))

    def end(self, ending: SseEvent) -> None:
        """End the stream with ``ending`` (the first ending wins); wakes a waiting reader."""
        if self.ending is not None:
            return
        self.ending = ending
        # A reader waits only on an empty queue, so there is room for the wake-up.
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def get(self) -> Msg | SseEvent:
        """The next message, or the ending once there is one."""
        if self.ending is None:
            msg = await self._queue.get()
            if msg is not None and self.ending is None:
                return msg
        assert self.ending is not None
        return self.ending


async def relay(
    inbox: Inbox,
    to_event: Callable[[Msg], SseEvent | None],
    *,
    heartbeat: float,
    idle_timeout: float = math.inf,
    on_tick: Callable[[], Awaitable[None]] | None = None,
    on_silence: Callable[[], Awaitable[SseEvent | None]] | None = None,
    silence_check: float = math.inf,
) -> AsyncIterator[bytes]:
    """SSE bytes from ``inbox`` until a terminal event, the inbox's ending or idle timeout.

    ``on_tick`` runs about every ``heartbeat`` seconds while the stream is
    open (it renews the stream's slot and may end the inbox). ``on_silence`` runs after every
    ``silence_check`` seconds without a message (it asks whether the source
    still lives); the event it returns, if any, ends the stream.
    """
    last_sent = last_tick = last_message = last_check = time.monotonic()
    while True:
        now = time.monotonic()
        wait = heartbeat - (now - last_sent)
        if on_silence is not None:
            wait = min(wait, silence_check - (now - max(last_message, last_check)))
        try:
            async with asyncio.timeout(max(0.0, wait)):
                item = await inbox.get()
        except TimeoutError:
            item = None
        now = time.monotonic()
        if on_tick is not None and now - last_tick >= heartbeat:
            last_tick = now
            await on_tick()
            item = inbox.ending or item
        if item is None:
            if now - last_message >= idle_timeout:
                yield error_event("upstream_timeout", "The run went silent.").encode()
                return
            if on_silence is not None and now - max(last_message, last_check) >= silence_check:
                last_check = now
                ending = await on_silence()
                if ending is not None:
                    yield ending.encode()
                    return
            if now - last_sent >= heartbeat:
                last_sent = now
                yield HEARTBEAT
            continue
        if isinstance(item, SseEvent):
            yield item.encode()
            return
        last_message = now
        event = to_event(item)
        if event is None:
            continue
        last_sent = now
        yield event.encode()
        if event.terminal:
            return


class EventStreamResponse(StreamingResponse):
    """``text/event-stream`` that always runs ``on_close`` once the stream ends, however."""

    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterator[bytes],
        *,
        on_close: Callable[[], Awaitable[None]],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            content,
            media_type="text/event-stream",
            headers={
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
                **(headers or {}),
            },
        )
        self._on_close = on_close
        self._content = content

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                aclose = getattr(self._content, "aclose", None)
                if aclose is not None:
                    try:
                        await aclose()
                    except Exception:
                        log.warning("sse.close_failed", exc_info=True)
                await self._on_close()


__all__ = [
    "HEARTBEAT",
    "EventStreamResponse",
    "Inbox",
    "SseEvent",
    "error_event",
    "relay",
]
