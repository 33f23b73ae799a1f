"""Group commit of the live projection: events handed in together share one write, each keeps its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from agentbus_activity.projection.batches import Batches


class Writes:
    """A write that records each batch it is given and fails any batch holding ``poison``."""

    def __init__(self, poison: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self._poison = poison

    async def __call__(self, entries: Sequence[str]) -> None:
        await asyncio.sleep(0.01)
        self.batches.append(list(entries))
        if self._poison in entries:
            raise ValueError(f"bad entry {self._poison}")


async def test_entries_handed_in_during_a_write_share_the_next_one() -> None:
    writes = Writes()
    batches = Batches(writes, limit=64)

    await asyncio.gather(*(batches.submit(f"e{n}") for n in range(10)))

    assert writes.batches[0] == ["e0"]
    assert writes.batches[1] == [f"e{n}" for n in range(1, 10)]


async def test_a_failing_batch_fails_only_the_entry_at_fault() -> None:
    writes = Writes(poison="e3")
    batches = Batches(writes, limit=64)

    outcomes = await asyncio.gather(
        *(batches.submit(f"e{n}") for n in range(6)), return_exceptions=True
    )

    assert [type(outcome) for outcome in outcomes] == [type(None)] * 3 + [ValueError] + [
        type(None)
    ] * 2
    assert ["e3"] in writes.batches


async def test_a_batch_holds_at_most_the_limit() -> None:
    writes = Writes()
    batches = Batches(writes, limit=3)

    await asyncio.gather(*(batches.submit(f"e{n}") for n in range(8)))

    assert max(len(batch) for batch in writes.batches) == 3
    assert sorted(entry for batch in writes.batches for entry in batch) == sorted(
        f"e{n}" for n in range(8)
    )


async def test_a_single_failing_entry_raises_its_own_error() -> None:
    batches = Batches(Writes(poison="only"), limit=64)

    with pytest.raises(ValueError, match="bad entry only"):
        await batches.submit("only")
