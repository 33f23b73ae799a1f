"""Settings of the gateway: the shared ones plus ``GATEWAY_*``."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from agentbus_shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_")

    services: tuple[str, ...] = Field(
        ("auth", "chat", "billing"), description="services whose ping readiness needs"
    )
    ping_timeout: float = Field(1.0, gt=0)
