"""The clustered suite's one running system: ``agentbus dev --cluster``.

Three nats-server nodes in one JetStream cluster (R3 streams and bucket) and two replicas of
every service, replica n on node n (docs/runbooks/scaling.md). It starts once for the module
(about 14 s); the root conftest.py keeps the module on one xdist worker, and ``testpaths`` sends
it out first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from agentbus_shared.testing.stack import Stack, start_stack

_GENEROUS = {"limit": 1_000_000, "window": 60}
CLUSTER_ENV = {
    # The tests send more requests from one address than the default quotas allow.
    "GATEWAY_TUNING__RATE_LIMITS": json.dumps(
        {
            group: {"ip": _GENEROUS, "user": _GENEROUS, "tenant": _GENEROUS}
            for group in ("strict", "anonymous", "authenticated", "webhooks", "edge")
        }
    ),
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("cluster") / "var", CLUSTER_ENV, cluster=True)
    try:
        yield running
    finally:
        running.stop()
