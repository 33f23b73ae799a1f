"""Settings of the activity service: the shared ones plus ``ACTIVITY_*`` (how long the feed keeps
items) and its tuning (``ACTIVITY_TUNING``)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from agentbus_activity.manifest import MANIFEST
from agentbus_shared.manifest import ServiceManifest
from agentbus_shared.settings import ServiceSettings, ServiceTuning


class ActivityTuning(ServiceTuning):
    """The projection's consumers, the retention sweep and the rebuild."""

    projection_workers: int = Field(
        8, ge=1, le=256, description="events of one service's stream applied to the feed at once"
    )
    retention_interval: float = Field(
        3600.0, gt=0, description="seconds between sweeps deleting items older than the retention"
    )
    retention_batch: int = Field(
        5000, ge=1, le=100_000, description="items deleted per statement by the retention sweep"
    )
    rebuild_batch: int = Field(
        500, ge=1, le=10_000, description="events a rebuild fetches and writes at once"
    )
    replay_idle_expiry: float = Field(
        30.0,
        gt=0,
        description="seconds after its last read that a rebuild's stream consumer expires (the "
        "next rebuild waits for it)",
    )


class ActivitySettings(ServiceSettings):
    """What the activity service reads: how long a tenant's feed keeps its items."""

    model_config = SettingsConfigDict(env_prefix="ACTIVITY_")
    manifest: ClassVar[ServiceManifest | None] = MANIFEST

    retention_days: int = Field(
        90, ge=1, le=3650, description="days a feed item is kept; older ones are deleted"
    )

    tuning: ActivityTuning = Field(default_factory=ActivityTuning)
