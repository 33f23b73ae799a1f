"""Builds the activity service process: its parts, its operations and consumers, its background loops."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js.client import JetStreamContext

from agentbus_activity.deprovision import handlers as deprovision_handlers
from agentbus_activity.deprovision.service import tenant_data_deletion
from agentbus_activity.feed import handlers as feed_handlers
from agentbus_activity.feed.service import FeedService
from agentbus_activity.manifest import MANIFEST
from agentbus_activity.models import outbox
from agentbus_activity.projection import handlers as projection_handlers
from agentbus_activity.projection.live import LiveFeed
from agentbus_activity.projection.service import Projection
from agentbus_activity.rebuild.replay import StreamReplay
from agentbus_activity.rebuild.service import FeedRebuild
from agentbus_activity.retention.service import RetentionSweep
from agentbus_activity.settings import ActivitySettings
from agentbus_shared.db import Database, OutboxRelay
from agentbus_shared.db.tenant_deletion import TenantDataDeletion
from agentbus_shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class ActivityParts:
    """Every part of the service, built once per process; handlers, tools and tests use them."""

    settings: ActivitySettings
    db: Database
    live: LiveFeed
    projection: Projection
    feed: FeedService
    retention: RetentionSweep
    rebuild: FeedRebuild
    deprovisioning: TenantDataDeletion


def build(
    settings: ActivitySettings | None = None, *, configure_process: bool = True
) -> ServiceRuntime:
    """The activity service process: ``build().run()`` serves it;
    ``runtime.parts_as(ActivityParts)`` gives its parts."""
    settings = settings or ActivitySettings()
    runtime = ServiceRuntime.for_service(MANIFEST, settings, configure_process=configure_process)
    parts = assemble(runtime, settings)
    runtime.attach(parts)
    for feature in (projection_handlers, feed_handlers, deprovision_handlers):
        feature.register(runtime, parts)
    runtime.background("outbox-relay", OutboxRelay(parts.db, outbox.table, runtime.publisher).run)
    runtime.background("retention", parts.retention.run)
    return runtime


def assemble(runtime: ServiceRuntime, settings: ActivitySettings) -> ActivityParts:
    """Every part of the service, wired to this runtime's connections."""
    db = runtime.database
    tuning = settings.tuning

    def jetstream() -> JetStreamContext:
        return runtime.broker.connection.jetstream()

    live = LiveFeed(lambda: runtime.broker.connection)
    projection = Projection(db, live, retention_days=settings.retention_days)
    replay = StreamReplay(
        jetstream, batch=tuning.rebuild_batch, idle_expiry=tuning.replay_idle_expiry
    )
    return ActivityParts(
        settings=settings,
        db=db,
        live=live,
        projection=projection,
        feed=FeedService(db),
        retention=RetentionSweep(
            db, projection.cutoff, interval=tuning.retention_interval, batch=tuning.retention_batch
        ),
        rebuild=FeedRebuild(db, projection, replay),
        deprovisioning=tenant_data_deletion(db),
    )
