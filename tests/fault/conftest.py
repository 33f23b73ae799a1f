"""Fault suite: its tests break one running system in turn (see fault_support.py).

Each test breaks the stack (kills a service, stops a server), waits for it to recover and
checks that it did, with tenants, events and Stripe ids of its own; so they share one stack
instead of starting one per module (~30 s each to start and stop). Its modules run on one xdist
worker (the root conftest.py) and the stack stops after the package's last test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_support import FaultStack, fault_stack


@pytest.fixture(scope="package")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    yield from fault_stack(tmp_path_factory.mktemp("faults"))
