"""Root of every test run: the shared server fixtures (NATS, PostgreSQL, Redis), and the
``stack`` fixture for suites that drive the whole system as separate processes (e2e, contract,
fault, fuzz).

The fixture lives here rather than in ``tests/conftest.py``: under ``--import-mode=importlib``
that file and ``services/chat/tests/conftest.py`` would both be the module ``tests.conftest``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentbus_shared.testing.stack import Stack, start_stack

pytest_plugins = ["agentbus_shared.testing.plugin"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One ``agentbus dev`` stack per test module (session scope would couple unrelated modules
    through shared state; a stack per test costs ~15 s)."""
    running = start_stack(tmp_path_factory.mktemp("stack") / "var")
    try:
        yield running
    finally:
        running.stop()
