"""Settings of the chat service: the shared ones plus ``CHAT_*``."""

from pydantic_settings import SettingsConfigDict

from agentbus_shared.settings import ServiceSettings


class ChatSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CHAT_")
