"""Which model backend the settings choose, and what each needs."""

from __future__ import annotations

import pytest
from agents import OpenAIProvider
from pydantic import SecretStr

from agentbus_chat.agents.catalog import DEFAULT_AGENTS
from agentbus_chat.llm.backends import build_backend
from agentbus_chat.llm.builtin import BuiltinModel
from agentbus_chat.settings import ChatSettings

AGENTS = {spec.name: spec for spec in DEFAULT_AGENTS}


def _settings(**values: object) -> ChatSettings:
    return ChatSettings.model_validate(values)


def test_nothing_configured_means_the_builtin_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    backend = build_backend(ChatSettings(), AGENTS)

    assert backend.kind == "builtin"
    assert isinstance(backend.provider.get_model("anything"), BuiltinModel)


def test_an_openai_key_means_openai_with_usage_reported() -> None:
    settings = _settings(openai_api_key=SecretStr("sk-test"))

    backend = build_backend(settings, AGENTS)

    assert settings.resolved_backend() == "openai"
    assert isinstance(backend.provider, OpenAIProvider)
    assert backend.default_model == "gpt-4.1-mini"
    assert backend.model_settings.include_usage is True


def test_a_base_url_means_an_openai_compatible_server_even_with_a_key() -> None:
    settings = _settings(
        openai_api_key=SecretStr("sk-test"),
        model_base_url="http://127.0.0.1:11434/v1",
        model_name="llama3.2",
    )

    backend = build_backend(settings, AGENTS)

    assert backend.kind == "openai_compatible"
    assert backend.default_model == "llama3.2"
    assert backend.model_settings.include_usage is True


def test_a_backend_without_what_it_needs_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        build_backend(_settings(model_backend="openai"), AGENTS)
    with pytest.raises(ValueError, match="CHAT_MODEL_BASE_URL"):
        build_backend(_settings(model_backend="openai_compatible"), AGENTS)
