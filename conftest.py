"""Root of every test run: the shared server fixtures (NATS, PostgreSQL, Redis) of
:mod:`agentbus_shared.testing.plugin`, and how ``-n`` spreads the tests over the workers.

The suites that drive the whole system as separate processes (e2e, contract, fault, fuzz) start
their stacks in their own conftest.py or modules (:mod:`agentbus_shared.testing.stack`).
"""

from __future__ import annotations

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadScopeScheduling

pytest_plugins = ["agentbus_shared.testing.plugin"]

SHARED_STACK_SUITES = (
    "tests/fault/",
    "tests/fuzz/",
    "tests/e2e/",
    "tests/cluster/",
    "tests/browser/",
)
"""Suites whose modules share one running stack (package-scoped in their conftest.py)."""


class SuiteScheduling(LoadScopeScheduling):
    """A module's tests run on one worker (its module-scoped stacks and servers start once), and
    so does a suite that shares one stack between its modules; work goes out in collection order
    (``testpaths`` lists the suites that run whole stacks first), so no worker ends on a long tail.
    """

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::", 1)[0]
        return next((suite for suite in SHARED_STACK_SUITES if module.startswith(suite)), module)


@pytest.hookimpl
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> SuiteScheduling | None:
    """With ``-n`` and no other ``--dist`` asked for: :class:`SuiteScheduling`."""
    if config.getvalue("dist") != "load":
        return None
    config.option.loadscopereorder = False  # in collection order, not largest module first
    return SuiteScheduling(config, log)
