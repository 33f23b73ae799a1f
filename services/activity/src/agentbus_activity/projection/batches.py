"""Group commit for the live projection: events handed in while a write runs go together in the next.

Each caller waits for the write holding its event and gets that event's own outcome, so its
consumer still acks, retries or dead-letters its message alone. A batch that fails is written
again one event at a time: only the event at fault fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

Write = Callable[[Sequence[T]], Awaitable[None]]


class BatchInterrupted(RuntimeError):
    """The write holding an event was cancelled (the process stopping): the event is not written."""


class Batches(Generic[T]):
    """Writes what callers hand in, up to ``limit`` at once, one write at a time."""

    def __init__(self, write: Write[T], *, limit: int) -> None:
        self._write = write
        self._limit = limit
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self._turn = asyncio.Lock()

    async def submit(self, entry: T) -> None:
        """Return once ``entry`` is written; raise what writing it raised."""
        outcome: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((entry, outcome))
        while not outcome.done():
            async with self._turn:
                if not outcome.done():
                    batch = self._waiting[: self._limit]
                    del self._waiting[: self._limit]
                    await self._settle(batch)
        return outcome.result()

    async def _settle(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            await self._written(batch)
        finally:
            for _, outcome in batch:
                if not outcome.done():
                    outcome.set_exception(BatchInterrupted("the batch's write was cancelled"))

    async def _written(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            await self._write([entry for entry, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for entry, outcome in batch:  # one at a time: only the entry at fault fails
                try:
                    await self._write([entry])
                except Exception as single:
                    outcome.set_exception(single)
                else:
                    outcome.set_result(None)
            return
        for _, outcome in batch:
            outcome.set_result(None)
