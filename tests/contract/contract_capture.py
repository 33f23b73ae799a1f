"""Every message on a running system's bus, recorded while a flow drives it over HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.aio.msg import Msg

IDLE = ("$JS.API.CONSUMER.MSG", "_INBOX", "rpc.auth.v1.jwks", "$JS.ACK")
"""Traffic of an idle system (pull requests, key refreshes): not a sign that work is under way."""


@dataclass(frozen=True)
class Captured:
    subject: str
    reply: str
    headers: dict[str, str]
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class BusCapture:
    """Subscribes to ``>`` on its own event loop (in a thread) so a synchronous flow can run."""

    url: str
    messages: list[Captured] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> BusCapture:
        self._thread = threading.Thread(target=self._run, name="bus-capture", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise AssertionError("the bus capture did not subscribe in time")
        return self

    def __exit__(self, *_: object) -> None:
        assert self._loop is not None and self._stop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def _run(self) -> None:
        asyncio.run(self._capture())

    async def _capture(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        client = await nats.connect(self.url, connect_timeout=10)

        async def record(msg: Msg) -> None:
            self.messages.append(
                Captured(msg.subject, msg.reply or "", dict(msg.headers or {}), msg.data)
            )

        await client.subscribe(">", cb=record, pending_msgs_limit=1_000_000)
        await client.flush()
        self._ready.set()
        await self._stop.wait()
        await client.flush()
        await client.drain()

    def events(self, cloud_type: str) -> list[Any]:
        """The envelopes of the ``cloud_type`` events recorded so far."""
        return [
            envelope
            for message in list(self.messages)
            if message.subject.startswith("events.")
            and (envelope := message.json()).get("type") == cloud_type
        ]

    def settle(self, *, quiet: float, timeout: float) -> None:
        """Wait until no domain message arrived for ``quiet`` seconds (or ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            count = sum(1 for m in list(self.messages) if not m.subject.startswith(IDLE))
            if count != seen:
                seen, since = count, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.1)
