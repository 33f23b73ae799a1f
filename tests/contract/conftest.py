"""One running system per module, its bus recorded while the flow drives it over HTTP."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentbus_shared.testing.stack import start_stack

sys.path.insert(0, str(Path(__file__).resolve().parent))

from contract_capture import BusCapture
from contract_flow import plans_file, run_flow
from contract_support import SHIPPED_PLANS, Recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    directory = tmp_path_factory.mktemp("contract")
    env = {
        # the gateway refetches the key set at 80 % of its age: rpc.auth.v1.jwks shows up
        "AUTH_TUNING__JWKS_MAX_AGE": "5",
        "BILLING_PLANS_FILE": str(plans_file(directory, SHIPPED_PLANS)),
    }
    stack = start_stack(directory / "var", env)
    try:
        with BusCapture(stack.state["urls"]["NATS_URL"]) as capture:
            outcome = run_flow(stack, capture)
            # what the last requests set off (events, relays, entitlements) lands within moments
            capture.settle(quiet=1.0, timeout=15.0)
        yield Recording(list(capture.messages), outcome)
    finally:
        stack.stop()
