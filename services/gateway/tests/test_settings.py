"""Settings of the gateway: the Stripe webhook secret under either name, the database it never
opens, and tuning knobs set under their former names."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentbus_gateway.settings import DEFAULT_RATE_LIMITS, GatewaySettings
from agentbus_shared.contracts.http import RATE_GROUPS

LIVE = "whsec_Zq3vN8rT1xK5mW7pB2cY9dF4gH6jL0sA"
PREVIOUS = "whsec_Pn4Rw9Tb2Xc7Vk5Mz1Qh8Jd3Lf6Gs0Ya"
PRODUCTION_REDIS = "redis://:Str0ng-and-long@redis:6379/0"


@pytest.fixture(autouse=True)
def _no_webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STRIPE_WEBHOOK_SECRETS", "STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)


def test_the_single_secret_stripe_names_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", LIVE)
    assert GatewaySettings(_env_file=None).webhook_secrets() == [LIVE]  # type: ignore[call-arg]


def test_the_single_secret_is_read_when_the_list_is_left_blank(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # .env.example lists STRIPE_WEBHOOK_SECRETS= blank; whoever adds Stripe's own name is heard.
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRETS", "")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", LIVE)
    assert GatewaySettings(_env_file=None).webhook_secrets() == [LIVE]  # type: ignore[call-arg]


def test_the_rotation_list_wins_over_the_single_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_forgotten")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRETS", f"{LIVE},{PREVIOUS}")
    settings = GatewaySettings(_env_file=None)  # type: ignore[call-arg]
    assert settings.webhook_secrets() == [LIVE, PREVIOUS]


def test_production_holds_the_single_secret_to_the_same_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("REDIS_URL", PRODUCTION_REDIS)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_short")
    with pytest.raises(ValueError, match="STRIPE_WEBHOOK_SECRETS"):
        GatewaySettings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", LIVE)
    assert GatewaySettings(_env_file=None).is_production  # type: ignore[call-arg]


def test_the_gateway_needs_no_database_because_its_manifest_declares_none() -> None:
    assert GatewaySettings.manifest is not None and GatewaySettings.manifest.schema is None
    assert (GatewaySettings.uses_database, GatewaySettings.uses_redis) == (False, True)


def test_a_knob_under_its_former_name_is_refused_naming_the_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_SSE_HEARTBEAT", "5")
    monkeypatch.setenv("RPC_TIMEOUT", "2")
    with pytest.raises(ValueError, match="moved into tuning") as caught:
        GatewaySettings(_env_file=None)  # type: ignore[call-arg]
    assert "GATEWAY_SSE_HEARTBEAT (now GATEWAY_TUNING__SSE_HEARTBEAT)" in str(caught.value)
    assert "RPC_TIMEOUT (now GATEWAY_TUNING__RPC_TIMEOUT)" in str(caught.value)


def test_a_knob_under_its_former_name_in_the_env_file_is_refused_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("RPC_TIMEOUT=3\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"RPC_TIMEOUT \(now GATEWAY_TUNING__RPC_TIMEOUT\)"):
        GatewaySettings()


def test_the_default_quotas_cover_exactly_the_declared_rate_groups() -> None:
    """Routes name their group from the contracts; test stacks raise every group in RATE_GROUPS."""
    assert set(DEFAULT_RATE_LIMITS) == set(RATE_GROUPS)
