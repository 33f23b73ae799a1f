"""Settings of the billing service: the shared ones plus ``BILLING_*``, the Stripe key, and its
tuning (``BILLING_TUNING``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentbus_billing.manifest import MANIFEST
from agentbus_shared.manifest import ServiceManifest
from agentbus_shared.settings import ServiceSettings, ServiceTuning, deployment_setting, env


class BillingTuning(ServiceTuning):
    """Stripe calls, webhook and usage workers, meter reports and entitlement syncs."""

    stripe_timeout: float = Field(20.0, gt=0, description="seconds per Stripe request")
    stripe_max_retries: int = Field(
        3, ge=0, le=10, description="retries of a failed Stripe request"
    )
    webhook_workers: int = Field(8, ge=1, le=256, description="Stripe events applied at once")
    webhook_max_deliver: int = Field(
        6, ge=1, description="deliveries of a failing event before it is dead-lettered"
    )
    webhook_ack_wait: float = Field(
        30.0,
        gt=0,
        description="seconds before an unacknowledged delivery (its worker died) is delivered again",
    )
    webhook_backoff: str = Field(
        "1,5,15,60,300",
        description="seconds before each redelivery of a failing event (comma separated)",
    )
    usage_workers: int = Field(8, ge=1, le=256, description="usage events metered at once")
    meter_report_interval: float = Field(
        5.0, gt=0, description="seconds between reports of usage records to Stripe meters"
    )
    meter_report_batch: int = Field(
        100, ge=1, le=1000, description="usage records reported to Stripe at once"
    )
    entitlements_sync_interval: float = Field(
        5.0,
        gt=0,
        description="seconds between republishing every tenant's entitlements to the "
        "ENTITLEMENTS bucket",
    )

    def backoff(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.webhook_backoff.split(",") if part.strip())


class BillingSettings(ServiceSettings):
    """What the billing service reads: Stripe, where people return, the plan catalog."""

    model_config = SettingsConfigDict(env_prefix="BILLING_")
    manifest: ClassVar[ServiceManifest | None] = MANIFEST

    stripe_api_key: SecretStr | None = Field(
        None,
        validation_alias=env("STRIPE_API_KEY"),
        description="Stripe secret key; unset: no Stripe (free plans only, paid plan "
        "operations answer 503)",
    )
    stripe_setup_on_start: bool = Field(
        False,
        description="create the plan catalog in Stripe at start-up (`agentbus billing "
        "stripe-setup` does it once)",
    )
    app_url: str = Field(
        "http://127.0.0.1:8000",
        description="where people return after Stripe Checkout and the billing portal (your web app)",
    )
    webhook_url: str | None = Field(
        None,
        description="the public /webhooks/stripe URL `agentbus billing stripe-setup` registers",
    )
    plans_file: Path | None = Field(
        None, description="a TOML plan catalog replacing the built-in one"
    )
    stripe_api_base: str | None = deployment_setting(
        None,
        description="base URL of the Stripe API: the stand-in server `agentbus dev` runs; unset "
        "in deployment",
    )

    tuning: BillingTuning = Field(default_factory=BillingTuning)
