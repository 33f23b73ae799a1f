"""Settings: production refuses development secrets, weak or shared keys, clear-text mail
and the file mailer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agentbus_auth.manifest import MANIFEST
from agentbus_auth.settings import AuthSettings, SsoProviderSettings
from agentbus_shared.manifest import DEV_SECRET
from agentbus_shared.settings import InsecureProductionSettings

PRODUCTION_DB = "postgresql://auth:s3cret-pw@db:5432/agentbus"
PRODUCTION_REDIS = "redis://:s3cret-pw@redis:6379/0"
PRODUCTION_KEK = "a-real-key-encryption-key-0123456789"
PRODUCTION_CODE_KEY = "a-real-code-key-0123456789abcdef"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", PRODUCTION_DB)
    monkeypatch.setenv("REDIS_URL", PRODUCTION_REDIS)
    monkeypatch.setenv("AUTH_KEY_ENCRYPTION_KEY", PRODUCTION_KEK)
    monkeypatch.setenv("AUTH_CODE_KEY", PRODUCTION_CODE_KEY)
    monkeypatch.setenv("AUTH_MAIL_BACKEND", "smtp")
    return monkeypatch


def test_production_refuses_development_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", PRODUCTION_DB)
    monkeypatch.setenv("AUTH_MAIL_BACKEND", "smtp")
    with pytest.raises((InsecureProductionSettings, ValidationError)) as caught:
        AuthSettings()
    assert "AUTH_KEY_ENCRYPTION_KEY" in str(caught.value)
    assert "AUTH_CODE_KEY" in str(caught.value)


def test_production_refuses_the_file_mailer(production: pytest.MonkeyPatch) -> None:
    production.setenv("AUTH_MAIL_BACKEND", "file")
    with pytest.raises(ValidationError, match="AUTH_MAIL_BACKEND"):
        AuthSettings()
    production.setenv("AUTH_MAIL_BACKEND", "smtp")
    assert AuthSettings().mail_backend == "smtp"


def test_production_refuses_a_one_character_key_encryption_key(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("AUTH_KEY_ENCRYPTION_KEY", "x")
    with pytest.raises(ValidationError, match="AUTH_KEY_ENCRYPTION_KEY"):
        AuthSettings()


def test_production_refuses_one_value_for_the_key_encryption_and_code_keys(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("AUTH_CODE_KEY", PRODUCTION_KEK)
    with pytest.raises(ValidationError) as caught:
        AuthSettings()
    assert "AUTH_CODE_KEY (the same key" in str(caught.value)
    assert "AUTH_KEY_ENCRYPTION_KEY (the same key" in str(caught.value)


def test_production_refuses_redis_without_a_password(production: pytest.MonkeyPatch) -> None:
    production.setenv("REDIS_URL", "redis://redis:6379/0")
    with pytest.raises(ValidationError, match="REDIS_URL"):
        AuthSettings()


def test_production_refuses_smtp_without_tls(production: pytest.MonkeyPatch) -> None:
    production.setenv("AUTH_SMTP_SECURITY", "none")
    with pytest.raises(ValidationError, match="AUTH_SMTP_SECURITY"):
        AuthSettings()
    for security in ("starttls", "tls"):
        production.setenv("AUTH_SMTP_SECURITY", security)
        assert AuthSettings().smtp_security == security


def test_valid_production_settings_load(production: pytest.MonkeyPatch) -> None:
    assert AuthSettings().is_production


def test_mail_directory_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTBUS_VAR_DIR", "/srv/agentbus")
    settings = AuthSettings()
    assert settings.mail_path == Path("/srv/agentbus/mail")
    assert (settings.tuning.issuer, settings.tuning.audience) == ("agentbus", "agentbus-api")


def test_the_dev_stack_generates_the_auth_secrets() -> None:
    assert MANIFEST.env["AUTH_KEY_ENCRYPTION_KEY"] == DEV_SECRET
    assert MANIFEST.env["AUTH_CODE_KEY"] == DEV_SECRET
    assert MANIFEST.cli == "agentbus_auth.cli:app"


def test_tuning_knobs_come_from_their_nested_names_or_one_json_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTH_TUNING", '{"lockout_threshold": 9, "argon2_time_cost": 4}')
    monkeypatch.setenv("AUTH_TUNING__ARGON2_TIME_COST", "3")
    tuning = AuthSettings().tuning
    assert (tuning.lockout_threshold, tuning.argon2_time_cost) == (9, 3)
    assert tuning.rpc_timeout == 5.0


def test_a_misspelt_tuning_knob_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_TUNING__LOCKOUT_TRESHOLD", "9")
    with pytest.raises(ValidationError, match="lockout_treshold"):
        AuthSettings()


def test_tuned_copies_change_only_the_knobs_named() -> None:
    settings = AuthSettings(signup_policy="approval")
    tuned = settings.tuned(lockout_threshold=2)
    assert (tuned.tuning.lockout_threshold, tuned.signup_policy) == (2, "approval")
    assert settings.tuning.lockout_threshold == 5
    with pytest.raises(ValidationError):
        settings.tuned(lockout_threshold=0)


SSO_PROVIDER = {
    "id": "okta",
    "name": "Okta",
    "issuer": "https://example.okta.com",
    "client_id": "c",
    "client_secret": "s",
}


def test_sso_email_domains_are_compared_in_one_spelling() -> None:
    provider = SsoProviderSettings.model_validate(
        SSO_PROVIDER | {"allowed_email_domains": ["@Example.COM", "bücher.example.", "example.com"]}
    )
    assert provider.allowed_email_domains == ("example.com", "xn--bcher-kva.example")


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"tenant_id": "t_1"}, "tenant_id needs allowed_email_domains"),
        ({"link_existing_accounts": True}, "link_existing_accounts needs allowed_email_domains"),
        ({"default_role": "owner"}, "member or viewer"),
        ({"default_role": "admin"}, "member or viewer"),
        ({"allowed_email_domains": ["@"]}, "not an email domain"),
    ],
    ids=["tenant-without-domains", "linking-without-domains", "owner", "admin", "empty-domain"],
)
def test_sso_provider_footguns_are_refused(entry: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        SsoProviderSettings.model_validate(SSO_PROVIDER | entry)
