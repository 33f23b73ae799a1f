"""Noticing a cancel that a library turned into another error.

On Python 3.11, ``asyncio.wait_for`` (used inside nats-py, among others)
turns a cancel that arrives as its timeout fires into ``TimeoutError``. A loop
that retries on timeouts, or restarts on any error, then never stops, and a
service hangs on shutdown. Such loops call :func:`raise_if_cancelled` before
they retry.
"""

from __future__ import annotations

import asyncio


def raise_if_cancelled() -> None:
    """Raise ``CancelledError`` if the current task has a pending cancel request."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
