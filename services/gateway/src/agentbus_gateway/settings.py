"""Settings of the gateway: the shared ones plus ``GATEWAY_*`` and the Stripe webhook secrets, and
its tuning (``GATEWAY_TUNING``).

Complex values (lists, the rate-limit table) are read from the environment as
JSON, e.g. ``GATEWAY_TRUSTED_PROXIES='["10.0.0.0/8"]'`` or
``GATEWAY_TUNING__RATE_LIMITS='{"strict": {"ip": {"limit": 5, "window": 60}}}'``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from agentbus_gateway.manifest import MANIFEST
from agentbus_gateway.tokens import SUPPORTED_ALGORITHMS
from agentbus_shared.contracts.auth import TOKEN_AUDIENCE, TOKEN_ISSUER
from agentbus_shared.contracts.http import GatewayRateGroup
from agentbus_shared.manifest import ServiceManifest
from agentbus_shared.settings import ServiceSettings, ServiceTuning, deployment_setting, env

MIN_PROXY_PREFIX = {4: 8, 6: 8}
"""The widest trusted-proxy network production accepts, by IP version: anything wider (a
catch-all like ``0.0.0.0/0`` or ``::/0``) would let any client choose its own address."""
EDGE_GROUP: GatewayRateGroup = "edge"
"""Rate group of the gateway's own public routes: health, readiness, JWKS."""
WEBHOOK_GROUP: GatewayRateGroup = "webhooks"
"""Rate group of the Stripe intake."""


class Quota(BaseModel):
    """``limit`` requests per ``window`` seconds, refilled evenly (GCRA)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: int = Field(ge=1)
    window: float = Field(gt=0)


class GroupLimits(BaseModel):
    """The quotas of one rate group, by what is counted. ``None``: not limited that way."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ip: Quota | None = Field(
        None, description="per client IP (every caller, with or without token)"
    )
    user: Quota | None = Field(None, description="per principal (user or service account)")
    tenant: Quota | None = Field(None, description="per tenant")


def _q(limit: int, window: float = 60.0) -> Quota:
    return Quota(limit=limit, window=window)


DEFAULT_RATE_LIMITS: dict[str, GroupLimits] = {
    # login, register, password and MFA flows: brute force is the threat
    "strict": GroupLimits(ip=_q(30), user=_q(10)),
    "anonymous": GroupLimits(ip=_q(300)),
    "authenticated": GroupLimits(user=_q(600), tenant=_q(3000)),
    "operator": GroupLimits(user=_q(60)),
    EDGE_GROUP: GroupLimits(ip=_q(1200)),
    WEBHOOK_GROUP: GroupLimits(ip=_q(6000)),
}


class GatewayTuning(ServiceTuning):
    """Readiness, token checks, body size, rate limits and server-sent events of the gateway."""

    services: tuple[str, ...] = Field(
        ("auth", "chat", "billing"), description="services whose ping readiness needs"
    )
    ping_timeout: float = Field(1.0, gt=0, description="seconds readiness waits for each ping")

    # ---------------------------------------------------------- tokens
    token_issuer: str = Field(TOKEN_ISSUER, description="iss access tokens must carry")
    token_audience: str = Field(TOKEN_AUDIENCE, description="aud access tokens must carry")
    token_algorithms: tuple[str, ...] = Field(
        ("Ed25519",),
        min_length=1,
        description="accepted JWS algorithms: Ed25519, the one auth signs with; "
        "any other (EdDSA, none, HMAC) is refused at start-up",
    )
    token_leeway: int = Field(30, ge=0, le=300, description="clock skew allowed, seconds")
    jwks_refresh_cooldown: float = Field(
        30.0, ge=0, description="least seconds between key-set refreshes caused by unknown kids"
    )
    jwks_retry_interval: float = Field(5.0, gt=0, description="retry delay while auth is away")

    # ---------------------------------------------------------- edge
    max_body_bytes: int = Field(1_048_576, ge=1024, description="largest request body (bytes)")

    # ---------------------------------------------------------- rate limits
    rate_limits: dict[str, GroupLimits] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description='quotas per rate group, e.g. {"strict": {"ip": {"limit": 5, "window": 60}}}; '
        "groups not named keep their defaults",
    )
    rate_limit_fail_open_edge: bool = Field(
        True, description="let health and JWKS through while Redis is down"
    )

    # ---------------------------------------------------------- server-sent events
    sse_heartbeat: float = Field(
        15.0, gt=0, le=15.0, description="seconds between heartbeats (at most 15)"
    )
    sse_queue_size: int = Field(256, ge=1, description="frames buffered for a slow client")
    sse_idle_timeout: float = Field(300.0, gt=0, description="a chat run silent this long ends")
    sse_run_check: float = Field(
        5.0,
        gt=0,
        description="a chat stream silent this long (or a POST /chat waiting this long for "
        "its reply) asks chat whether its run still runs; a run lost with its replica ends "
        "the stream with an error frame, or the request with 503, code run_lost",
    )
    sse_max_per_user: int = Field(5, ge=1, description="open streams allowed per user")
    sse_max_per_tenant: int = Field(50, ge=1, description="open streams allowed per tenant")

    # ---------------------------------------------------------- Stripe intake
    stripe_tolerance: int = Field(
        300, ge=1, description="seconds a Stripe signature stays acceptable"
    )

    @field_validator("token_algorithms")
    @classmethod
    def _supported_algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unsupported = sorted(set(value) - SUPPORTED_ALGORITHMS)
        if unsupported:
            raise ValueError(
                "GATEWAY_TUNING__TOKEN_ALGORITHMS: unsupported "
                + ", ".join(unsupported)
                + "; supported: "
                + ", ".join(sorted(SUPPORTED_ALGORITHMS))
            )
        return value

    @field_validator("rate_limits")
    @classmethod
    def _default_groups(cls, value: dict[str, GroupLimits]) -> dict[str, GroupLimits]:
        """A table that names only some groups keeps the defaults of the others."""
        return {**DEFAULT_RATE_LIMITS, **value}


class GatewaySettings(ServiceSettings):
    """What the gateway reads: who may call it from where, and the Stripe webhook secrets."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_")
    manifest: ClassVar[ServiceManifest | None] = MANIFEST
    secret_keys: ClassVar[tuple[str, ...]] = ("stripe_webhook_secrets",)

    stripe_webhook_secrets: SecretStr = Field(
        SecretStr("dev-insecure-stripe-webhook-secret"),
        validation_alias=env("STRIPE_WEBHOOK_SECRETS", "STRIPE_WEBHOOK_SECRET"),
        description="Stripe webhook signing secrets, comma separated: the current one first, "
        "the previous one too during a rotation (docs/runbooks/stripe-webhooks.md). "
        "STRIPE_WEBHOOK_SECRET, the name Stripe's guides use, is read when "
        "STRIPE_WEBHOOK_SECRETS is unset",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="CIDRs of proxies whose X-Forwarded-For is believed (JSON list, e.g. "
        '["10.0.0.0/8"]: your load balancer); production refuses networks wider than /8',
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="browser origins allowed by CORS (JSON list)"
    )
    cors_allow_credentials: bool = Field(
        False, description="whether those origins may send credentials"
    )
    web_dir: Path | None = deployment_setting(
        None,
        description="the built web app served at / (the image and the dev stack set it; unset, "
        "or without an index.html there, / is not served)",
    )
    metrics_port: int = deployment_setting(
        8100,
        ge=0,
        le=65535,
        description="port of the internal listener serving /metrics, for Prometheus only "
        "(0: any free port); the public HTTP_PORT answers /metrics with 404",
    )

    tuning: GatewayTuning = Field(default_factory=GatewayTuning)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value

    @model_validator(mode="after")
    def _sane_edge(self) -> Self:
        if self.metrics_port and self.metrics_port == self.http_port:
            raise ValueError("GATEWAY_METRICS_PORT must differ from the public HTTP_PORT")
        if self.cors_allow_credentials and "*" in self.cors_origins:
            raise ValueError("CORS: a wildcard origin cannot be combined with credentials")
        return self

    def insecure_settings(self) -> list[str]:
        """As for every service, plus proxies trusted so widely that any client could name
        its own address in X-Forwarded-For."""
        found = super().insecure_settings()
        wide = [str(n) for n in self.proxy_networks() if n.prefixlen < MIN_PROXY_PREFIX[n.version]]
        if wide:
            found.append(f"GATEWAY_TRUSTED_PROXIES (too wide to trust: {', '.join(wide)})")
        return found

    def webhook_secrets(self) -> list[str]:
        return [
            s.strip()
            for s in self.stripe_webhook_secrets.get_secret_value().split(",")
            if s.strip()
        ]

    def proxy_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(cidr, strict=False) for cidr in self.trusted_proxies]
