"""The e2e suite's one running system: every module drives the same ``agentbus dev`` stack.

Each test signs up tenants and accounts of its own, so the tests share a stack instead of
starting one per module (~30 s each to start and stop). Its modules run on one xdist worker (the
root conftest.py schedules a shared-stack suite so) and the stack stops after its last test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentbus_shared.testing.stack import Stack, generous_rate_limits, start_stack

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import CATALOG


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The dev stack with a small catalog, quotas re-read often, a short SSE heartbeat and rate
    limits out of reach: together the modules send more login-flow requests from one address
    than the ``strict`` group's 30 a minute (no test here is about the gateway's limits)."""
    root = tmp_path_factory.mktemp("e2e")
    catalog = root / "plans.toml"
    catalog.write_text(CATALOG)
    running = start_stack(
        root / "var",
        {
            **generous_rate_limits(),
            "BILLING_PLANS_FILE": str(catalog),
            "CHAT_TUNING__ENTITLEMENTS_TTL": "0.5",
            "GATEWAY_TUNING__SSE_HEARTBEAT": "1",
        },
    )
    try:
        yield running
    finally:
        running.stop()
