"""Settings from the environment (and ``.env``), one base for every service.

Shared settings keep their plain names (``NATS_URL``, ``DATABASE_URL``, …);
each service adds its own with a prefix (``AUTH_``, ``CHAT_``, …). Secrets are
``SecretStr`` so they never reach a log or a repr. Development defaults for
secrets start with ``dev-insecure-``; in ``ENVIRONMENT=production`` the
settings refuse to load, naming each setting at fault, while any secret (or any
element of a comma-separated one) still has such a value, a key is short,
repetitive or shared with another key, or the database or Redis URL carries no
password.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_PREFIX = "dev-insecure-"  # noqa: S105 - the marker of development secrets
DEV_DATABASE_URL = "postgresql://postgres@127.0.0.1:15432/agentbus"
DEV_NATS_URL = "nats://127.0.0.1:14222"
DEV_REDIS_URL = "redis://127.0.0.1:16379/0"
MIN_KEY_LENGTH = 32
"""Characters a production key needs at least (32 random bytes encode to 43 in base64url)."""
MIN_KEY_ENTROPY = 3.0
"""Shannon entropy, in bits per character, below which a key is too repetitive to be random."""


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

    uses_database: ClassVar[bool] = True
    """Whether the process connects to PostgreSQL (production then needs a password in the URL)."""
    uses_redis: ClassVar[bool] = True
    """Whether the process connects to Redis (production then needs a password in the URL)."""
    secret_keys: ClassVar[tuple[str, ...]] = ()
    """Fields holding keys (a comma-separated list allowed): in production each one must be
    at least ``MIN_KEY_LENGTH`` characters, look random, and differ from every other key."""

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @model_validator(mode="after")
    def _refuse_insecure_settings_in_production(self) -> Self:
        if self.is_production:
            insecure = self.insecure_settings()
            if insecure:
                raise InsecureProductionSettings(
                    "refusing to start in production with insecure values for: "
                    + ", ".join(sorted(insecure))
                )
        return self

    def insecure_settings(self) -> list[str]:
        """Names (as environment variables, with the reason) of the settings production refuses."""
        found = [*self._development_secrets(), *self._weak_keys(), *self._repeated_keys()]
        if self.uses_database and not _has_real_password(self.database_url):
            found.append("DATABASE_URL (no password, or a development one)")
        if self.uses_redis and not _has_real_password(self.redis_url):
            found.append("REDIS_URL (no password, or a development one)")
        return found

    def setting_name(self, field_name: str) -> str:
        """The environment variable a field is read from."""
        field = type(self).model_fields[field_name]
        return _env_name(type(self), field_name, field.validation_alias)

    def _secret_values(self) -> Iterator[tuple[str, list[str]]]:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                yield name, _elements(value.get_secret_value())

    def _development_secrets(self) -> Iterator[str]:
        for name, values in self._secret_values():
            if any(v.startswith(DEV_SECRET_PREFIX) for v in values):
                yield self.setting_name(name)

    def _keys(self) -> Iterator[tuple[str, str]]:
        for name, values in self._secret_values():
            if name in self.secret_keys:
                yield from ((name, v) for v in values if not v.startswith(DEV_SECRET_PREFIX))

    def _weak_keys(self) -> Iterator[str]:
        weak = {name for name, key in self._keys() if not _looks_random(key)}
        for name in sorted(weak):
            yield (
                f"{self.setting_name(name)} (shorter than {MIN_KEY_LENGTH} characters "
                "or too repetitive to be random)"
            )

    def _repeated_keys(self) -> Iterator[str]:
        keys = list(self._keys())
        uses = Counter(key for _, key in keys)
        for name in sorted({name for name, key in keys if uses[key] > 1}):
            yield f"{self.setting_name(name)} (the same key as another setting or element)"


def _elements(value: str) -> list[str]:
    """A secret's values: one, or several separated by commas (e.g. secrets during a rotation)."""
    return [part.strip() for part in value.split(",") if part.strip()] or [value]


def _looks_random(key: str) -> bool:
    counts = Counter(key)
    entropy = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    return len(key) >= MIN_KEY_LENGTH and entropy >= MIN_KEY_ENTROPY


def _has_real_password(url: SecretStr) -> bool:
    password = urlsplit(url.get_secret_value()).password
    return bool(password) and not str(password).startswith(DEV_SECRET_PREFIX)


def _env_name(cls: type[BaseSettings], field_name: str, alias: Any) -> str:
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    prefix = str(cls.model_config.get("env_prefix", ""))
    return f"{prefix}{field_name}".upper()
