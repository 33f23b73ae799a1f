"""The machine's network interfaces held still while a browser test runs.

Chromium aborts every request in flight with ``net::ERR_NETWORK_CHANGED`` when an interface of
the machine appears, goes or changes its address, even a request to 127.0.0.1. A compose project
coming up or down does exactly that (its bridge network and one veth per container), so the
container tests and the browser tests, which run on different workers, take one lock file:
each browser test holds it shared, the compose project holds it exclusively while it changes the
interfaces. Tests that change nothing of the machine's network take no lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

LOCK = Path(tempfile.gettempdir()) / "agentbus-host-network.lock"


@contextlib.contextmanager
def _locked(mode: int) -> Iterator[None]:
    with LOCK.open("a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def interfaces_steady() -> contextlib.AbstractContextManager[None]:
    """Held by a browser test: no interface of the machine changes meanwhile."""
    return _locked(fcntl.LOCK_SH)


def changing_interfaces() -> contextlib.AbstractContextManager[None]:
    """Held while the machine's interfaces change (networks and containers made or removed):
    waits for the running browser tests to end, and holds back the next ones."""
    return _locked(fcntl.LOCK_EX)
