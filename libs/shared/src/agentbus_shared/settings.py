"""Settings from the environment (and ``.env``), one base for every service.

Shared settings keep their plain names (``NATS_URL``, ``DATABASE_URL``, …);
each service adds its own with a prefix (``AUTH_``, ``CHAT_``, …). A setting is
what an operator decides, or what the deployment sets for each process
(``deployment_setting``); engineering knobs live in one nested ``tuning`` model
per service, read as ``AUTH_TUNING__ARGON2_TIME_COST=…`` or as JSON in
``AUTH_TUNING`` (``docs/settings.md`` lists them all). Secrets are
``SecretStr`` so they never reach a log or a repr. Development defaults for
secrets start with ``dev-insecure-``; in ``ENVIRONMENT=production`` the
settings refuse to load, naming each setting at fault, while any secret (or any
element of a comma-separated one) still has such a value, a key is short,
repetitive or shared with another key, or the database or Redis URL carries no
password.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentbus_shared.manifest import ServiceManifest

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
    """Read a field from exactly these environment variable names (no prefix); the first
    one set wins."""
    return AliasChoices(*names)


SET_BY_DEPLOYMENT: dict[str, Any] = {"set_by": "deployment"}
"""``json_schema_extra`` of a setting that compose, the Kubernetes manifests and ``agentbus dev``
set for each process (its address, port, bus user, store URLs): not an operator's decision."""


def deployment_setting(default: Any, **kwargs: Any) -> Any:
    """A field the deployment sets for each process (see ``SET_BY_DEPLOYMENT``)."""
    return Field(default, json_schema_extra=SET_BY_DEPLOYMENT, **kwargs)


class ServiceTuning(BaseModel):
    """Engineering knobs of every process. The defaults are the tested values: change one to
    test, to measure, or on an engineer's advice. A service's tuning extends this model."""

    model_config = ConfigDict(extra="forbid")

    rpc_timeout: float = Field(
        5.0, gt=0, description="seconds a call waits for another service's answer on the bus"
    )
    database_pool_size: int = Field(
        10, ge=1, description="connections kept to PostgreSQL (plus as many overflow connections)"
    )


class ServiceSettings(BaseSettings):
    """What every Agentbus process reads. Subclass per service with an ``env_prefix``."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        # A name left blank (``NAME=`` as .env.example lists it) means "not set": the default, or
        # the next name a setting accepts (STRIPE_WEBHOOK_SECRETS= then STRIPE_WEBHOOK_SECRET).
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,
    )

    # ---------------------------------------------------------------- what an operator decides
    environment: Environment = Field(
        Environment.DEVELOPMENT,
        validation_alias=env("ENVIRONMENT"),
        description="development, test or production; production refuses development secrets",
    )
    log_level: str = Field(
        "INFO", validation_alias=env("LOG_LEVEL"), description="DEBUG, INFO, WARNING or ERROR"
    )
    log_format: str = Field(
        "json",
        pattern="^(json|console)$",
        validation_alias=env("LOG_FORMAT"),
        description="json (one object per line) or console (for a person)",
    )
    otel_endpoint: str | None = Field(
        None,
        validation_alias=env("OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="OpenTelemetry collector (OTLP/HTTP) receiving traces; unset: no traces",
    )
    otel_sample_ratio: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        validation_alias=env("OTEL_TRACES_SAMPLER_ARG"),
        description="share of root traces kept (traces started upstream follow their parent)",
    )

    # ---------------------------------------------------------------- set by the deployment
    service_instance: str = deployment_setting(
        "",
        validation_alias=env("SERVICE_INSTANCE"),
        description="names this process in logs and ping answers (default: host name and pid)",
    )
    nats_url: str = deployment_setting(
        DEV_NATS_URL, validation_alias=env("NATS_URL"), description="the NATS server"
    )
    nats_user: str | None = deployment_setting(
        None,
        validation_alias=env("NATS_USER"),
        description="the process's bus user (with NATS_PASSWORD; wins over credentials in "
        "NATS_URL)",
    )
    nats_password: SecretStr | None = deployment_setting(
        None, validation_alias=env("NATS_PASSWORD"), description="the bus user's password"
    )
    nats_creds_file: str | None = deployment_setting(
        None,
        validation_alias=env("NATS_CREDS_FILE"),
        description="a NATS credentials file (JWT + NKey) instead of user and password",
    )
    nats_tls_ca_file: str | None = deployment_setting(
        None,
        validation_alias=env("NATS_TLS_CA_FILE"),
        description="CA bundle that signed the NATS server certificate (TLS on the bus)",
    )
    nats_stream_replicas: int = deployment_setting(
        1,
        ge=1,
        le=5,
        validation_alias=env("NATS_STREAM_REPLICAS"),
        description="replicas of each JetStream stream and bucket (1 on one node, 3 on the "
        "Kubernetes cluster)",
    )
    database_url: SecretStr = deployment_setting(
        SecretStr(DEV_DATABASE_URL),
        validation_alias=env("DATABASE_URL"),
        description="PostgreSQL; production refuses a URL without a password",
    )
    redis_url: SecretStr = deployment_setting(
        SecretStr(DEV_REDIS_URL),
        validation_alias=env("REDIS_URL"),
        description="Redis; production refuses a URL without a password",
    )
    http_host: str = deployment_setting(
        "127.0.0.1", validation_alias=env("HTTP_HOST"), description="address the HTTP server binds"
    )
    http_port: int = deployment_setting(
        8000,
        ge=0,
        le=65535,
        validation_alias=env("HTTP_PORT"),
        description="port of health, readiness and metrics (the gateway's public API)",
    )

    tuning: ServiceTuning = Field(default_factory=ServiceTuning)

    manifest: ClassVar[ServiceManifest | None] = None
    """The service these settings belong to: production demands a password in the URL of each
    store its manifest declares (``schema``: PostgreSQL, ``needs_redis``: Redis)."""
    uses_database: ClassVar[bool] = True
    """Whether the process connects to PostgreSQL (production then needs a password in the URL);
    taken from ``manifest`` when there is one, declared by tools that have none."""
    uses_redis: ClassVar[bool] = True
    """Whether the process connects to Redis; taken from ``manifest`` like ``uses_database``."""
    secret_keys: ClassVar[tuple[str, ...]] = ()
    """Fields holding keys (a comma-separated list allowed): in production each one must be
    at least ``MIN_KEY_LENGTH`` characters, look random, and differ from every other key."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.manifest is not None:
            cls.uses_database = cls.manifest.schema is not None
            cls.uses_redis = cls.manifest.needs_redis

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    def tuned(self, **knobs: Any) -> Self:
        """A copy with these ``tuning`` knobs changed, validated (tests and benchmarks)."""
        tuning = self.tuning.model_validate({**self.tuning.model_dump(), **knobs})
        return self.model_copy(update={"tuning": tuning})

    @classmethod
    def env_prefix(cls) -> str:
        """What the service's own variables start with (``AUTH_``; empty for shared ones)."""
        return str(cls.model_config.get("env_prefix", "")).upper()

    @classmethod
    def tuning_model(cls) -> type[ServiceTuning]:
        """The model of the service's ``tuning`` field (``AuthTuning``)."""
        tuning = cls.model_fields["tuning"].annotation
        if not (isinstance(tuning, type) and issubclass(tuning, ServiceTuning)):
            raise TypeError(f"{cls.__name__}.tuning must be a ServiceTuning model")
        return tuning

    @classmethod
    def tuning_variable(cls, knob: str | None = None) -> str:
        """The variable holding the whole tuning as JSON (``AUTH_TUNING``), or one knob of it
        (``AUTH_TUNING__LOCKOUT_THRESHOLD``)."""
        variable = f"{cls.env_prefix()}TUNING"
        return variable if knob is None else f"{variable}__{knob.upper()}"

    @classmethod
    def former_names(cls) -> dict[str, str]:
        """Each tuning knob's flat name from before it moved into ``tuning``, with its name now
        (``AUTH_LOCKOUT_THRESHOLD`` → ``AUTH_TUNING__LOCKOUT_THRESHOLD``)."""
        shared = ServiceTuning.model_fields
        return {
            ("" if knob in shared else cls.env_prefix()) + knob.upper(): cls.tuning_variable(knob)
            for knob in cls.tuning_model().model_fields
        }

    @model_validator(mode="after")
    def _refuse_knobs_under_their_former_names(self) -> Self:
        # The environment and the .env file pydantic also reads: a former name in either would
        # otherwise be ignored without a word.
        env_file = self.model_config.get("env_file")
        written = dotenv_values(env_file) if isinstance(env_file, str) else {}
        present = set(os.environ) | set(written)
        moved = [f"{old} (now {new})" for old, new in self.former_names().items() if old in present]
        if moved:
            raise ValueError(
                "settings moved into tuning (docs/settings.md): " + ", ".join(sorted(moved))
            )
        return self

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
