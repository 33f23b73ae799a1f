"""The fuzz suite: generated and malformed input against the running system.

Its modules share one stack (each fuzzes as accounts and tenants of its own; a stack per module
cost ~30 s each to start and stop): they run on one xdist worker (the root conftest.py schedules
a shared-stack suite so) and the stack stops after the package's last test. Each test ends by checking the
system is still whole: no service process replaced, readiness green.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentbus_shared.testing.stack import Stack, generous_rate_limits, start_stack

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fuzz_support import WEBHOOK_SECRET

# The quotas of the rate groups, the account lockout and the throttle of failed logins per
# address are raised: the fuzzer sends far more requests a minute than a client may (and wrong
# passwords, for the owner's account and others, all from one address), and 429 everywhere would
# leave the operations behind it untested (limits and lockout have their own tests). Everything
# else is as `agentbus dev` runs it.


@pytest.fixture(scope="package")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The dev stack with generous limits and a Stripe webhook secret the tests sign with."""
    running = start_stack(
        tmp_path_factory.mktemp("fuzz") / "var",
        {
            **generous_rate_limits(),
            "AUTH_TUNING__LOCKOUT_THRESHOLD": "1000000",
            "AUTH_TUNING__IP_FAILURE_LIMIT": "1000000",
            "STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
        },
    )
    try:
        yield running
    finally:
        running.stop()
