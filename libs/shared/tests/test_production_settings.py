"""Production refuses weak settings, naming each one: keys, lists of secrets, the passwords of the
stores a service's manifest declares."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from agentbus_shared.manifest import ServiceManifest
from agentbus_shared.settings import ServiceSettings

STRONG = "Zq3vN8rT1xK5mW7pB2cY9dF4gH6jL0sA"
OTHER_STRONG = "Pn4Rw9Tb2Xc7Vk5Mz1Qh8Jd3Lf6Gs0Ya"


class KeyedSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="VAULT_")
    secret_keys: ClassVar[tuple[str, ...]] = ("sealing_key", "mac_key", "signing_secrets")

    sealing_key: SecretStr = SecretStr("dev-insecure-sealing-key")
    mac_key: SecretStr = SecretStr("dev-insecure-mac-key")
    signing_secrets: SecretStr = SecretStr("dev-insecure-signing-secret")
    partner_token: SecretStr | None = None


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:Str0ng-and-long@db/agentbus")
    monkeypatch.setenv("REDIS_URL", "redis://:Str0ng-and-long@redis:6379/0")
    monkeypatch.setenv("VAULT_SEALING_KEY", STRONG)
    monkeypatch.setenv("VAULT_MAC_KEY", OTHER_STRONG)
    monkeypatch.setenv("VAULT_SIGNING_SECRETS", f"whsec_{STRONG[::-1]},whsec_{OTHER_STRONG[::-1]}")
    return monkeypatch


def refusal(setting: str) -> str:
    with pytest.raises(ValidationError) as caught:
        KeyedSettings()
    message = str(caught.value)
    assert setting in message
    return message


def test_valid_production_settings_load(production: pytest.MonkeyPatch) -> None:
    assert KeyedSettings().is_production


@pytest.mark.parametrize(
    "key", ["x", "short-but-not-dev", "a" * 64, "ab" * 32], ids=["x", "short", "one", "two"]
)
def test_short_or_repetitive_key_is_refused_in_production(
    key: str, production: pytest.MonkeyPatch
) -> None:
    production.setenv("VAULT_SEALING_KEY", key)
    assert "VAULT_SEALING_KEY (shorter than 32 characters" in refusal("VAULT_SEALING_KEY")


def test_one_value_for_two_keys_is_refused_in_production(production: pytest.MonkeyPatch) -> None:
    production.setenv("VAULT_MAC_KEY", STRONG)
    message = refusal("VAULT_MAC_KEY (the same key")
    assert "VAULT_SEALING_KEY (the same key" in message


def test_development_secret_inside_a_list_is_refused_in_production(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("VAULT_SIGNING_SECRETS", f"whsec_{STRONG},dev-insecure-signing-secret")
    refusal("VAULT_SIGNING_SECRETS")


def test_weak_element_of_a_key_list_is_refused_in_production(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("VAULT_SIGNING_SECRETS", f"whsec_{STRONG},whsec_x")
    refusal("VAULT_SIGNING_SECRETS (shorter than 32 characters")


def test_development_value_of_any_secret_is_refused_in_production(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("VAULT_PARTNER_TOKEN", "tok_live,dev-insecure-partner")
    refusal("VAULT_PARTNER_TOKEN")


@pytest.mark.parametrize(
    "url",
    ["redis://redis:6379/0", "rediss://redis:6380/0", "redis://:dev-insecure-redis@redis:6379/0"],
)
def test_redis_without_a_password_is_refused_in_production(
    url: str, production: pytest.MonkeyPatch
) -> None:
    production.setenv("REDIS_URL", url)
    refusal("REDIS_URL (no password")


def test_redis_with_tls_and_an_acl_user_loads_in_production(
    production: pytest.MonkeyPatch,
) -> None:
    production.setenv("REDIS_URL", "rediss://agentbus:Str0ng-and-long@redis:6380/0")
    assert KeyedSettings().is_production


def test_development_mode_keeps_accepting_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_SEALING_KEY", "x")
    assert KeyedSettings().insecure_settings()


class BusOnlySettings(ServiceSettings):
    """A service whose manifest declares neither a schema nor Redis."""

    manifest: ClassVar[ServiceManifest | None] = ServiceManifest(
        name="relay", module="relay", default_port=8199
    )


def test_stores_the_manifest_does_not_declare_need_no_password_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    assert (BusOnlySettings.uses_database, BusOnlySettings.uses_redis) == (False, False)
    assert BusOnlySettings().is_production


def test_stores_the_manifest_declares_need_a_password_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class StoringSettings(BusOnlySettings):
        manifest: ClassVar[ServiceManifest | None] = ServiceManifest(
            name="ledger", module="ledger", default_port=8198, schema="ledger", needs_redis=True
        )

    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValidationError) as caught:
        StoringSettings()
    assert "DATABASE_URL (no password" in str(caught.value)
    assert "REDIS_URL (no password" in str(caught.value)
