"""Settings of the billing service: the shared ones plus ``BILLING_*`` and the Stripe keys."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentbus_shared.settings import ServiceSettings, env


class BillingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_")

    stripe_api_key: SecretStr | None = Field(None, validation_alias=env("STRIPE_API_KEY"))
    """Unset: no Stripe (free plans only; paid operations answer 503)."""
    stripe_api_base: str | None = None
    """Base URL of the Stripe API; set it to use a stand-in server (``agentbus dev`` does)."""
    stripe_timeout: float = Field(20.0, gt=0)
    stripe_max_retries: int = Field(3, ge=0, le=10)
    stripe_setup_on_start: bool = False
    """Provision the catalog in Stripe at start-up (the dev stack sets it for the stand-in)."""

    app_url: str = "http://127.0.0.1:8000"
    """Where people return after Checkout and the billing portal."""
    webhook_url: str | None = None
    """The public ``/webhooks/stripe`` URL that ``stripe-setup`` registers."""
    plans_file: Path | None = None
    """A TOML plan catalog replacing the built-in one."""

    webhook_workers: int = Field(8, ge=1, le=256)
    webhook_max_deliver: int = Field(6, ge=1)
    webhook_ack_wait: float = Field(30.0, gt=0)
    """Seconds before an unacknowledged delivery (its worker died) is delivered again."""
    webhook_backoff: str = "1,5,15,60,300"
    """Seconds before each redelivery of a failing webhook event (comma separated)."""

    usage_workers: int = Field(8, ge=1, le=256)
    meter_report_interval: float = Field(5.0, gt=0)
    meter_report_batch: int = Field(100, ge=1, le=1000)
    entitlements_sync_interval: float = Field(5.0, gt=0)

    def backoff(self) -> tuple[float, ...]:
        return tuple(float(part) for part in self.webhook_backoff.split(",") if part.strip())
