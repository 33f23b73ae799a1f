"""The lock that keeps the machine's network interfaces still while a browser test runs."""

from __future__ import annotations

import subprocess
import sys
import time

from agentbus_shared.testing.host_network import changing_interfaces, interfaces_steady

HOLD_STEADY = """
import sys, time
from agentbus_shared.testing.host_network import interfaces_steady
with interfaces_steady():
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
    released = time.time()
print(released, flush=True)
"""


def test_a_change_of_interfaces_waits_for_the_browser_test_in_another_process() -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_STEADY, "1.0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with changing_interfaces():
            began = time.time()
        released = float(holder.stdout.readline())
        assert began >= released, "the change began while a browser test ran"
    finally:
        holder.wait(timeout=10)


def test_browser_tests_hold_the_interfaces_steady_side_by_side() -> None:
    with interfaces_steady(), interfaces_steady():
        pass
