"""The clustered suite's one running system: ``agentbus dev --cluster``.

Three nats-server nodes in one JetStream cluster (R3 streams and bucket) and two replicas of
every service, replica n on node n (docs/runbooks/scaling.md), tuned by ``CLUSTER_ENV``. It
starts once for the package (about 14 s): the root conftest.py keeps the suite on one xdist
worker and ``testpaths`` sends it out first. The node-loss test kills nodes and replicas and
checks the cluster healed before it ends, so it runs last (its module sorts last).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_support import CLUSTER_ENV

from agentbus_shared.testing.stack import Stack, start_stack


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("cluster") / "var"
    running = start_stack(var_dir, CLUSTER_ENV, cluster=True)
    try:
        yield running
    finally:
        running.stop()
