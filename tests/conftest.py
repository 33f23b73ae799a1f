"""Fixtures for suites that drive the whole system as separate processes (e2e, contract, fault,
fuzz): one ``agentbus dev`` stack per test module (session scope would couple unrelated modules
through shared state; a stack per test costs ~15 s).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentbus_shared.testing.stack import Stack, start_stack, stop_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("stack") / "var")
    try:
        yield running
    finally:
        stop_stack(running.process)
