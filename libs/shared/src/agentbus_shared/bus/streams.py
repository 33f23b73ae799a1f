"""Create or update streams and KV buckets idempotently; bind to others' streams without declaring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from faststream.nats import JStream
from nats.js.api import StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, NotFoundError

from agentbus_shared.contracts.streams import BucketSpec, StreamSpec
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

Change = Literal["created", "updated", "unchanged"]

# Fields we set; the server fills in the rest, so only these are compared.
_COMPARED = (
    "subjects",
    "description",
    "max_age",
    "max_bytes",
    "duplicate_window",
    "num_replicas",
    "deny_delete",
    "deny_purge",
    "allow_direct",
)


@dataclass(frozen=True)
class Applied:
    name: str
    change: Change


def bind(spec: StreamSpec) -> JStream:
    """The stream as a subscriber sees it: bound by name, never declared or rewritten."""
    return JStream(spec.name, declare=False)


def _differs(current: StreamConfig, wanted: StreamConfig) -> list[str]:
    diff = []
    for name in _COMPARED:
        have, want = getattr(current, name), getattr(wanted, name)
        if name == "subjects":
            have, want = sorted(have or []), sorted(want or [])
        elif isinstance(want, float) or isinstance(have, float):
            have, want = round(float(have or 0), 3), round(float(want or 0), 3)
        if have != want:
            diff.append(name)
    return diff


async def apply_streams(
    js: JetStreamContext, specs: tuple[StreamSpec, ...], *, replicas: int = 1
) -> list[Applied]:
    """Make each stream match its spec: create it, update what differs, or leave it alone."""
    results = []
    for spec in specs:
        wanted = spec.with_replicas(replicas).config()
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            await js.add_stream(wanted)
            results.append(Applied(spec.name, "created"))
            log.info("stream.created", stream=spec.name)
            continue
        changed = _differs(info.config, wanted)
        if changed:
            await js.update_stream(wanted)
            results.append(Applied(spec.name, "updated"))
            log.info("stream.updated", stream=spec.name, fields=changed)
        else:
            results.append(Applied(spec.name, "unchanged"))
    return results


async def apply_buckets(
    js: JetStreamContext, specs: tuple[BucketSpec, ...], *, replicas: int = 1
) -> list[Applied]:
    """Create missing KV buckets (a bucket's settings are fixed once it holds data)."""
    results = []
    for spec in specs:
        try:
            await js.key_value(spec.name)
            results.append(Applied(spec.name, "unchanged"))
        except BucketNotFoundError:
            await js.create_key_value(spec.with_replicas(replicas).config())
            results.append(Applied(spec.name, "created"))
            log.info("bucket.created", bucket=spec.name)
    return results
