"""Settings of the auth service: the shared ones plus ``AUTH_*``."""

from pydantic_settings import SettingsConfigDict

from agentbus_shared.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_")
