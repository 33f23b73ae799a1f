"""The model backend chosen by settings, and the metering every model call goes through.

``builtin`` (the default with nothing configured) answers with
:class:`BuiltinModel`; ``openai`` uses the Responses API with
``OPENAI_API_KEY``; ``openai_compatible`` speaks Chat Completions to any
server with an OpenAI-style API (Ollama, vLLM, llama.cpp), asking for usage in
the stream (``include_usage``).

Each run gets its own :class:`RunModelProvider`, which wraps the backend's
models in :class:`MeteredModel`: it adds every call's usage to the run's
:class:`UsageLedger`, estimating what a provider did not report, including
the part of a call that a cancel cut short (the SDK drops that usage).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from agents import ModelProvider, ModelResponse, ModelSettings, OpenAIProvider
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model
from agents.retry import ModelRetryAdvice, ModelRetryAdviceRequest
from openai import AsyncOpenAI

from agentbus_chat.agents.catalog import AgentSpec
from agentbus_chat.llm.builtin import MODEL_NAME, BuiltinModel
from agentbus_chat.llm.tokens import count_tokens, item_text
from agentbus_chat.settings import ChatSettings

DEFAULT_OPENAI_MODEL = "gpt-4.1-mini"


@dataclass
class UsageLedger:
    """Tokens used by one run, over all its model calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    models: list[str] = field(default_factory=list)

    def record(self, input_tokens: int, output_tokens: int) -> None:
        self.calls += 1
        self.input_tokens += max(0, input_tokens)
        self.output_tokens += max(0, output_tokens)

    @property
    def model(self) -> str:
        return self.models[-1] if self.models else ""


@dataclass
class ModelBackend:
    """The process's model provider, the default model name and the settings every call uses."""

    kind: str
    provider: ModelProvider
    default_model: str
    model_settings: ModelSettings

    async def aclose(self) -> None:
        await self.provider.aclose()


class _BuiltinProvider(ModelProvider):
    def __init__(self, model: BuiltinModel) -> None:
        self.model = model

    def get_model(self, model_name: str | None) -> Model:
        return self.model


def build_backend(settings: ChatSettings, agents: dict[str, AgentSpec]) -> ModelBackend:
    kind = settings.resolved_backend()
    if kind == "builtin":
        model = BuiltinModel(agents, token_delay=settings.tuning.builtin_token_delay)
        return ModelBackend(kind, _BuiltinProvider(model), MODEL_NAME, ModelSettings())
    if kind == "openai":
        if settings.openai_api_key is None:
            raise ValueError("the openai backend needs OPENAI_API_KEY")
        client = AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            timeout=settings.tuning.model_timeout,
            max_retries=settings.tuning.model_max_retries,
        )
        return ModelBackend(
            kind,
            OpenAIProvider(openai_client=client, use_responses=True),
            settings.model_name or DEFAULT_OPENAI_MODEL,
            ModelSettings(include_usage=True),
        )
    if not settings.model_base_url or not settings.model_name:
        raise ValueError(
            "the openai_compatible backend needs CHAT_MODEL_BASE_URL and CHAT_MODEL_NAME"
        )
    api_key = settings.model_api_key.get_secret_value() if settings.model_api_key else "unused"
    client = AsyncOpenAI(
        base_url=settings.model_base_url,
        api_key=api_key,
        timeout=settings.tuning.model_timeout,
        max_retries=settings.tuning.model_max_retries,
    )
    return ModelBackend(
        kind,
        OpenAIProvider(openai_client=client, use_responses=False),
        settings.model_name,
        ModelSettings(include_usage=True),
    )


class RunModelProvider(ModelProvider):
    """The provider of one run: the backend's models, metered into the run's ledger."""

    def __init__(self, backend: ModelBackend, ledger: UsageLedger) -> None:
        self._backend = backend
        self._ledger = ledger

    def get_model(self, model_name: str | None) -> Model:
        name = model_name or self._backend.default_model
        inner = self._backend.provider.get_model(name)
        reported = MODEL_NAME if isinstance(inner, BuiltinModel) else name
        return MeteredModel(inner, reported, self._ledger)


class MeteredModel(Model):
    """Delegates to ``inner`` and records each call's usage in ``ledger``."""

    def __init__(self, inner: Model, name: str, ledger: UsageLedger) -> None:
        self.inner = inner
        self.name = name
        self.ledger = ledger

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        self.ledger.models.append(self.name)
        response = await self.inner.get_response(*args, **kwargs)
        usage = response.usage
        if usage.input_tokens or usage.output_tokens:
            self.ledger.record(usage.input_tokens, usage.output_tokens)
        else:
            output = "".join(item_text(item) for item in response.output)
            self.ledger.record(_estimate_input(args, kwargs), count_tokens(output))
        return response

    async def stream_response(
        self, *args: Any, **kwargs: Any
    ) -> AsyncIterator[TResponseStreamEvent]:
        self.ledger.models.append(self.name)
        produced: list[str] = []
        recorded = False
        try:
            async for event in self.inner.stream_response(*args, **kwargs):
                kind = getattr(event, "type", "")
                if kind in ("response.output_text.delta", "response.function_call_arguments.delta"):
                    produced.append(str(getattr(event, "delta", "")))
                elif kind == "response.completed":
                    usage = getattr(getattr(event, "response", None), "usage", None)
                    if usage is not None and (usage.input_tokens or usage.output_tokens):
                        self.ledger.record(usage.input_tokens, usage.output_tokens)
                        recorded = True
                yield event
        finally:
            if not recorded:
                # Cut short (cancel, error) or no usage reported: count what we saw.
                self.ledger.record(_estimate_input(args, kwargs), count_tokens("".join(produced)))

    async def close(self) -> None:
        await self.inner.close()

    async def _cleanup_on_run_end(self, owner: object) -> None:
        await self.inner._cleanup_on_run_end(owner)

    def get_retry_advice(self, request: ModelRetryAdviceRequest) -> ModelRetryAdvice | None:
        return self.inner.get_retry_advice(request)


def _estimate_input(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    instructions = args[0] if args else kwargs.get("system_instructions")
    items: str | list[TResponseInputItem] = args[1] if len(args) > 1 else kwargs.get("input", [])
    total = count_tokens(instructions or "")
    if isinstance(items, str):
        return total + count_tokens(items)
    return total + sum(count_tokens(item_text(item)) + 3 for item in items)
