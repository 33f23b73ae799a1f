"""Settings of the billing service: the shared ones plus ``BILLING_*``."""

from pydantic_settings import SettingsConfigDict

from agentbus_shared.settings import ServiceSettings


class BillingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_")
