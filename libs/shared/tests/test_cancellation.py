"""Background loops stop on cancel even when a library turns the cancel into another error."""

from __future__ import annotations

import asyncio

import pytest

from agentbus_shared.cancellation import raise_if_cancelled
from agentbus_shared.runtime import _supervise


async def _turns_cancel_into_timeout() -> None:
    # What asyncio.wait_for does on Python 3.11 when a cancel lands as its timeout fires.
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        raise TimeoutError from None


async def test_a_supervised_loop_whose_cancel_became_an_error_is_not_restarted() -> None:
    task = asyncio.create_task(_supervise("swallower", _turns_cancel_into_timeout))
    await asyncio.sleep(0.01)

    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(2):
            await task


async def test_raise_if_cancelled_notices_a_pending_cancel_only() -> None:
    raise_if_cancelled()  # nothing pending: no error
    seen: list[str] = []

    async def loop() -> None:
        try:
            await _turns_cancel_into_timeout()
        except TimeoutError:
            seen.append("timeout")
            raise_if_cancelled()
            seen.append("carried on")

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.01)
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen == ["timeout"]
