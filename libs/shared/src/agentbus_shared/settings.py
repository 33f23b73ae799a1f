"""Settings from the environment (and ``.env``), one base for every service.

Shared settings keep their plain names (``NATS_URL``, ``DATABASE_URL``, …);
each service adds its own with a prefix (``AUTH_``, ``CHAT_``, …). Secrets are
``SecretStr`` so they never reach a log or a repr. Development defaults for
secrets start with ``dev-insecure-``; in ``ENVIRONMENT=production`` the
settings refuse to load while any secret still has such a value, and say which.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_PREFIX = "dev-insecure-"  # noqa: S105 - the marker of development secrets
DEV_DATABASE_URL = "postgresql://postgres@127.0.0.1:15432/agentbus"
DEV_NATS_URL = "nats://127.0.0.1:14222"
DEV_REDIS_URL = "redis://127.0.0.1:16379/0"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class InsecureProductionSettings(ValueError):
    """Raised when a production process would start with a development secret."""


def env(*names: str) -> Any:
    """Read a field from exactly these environment variable names (no prefix)."""
    return AliasChoices(*names)


class ServiceSettings(BaseSettings):
    """What every Agentbus process reads. Subclass per service with an ``env_prefix``."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    environment: Environment = Field(Environment.DEVELOPMENT, validation_alias=env("ENVIRONMENT"))
    service_instance: str = Field("", validation_alias=env("SERVICE_INSTANCE"))

    nats_url: str = Field(DEV_NATS_URL, validation_alias=env("NATS_URL"))
    nats_user: str | None = Field(None, validation_alias=env("NATS_USER"))
    nats_password: SecretStr | None = Field(None, validation_alias=env("NATS_PASSWORD"))
    nats_creds_file: str | None = Field(None, validation_alias=env("NATS_CREDS_FILE"))
    nats_tls_ca_file: str | None = Field(None, validation_alias=env("NATS_TLS_CA_FILE"))
    nats_stream_replicas: int = Field(1, ge=1, le=5, validation_alias=env("NATS_STREAM_REPLICAS"))

    database_url: SecretStr = Field(
        SecretStr(DEV_DATABASE_URL), validation_alias=env("DATABASE_URL")
    )
    database_pool_size: int = Field(10, ge=1, validation_alias=env("DATABASE_POOL_SIZE"))
    redis_url: SecretStr = Field(SecretStr(DEV_REDIS_URL), validation_alias=env("REDIS_URL"))

    http_host: str = Field("127.0.0.1", validation_alias=env("HTTP_HOST"))
    http_port: int = Field(8000, ge=0, le=65535, validation_alias=env("HTTP_PORT"))

    log_level: str = Field("INFO", validation_alias=env("LOG_LEVEL"))
    log_format: str = Field("json", pattern="^(json|console)$", validation_alias=env("LOG_FORMAT"))

    otel_endpoint: str | None = Field(None, validation_alias=env("OTEL_EXPORTER_OTLP_ENDPOINT"))
    otel_sample_ratio: float = Field(
        0.1, ge=0.0, le=1.0, validation_alias=env("OTEL_TRACES_SAMPLER_ARG")
    )

    rpc_timeout: float = Field(5.0, gt=0, validation_alias=env("RPC_TIMEOUT"))

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @model_validator(mode="after")
    def _refuse_development_secrets_in_production(self) -> Self:
        if self.is_production:
            insecure = self.insecure_settings()
            if insecure:
                raise InsecureProductionSettings(
                    "refusing to start in production with development defaults for: "
                    + ", ".join(sorted(insecure))
                )
        return self

    def insecure_settings(self) -> list[str]:
        """Names (as environment variables) of the secrets that still hold development values."""
        found = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value().startswith(
                DEV_SECRET_PREFIX
            ):
                found.append(_env_name(type(self), name, field.validation_alias))
        database_password = urlsplit(self.database_url.get_secret_value()).password
        if not database_password or database_password.startswith(DEV_SECRET_PREFIX):
            found.append("DATABASE_URL (no password, or a development one)")
        return found


def _env_name(cls: type[BaseSettings], field_name: str, alias: Any) -> str:
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    prefix = str(cls.model_config.get("env_prefix", ""))
    return f"{prefix}{field_name}".upper()
