"""Settings of the auth service: the shared ones plus ``AUTH_*``, and its tuning (``AUTH_TUNING``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from agentbus_auth.manifest import MANIFEST
from agentbus_shared.contracts.auth import TOKEN_AUDIENCE, TOKEN_ISSUER
from agentbus_shared.contracts.common import Role
from agentbus_shared.contracts.signup import SignupPolicyName
from agentbus_shared.manifest import ServiceManifest
from agentbus_shared.settings import ServiceSettings, ServiceTuning, deployment_setting, env

SignupPolicy = SignupPolicyName
"""Who may sign up (the contract's type, under the name the settings' readers import)."""
MailBackend = Literal["file", "smtp"]

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR


class AuthTuning(ServiceTuning):
    """Token lifetimes, password hashing, lockout and code limits of the auth service."""

    # ---------------------------------------------------------------- tokens
    issuer: str = Field(TOKEN_ISSUER, description="iss of access tokens (the gateway checks it)")
    audience: str = Field(
        TOKEN_AUDIENCE, description="aud of access tokens (the gateway checks it)"
    )
    access_token_ttl: int = Field(
        15 * MINUTE, ge=60, le=DAY, description="seconds an access token is valid"
    )
    refresh_token_ttl: int = Field(
        14 * DAY, ge=MINUTE, description="idle lifetime of a session (seconds)"
    )
    session_max_age: int = Field(
        30 * DAY, ge=MINUTE, description="absolute lifetime of a session (seconds)"
    )
    jwks_max_age: int = Field(
        5 * MINUTE, ge=0, le=DAY, description="seconds clients may cache the JWKS"
    )
    keys_reload_interval: float = Field(
        10.0, gt=0, le=300, description="how often each auth process reloads the signing keys"
    )

    # ---------------------------------------------------------------- passwords
    argon2_time_cost: int = Field(
        2, ge=1, description="argon2id passes (hashes are upgraded at the next login)"
    )
    argon2_memory_kib: int = Field(19 * 1024, ge=8 * 1024, description="argon2id memory (KiB)")
    argon2_parallelism: int = Field(1, ge=1, description="argon2id lanes")
    hash_workers: int = Field(0, ge=0, description="threads hashing passwords; 0: one per core")
    password_min_length: int = Field(12, ge=8, description="shortest password accepted")
    password_history: int = Field(
        5, ge=0, le=24, description="previous passwords that may not be reused"
    )

    # ---------------------------------------------------------------- lockout and throttling
    lockout_threshold: int = Field(
        5, ge=1, description="failed logins within lockout_window that lock an account"
    )
    lockout_window: int = Field(15 * MINUTE, ge=1, description="seconds failures are counted")
    lockout_base: int = Field(
        MINUTE, ge=1, description="first lock (seconds); each further lock doubles it"
    )
    lockout_max: int = Field(HOUR, ge=1, description="longest lock (seconds)")
    ip_failure_limit: int = Field(
        50, ge=1, description="failed logins from one IP within ip_failure_window before throttling"
    )
    ip_failure_window: int = Field(15 * MINUTE, ge=1, description="seconds IP failures count")

    # ---------------------------------------------------------------- one-time codes, MFA, invites
    verify_code_ttl: int = Field(HOUR, ge=MINUTE, description="email verification code lifetime")
    reset_code_ttl: int = Field(15 * MINUTE, ge=MINUTE, description="password reset code lifetime")
    code_attempts: int = Field(5, ge=1, description="wrong attempts a one-time code allows")
    code_requests_per_hour: int = Field(
        5, ge=1, description="codes one address may request per hour"
    )
    mfa_challenge_ttl: int = Field(
        5 * MINUTE, ge=30, description="seconds an MFA challenge stays open"
    )
    mfa_challenge_attempts: int = Field(5, ge=1, description="wrong codes an MFA challenge allows")
    invite_ttl: int = Field(7 * DAY, ge=HOUR, description="seconds an invitation stays valid")

    # ---------------------------------------------------------------- who may sign up
    signup_invite_ttl: int = Field(
        7 * DAY, ge=HOUR, description="seconds a platform signup invite stays valid"
    )
    signup_quota_window: int = Field(
        HOUR, ge=MINUTE, description="seconds the signup quotas per IP and per email domain count"
    )
    signup_ip_limit: int = Field(
        30,
        ge=1,
        description="registrations one client IP may make per window; access requests count apart",
    )
    signup_domain_limit: int = Field(
        100,
        ge=1,
        description="registrations for one email domain per window; access requests count apart",
    )

    # ---------------------------------------------------------------- mail
    smtp_timeout: float = Field(10.0, gt=0, description="seconds per SMTP exchange")


def idna_host(host: str) -> str:
    """``host`` lower-cased in its IDNA form (``Bücher.example`` → ``xn--bcher-kva.example``);
    ``UnicodeError`` for a name IDNA cannot encode."""
    return host.lower().encode("idna").decode("ascii")


def email_domain(value: str) -> str:
    """An email domain as single sign-on compares them: lower-case IDNA, no ``@`` or final dot;
    ``ValueError`` for one that is not a domain."""
    domain = value.strip().lstrip("@").rstrip(".")
    try:
        ascii_domain = idna_host(domain)
    except UnicodeError as exc:
        raise ValueError(f"not an email domain: {value!r}") from exc
    if not ascii_domain or "@" in ascii_domain:
        raise ValueError(f"not an email domain: {value!r}")
    return ascii_domain


SSO_ROLES = frozenset({Role.MEMBER, Role.VIEWER})
"""The roles a provider's new people may get in its tenant: never owner or admin."""


class SsoProviderSettings(BaseModel):
    """One OpenID Connect provider people may sign in with: an entry of ``AUTH_SSO_PROVIDERS``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,31}$", description="in its routes: /auth/sso/<id>/start"
    )
    name: str = Field(
        min_length=1, max_length=64, description="on the button: Continue with <name>"
    )
    issuer: str = Field(
        min_length=1, description="its issuer URL; /.well-known/openid-configuration is read there"
    )
    client_id: str = Field(min_length=1, description="this application's client id there")
    client_secret: SecretStr = Field(description="this application's client secret there")
    allowed_email_domains: tuple[str, ...] = Field(
        (), description="email domains it may sign in; empty: any"
    )
    link_existing_accounts: bool = Field(
        False,
        description="link an existing account by the provider's verified email (only for "
        "allowed_email_domains, never an operator's; an account with a second factor is refused)",
    )
    auto_provision: bool = Field(
        False, description="create an account for an unknown person (public signup policy only)"
    )
    tenant_id: str | None = Field(
        None, description="the tenant new accounts join; none: each gets a tenant of its own"
    )
    default_role: Role = Field(Role.MEMBER, description="their role in tenant_id: member or viewer")

    @field_validator("allowed_email_domains")
    @classmethod
    def _normalized_domains(cls, domains: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(email_domain(domain) for domain in domains))

    @field_validator("default_role")
    @classmethod
    def _no_administrators(cls, role: Role) -> Role:
        if role not in SSO_ROLES:
            raise ValueError("default_role: member or viewer (owner and admin are granted by hand)")
        return role

    @model_validator(mode="after")
    def _domains_bound_who_joins_or_links(self) -> Self:
        if self.tenant_id is not None and not self.allowed_email_domains:
            raise ValueError(f"{self.id}: tenant_id needs allowed_email_domains")
        if self.link_existing_accounts and not self.allowed_email_domains:
            raise ValueError(f"{self.id}: link_existing_accounts needs allowed_email_domains")
        return self


class AuthSettings(ServiceSettings):
    """What the auth service reads: keys, sign-up policy, public URL and mail."""

    model_config = SettingsConfigDict(env_prefix="AUTH_")
    manifest: ClassVar[ServiceManifest | None] = MANIFEST
    secret_keys: ClassVar[tuple[str, ...]] = ("key_encryption_key", "code_key")

    key_encryption_key: SecretStr = Field(
        SecretStr("dev-insecure-key-encryption-key"),
        description="encrypts the signing keys and TOTP secrets at rest (AES-256-GCM); keep it, "
        "the stored keys cannot be read without it",
    )
    code_key: SecretStr = Field(
        SecretStr("dev-insecure-code-key"),
        description="HMAC key of one-time codes, recovery codes and invite tokens",
    )
    signup_policy: SignupPolicy = Field(
        "public", description="who may sign up: public, invite_only or approval"
    )
    public_url: str = Field(
        "http://127.0.0.1:8000", description="public URL of the API, in the links mails contain"
    )
    totp_issuer: str = Field("Agentbus", description="product name in authenticator apps and mails")
    terms_version: str = Field(
        "2026-12-01",
        min_length=1,
        max_length=64,
        description="version of the terms of service every account accepts; a new one is asked "
        "for at each account's next login",
    )
    privacy_version: str = Field(
        "2026-12-01",
        min_length=1,
        max_length=64,
        description="version of the privacy notice every account accepts; a new one is asked "
        "for at each account's next login",
    )
    terms_url: str | None = Field(
        None,
        pattern=r"^https?://\S+$",
        max_length=2048,
        description="address of the published terms of service, linked where they are accepted",
    )
    privacy_url: str | None = Field(
        None,
        pattern=r"^https?://\S+$",
        max_length=2048,
        description="address of the published privacy notice, linked where it is accepted",
    )
    geoip_database: str | None = Field(
        None,
        description="path to a MaxMind-format (.mmdb) city or country database locating "
        "sessions and audit entries by IP; unset: no locations",
    )

    sso_providers: tuple[SsoProviderSettings, ...] = Field(
        (),
        description="single sign-on providers (OpenID Connect), a JSON list of {id, name, issuer, "
        "client_id, client_secret, allowed_email_domains, link_existing_accounts, auto_provision, "
        "tenant_id, default_role}: see docs/operations/single-sign-on.md",
    )
    # ---------------------------------------------------------------- mail
    mail_backend: MailBackend = Field(
        "file", description="smtp in deployment; file writes one file per message (development)"
    )
    mail_from: str = Field(
        "Agentbus <no-reply@agentbus.localhost>", description="sender of every mail"
    )
    smtp_host: str = Field("127.0.0.1", description="your mail relay")
    smtp_port: int = Field(587, ge=1, le=65535, description="the mail relay's port")
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        "starttls", description="none, starttls or tls; production refuses none"
    )
    smtp_username: str | None = Field(None, description="login at the mail relay")
    smtp_password: SecretStr | None = Field(None, description="password at the mail relay")
    mail_dir: str | None = deployment_setting(
        None, description="file backend: where messages go (default $AGENTBUS_VAR_DIR/mail)"
    )
    var_dir: str = deployment_setting(
        "var", validation_alias=env("AGENTBUS_VAR_DIR"), description="the data directory"
    )

    tuning: AuthTuning = Field(default_factory=AuthTuning)

    @property
    def mail_path(self) -> Path:
        return Path(self.mail_dir) if self.mail_dir else Path(self.var_dir) / "mail"

    def insecure_settings(self) -> list[str]:
        """As for every service, plus mail that would leave in clear text."""
        found = super().insecure_settings()
        if self.mail_backend == "smtp" and self.smtp_security == "none":
            found.append("AUTH_SMTP_SECURITY (none: codes would cross the network unencrypted)")
        return found

    @model_validator(mode="after")
    def _sso_over_https_in_production(self) -> Self:
        plain = [p.id for p in self.sso_providers if not p.issuer.startswith("https://")]
        if self.is_production and plain:
            raise ValueError(f"AUTH_SSO_PROVIDERS: issuers must be https in production: {plain}")
        return self

    @model_validator(mode="after")
    def _no_mail_files_in_production(self) -> Self:
        if self.is_production and self.mail_backend == "file":
            raise ValueError("AUTH_MAIL_BACKEND=file is for development; use smtp in production")
        return self
