"""The clustered suite's one running system: ``agentbus dev --cluster``.

Three nats-server nodes in one JetStream cluster (R3 streams and bucket) and two replicas of
every service, replica n on node n (docs/runbooks/scaling.md). It starts once for the module
(about 14 s); the root conftest.py keeps the module on one xdist worker, and ``testpaths`` sends
it out first.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agentbus_shared.testing.stack import Stack, generous_rate_limits, start_stack


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The tests send more requests from one address than the default quotas allow.
    var_dir = tmp_path_factory.mktemp("cluster") / "var"
    running = start_stack(var_dir, generous_rate_limits(), cluster=True)
    try:
        yield running
    finally:
        running.stop()
