"""Settings: production refuses development secrets and the file mailer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agentbus_auth.manifest import MANIFEST
from agentbus_auth.settings import AuthSettings
from agentbus_shared.manifest import DEV_SECRET
from agentbus_shared.settings import InsecureProductionSettings

PRODUCTION_DB = "postgresql://auth:s3cret-pw@db:5432/agentbus"


def test_production_refuses_development_secrets(monkeypatch: Any) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", PRODUCTION_DB)
    monkeypatch.setenv("AUTH_MAIL_BACKEND", "smtp")
    with pytest.raises((InsecureProductionSettings, ValidationError)) as caught:
        AuthSettings()
    assert "AUTH_KEY_ENCRYPTION_KEY" in str(caught.value)
    assert "AUTH_CODE_KEY" in str(caught.value)


def test_production_refuses_the_file_mailer(monkeypatch: Any) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", PRODUCTION_DB)
    monkeypatch.setenv("AUTH_KEY_ENCRYPTION_KEY", "a-real-key-encryption-key-0123456789")
    monkeypatch.setenv("AUTH_CODE_KEY", "a-real-code-key-0123456789abcdef")
    with pytest.raises(ValidationError, match="AUTH_MAIL_BACKEND"):
        AuthSettings()
    monkeypatch.setenv("AUTH_MAIL_BACKEND", "smtp")
    assert AuthSettings().mail_backend == "smtp"


def test_operators_and_mail_directory_come_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("AUTH_PLATFORM_OPERATORS", " Ops@Example.com ,, root@example.com")
    monkeypatch.setenv("AGENTBUS_VAR_DIR", "/srv/agentbus")
    settings = AuthSettings()
    assert settings.operator_emails == frozenset({"ops@example.com", "root@example.com"})
    assert settings.mail_path == Path("/srv/agentbus/mail")
    assert (settings.issuer, settings.audience) == ("agentbus", "agentbus-api")


def test_the_dev_stack_generates_the_auth_secrets() -> None:
    assert MANIFEST.env["AUTH_KEY_ENCRYPTION_KEY"] == DEV_SECRET
    assert MANIFEST.env["AUTH_CODE_KEY"] == DEV_SECRET
    assert MANIFEST.cli == "agentbus_auth.cli:app"
