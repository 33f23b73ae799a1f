"""Settings, errors, ids, logging: the small pieces every service leans on."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from pydantic import BaseModel, Field, ValidationError

from agentbus_shared.contracts.common import Principal
from agentbus_shared.errors import (
    Conflict,
    ErrorBody,
    Forbidden,
    RateLimited,
    ValidationFailed,
    error_from_body,
    problem_details,
    validation_errors,
)
from agentbus_shared.ids import new_id, ulid
from agentbus_shared.logging import configure_logging, get_logger
from agentbus_shared.settings import InsecureProductionSettings, ServiceSettings


class PaymentSettings(ServiceSettings):
    model_config = ServiceSettings.model_config | {"env_prefix": "PAY_"}

    signing_secret: object = Field(default=None)


# ------------------------------------------------------------------ settings
def test_settings_read_shared_names_and_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://elsewhere:4222")
    monkeypatch.setenv("TUNING__RPC_TIMEOUT", "2.5")
    settings = ServiceSettings()
    assert settings.nats_url == "nats://elsewhere:4222"
    assert settings.tuning.rpc_timeout == 2.5


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2hunter2@db/agentbus")
    assert "hunter2" not in repr(ServiceSettings())
    assert "hunter2" not in str(ServiceSettings().model_dump())


def test_production_refuses_development_secrets_and_names_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValidationError) as caught:
        ServiceSettings()
    assert "DATABASE_URL" in str(caught.value)

    from pydantic import SecretStr
    from pydantic_settings import SettingsConfigDict

    class KeyedSettings(ServiceSettings):
        model_config = SettingsConfigDict(env_prefix="AUTH_")
        key_encryption_key: SecretStr = SecretStr("dev-insecure-kek")

    monkeypatch.setenv("DATABASE_URL", "postgresql://app:Str0ng-and-long@db/agentbus")
    monkeypatch.setenv("REDIS_URL", "redis://:Str0ng-and-long@redis:6379/0")
    with pytest.raises(ValidationError) as caught:
        KeyedSettings()
    assert "AUTH_KEY_ENCRYPTION_KEY" in str(caught.value)
    assert isinstance(caught.value.errors()[0]["ctx"]["error"], InsecureProductionSettings)

    monkeypatch.setenv("AUTH_KEY_ENCRYPTION_KEY", "a-real-key-from-the-secret-store")
    assert KeyedSettings().is_production


def test_development_accepts_its_defaults() -> None:
    assert ServiceSettings().insecure_settings() != []  # they are insecure…
    ServiceSettings()  # …and allowed outside production


# ------------------------------------------------------------------ errors
def test_problem_details_carry_code_and_safe_detail() -> None:
    body = problem_details(Conflict("The email is already registered.", details={"field": "email"}))
    assert body == {
        "type": "urn:agentbus:problem:conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "The email is already registered.",
        "code": "conflict",
        "details": {"field": "email"},
    }


def test_validation_problem_lists_errors() -> None:
    class Body(BaseModel):
        email: str
        age: int

    with pytest.raises(ValidationError) as caught:
        Body.model_validate({"age": "old"})
    error = ValidationFailed(details=validation_errors(caught.value.errors()))
    body = problem_details(error)
    assert body["status"] == 422
    assert {tuple(e["loc"]) for e in body["errors"]} == {("email",), ("age",)}
    assert all(set(e) == {"loc", "msg", "type"} for e in body["errors"])


def test_remote_error_keeps_its_code_status_and_retry_after() -> None:
    envelope = RateLimited("Slow down.", retry_after=7, code="quota_exceeded").to_envelope()
    error = error_from_body(ErrorBody.model_validate(envelope["error"]))
    assert (error.code, error.status, error.retry_after) == ("quota_exceeded", 429, 7)
    assert isinstance(error, RateLimited)
    unknown = error_from_body(ErrorBody(code="teapot", message="no", status=418))
    assert (unknown.code, unknown.status) == ("teapot", 418)


def test_principal_requires_scopes() -> None:
    principal = Principal(subject="u_1", tenant_id="t_1", scopes=frozenset({"billing:read"}))
    principal.require("billing:read")
    with pytest.raises(Forbidden) as caught:
        principal.require("billing:read", "billing:manage")
    assert caught.value.details == {"missing_scopes": ["billing:manage"]}
    service_account = Principal(kind="service_account", subject="sa_1", tenant_id="t_1")
    with pytest.raises(Forbidden):
        _ = service_account.user_id


# ------------------------------------------------------------------ ids
def test_ids_are_prefixed_unique_and_time_ordered() -> None:
    first = ulid(1_000)
    later = ulid(2_000)
    assert first < later
    ids = {new_id("t") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("t_") and len(i) == 28 for i in ids)


# ------------------------------------------------------------------ logging
def test_logs_are_json_with_secrets_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("demo", level="INFO", fmt="json")
    stream = io.StringIO()
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    with structlog.contextvars.bound_contextvars(request_id="req-1"):
        get_logger("t").info(
            "user.login", email="a@b.co", password="hunter2", nested={"api_key": "sk_live_1"}
        )
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "user.login"
    assert line["request_id"] == "req-1"
    assert line["service"] == "demo"
    assert line["password"] == "[redacted]"
    assert line["nested"]["api_key"] == "[redacted]"
    assert "hunter2" not in stream.getvalue()
