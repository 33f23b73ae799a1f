"""Settings of the chat service: the shared ones plus ``CHAT_*`` (and ``OPENAI_API_KEY``), and its
tuning (``CHAT_TUNING``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from agentbus_chat.manifest import MANIFEST
from agentbus_shared.manifest import ServiceManifest
from agentbus_shared.settings import ServiceSettings, ServiceTuning, env

ModelBackend = Literal["builtin", "openai", "openai_compatible"]


class ChatTuning(ServiceTuning):
    """Model calls, runs, run limits and the quota cache of the chat service."""

    # ------------------------------------------------------------ models
    model_timeout: float = Field(120.0, gt=0, description="seconds per model request")
    model_max_retries: int = Field(2, ge=0, le=10, description="retries of a failed model request")
    builtin_token_delay: float = Field(
        0.02, ge=0, description="seconds between two words streamed by the builtin model"
    )

    # ------------------------------------------------------------ runs
    max_turns: int = Field(8, ge=1, le=50, description="agent turns per run")
    run_timeout: float = Field(300.0, gt=0, description="seconds a run may take in all")
    history_token_budget: int = Field(
        6000, ge=256, description="tokens of conversation memory sent to the model"
    )
    max_input_tokens: int = Field(
        4000, ge=16, description="largest user message the input guardrail lets through"
    )
    lease_seconds: float = Field(
        30.0, ge=3, description="a conversation's run lease; renewed while the run lives"
    )
    shutdown_grace: float = Field(
        10.0, ge=0, description="seconds to let runs finish their terminal frame on shutdown"
    )
    run_slots: int = Field(
        64,
        ge=1,
        le=1024,
        description="runs (plain and streamed) one replica runs at once; more wait their "
        "turn, visible to stream.status while they wait",
    )
    max_runs_per_user: int = Field(
        5,
        ge=1,
        description="runs one user may have going at once, on all replicas; more are "
        "refused 429 too_many_runs",
    )
    max_runs_per_tenant: int = Field(
        50,
        ge=1,
        description="runs one tenant may have going at once, on all replicas; more are "
        "refused 429 too_many_runs",
    )

    # ------------------------------------------------------------ quotas
    entitlements_ttl: float = Field(
        5.0, ge=0, description="seconds a tenant's entitlements are cached"
    )
    entitlements_stale_ttl: float = Field(
        3600.0, ge=0, description="seconds cached entitlements are used while billing is down"
    )


class ChatSettings(ServiceSettings):
    """What the chat service reads: which model answers, and where."""

    model_config = SettingsConfigDict(env_prefix="CHAT_")
    manifest: ClassVar[ServiceManifest | None] = MANIFEST

    model_backend: ModelBackend | None = Field(
        None,
        description="builtin (offline, deterministic), openai or openai_compatible (Ollama, "
        "vLLM, …); when unset: openai_compatible if CHAT_MODEL_BASE_URL is set, openai if "
        "OPENAI_API_KEY is set, builtin otherwise",
    )
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=env("OPENAI_API_KEY"), description="API key of OpenAI"
    )
    model_name: str | None = Field(
        None, description="model of every agent that names none (gpt-4.1-mini for openai)"
    )
    model_base_url: str | None = Field(
        None, description="base URL of an OpenAI-compatible server, e.g. http://ollama:11434/v1"
    )
    model_api_key: SecretStr | None = Field(
        None, description="API key of the OpenAI-compatible server, if it wants one"
    )
    tracing: bool = Field(
        False, description="export Agents SDK traces to OpenAI (needs OPENAI_API_KEY)"
    )
    quota_fail_open: bool = Field(
        True,
        description="allow runs when billing is unreachable and nothing is cached; false "
        "refuses them (docs/adr/chat-quota-when-billing-is-unreachable.md)",
    )

    tuning: ChatTuning = Field(default_factory=ChatTuning)

    def resolved_backend(self) -> ModelBackend:
        if self.model_backend is not None:
            return self.model_backend
        if self.model_base_url:
            return "openai_compatible"
        if self.openai_api_key is not None:
            return "openai"
        return "builtin"
