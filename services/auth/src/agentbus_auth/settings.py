"""Settings of the auth service: the shared ones plus ``AUTH_*``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from agentbus_shared.contracts.auth import TOKEN_AUDIENCE, TOKEN_ISSUER
from agentbus_shared.settings import ServiceSettings, env

SignupPolicy = Literal["public", "invite_only", "approval"]
MailBackend = Literal["file", "smtp"]

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_")
    secret_keys: ClassVar[tuple[str, ...]] = ("key_encryption_key", "code_key")

    # ---------------------------------------------------------------- tokens
    issuer: str = TOKEN_ISSUER
    audience: str = TOKEN_AUDIENCE
    access_token_ttl: int = Field(15 * MINUTE, ge=60, le=DAY)
    refresh_token_ttl: int = Field(14 * DAY, ge=MINUTE, description="idle lifetime of a session")
    session_max_age: int = Field(30 * DAY, ge=MINUTE, description="absolute lifetime of a session")
    jwks_max_age: int = Field(5 * MINUTE, ge=0, le=DAY)
    keys_reload_interval: float = Field(10.0, gt=0, le=300)
    key_encryption_key: SecretStr = SecretStr("dev-insecure-key-encryption-key")
    """Encrypts signing keys and TOTP secrets at rest (AES-256-GCM under an HKDF-derived key)."""

    # ---------------------------------------------------------------- passwords
    argon2_time_cost: int = Field(2, ge=1)
    argon2_memory_kib: int = Field(19 * 1024, ge=8 * 1024)
    argon2_parallelism: int = Field(1, ge=1)
    hash_workers: int = Field(0, ge=0, description="threads for password hashing; 0 = one per core")
    password_min_length: int = Field(12, ge=8)
    password_history: int = Field(5, ge=0, le=24)

    # ---------------------------------------------------------------- lockout and throttling
    lockout_threshold: int = Field(5, ge=1)
    lockout_window: int = Field(15 * MINUTE, ge=1)
    lockout_base: int = Field(MINUTE, ge=1, description="first lock; each further lock doubles it")
    lockout_max: int = Field(HOUR, ge=1)
    ip_failure_limit: int = Field(50, ge=1)
    ip_failure_window: int = Field(15 * MINUTE, ge=1)

    # ---------------------------------------------------------------- one-time codes, MFA, invites
    code_key: SecretStr = SecretStr("dev-insecure-code-key")
    """HMAC key of one-time codes, recovery codes and invite tokens."""
    verify_code_ttl: int = Field(HOUR, ge=MINUTE)
    reset_code_ttl: int = Field(15 * MINUTE, ge=MINUTE)
    code_attempts: int = Field(5, ge=1)
    code_requests_per_hour: int = Field(5, ge=1)
    mfa_challenge_ttl: int = Field(5 * MINUTE, ge=30)
    mfa_challenge_attempts: int = Field(5, ge=1)
    totp_issuer: str = "Agentbus"
    invite_ttl: int = Field(7 * DAY, ge=HOUR)

    # ---------------------------------------------------------------- tenants
    signup_policy: SignupPolicy = "public"

    # ---------------------------------------------------------------- mail
    mail_backend: MailBackend = "file"
    mail_from: str = "Agentbus <no-reply@agentbus.localhost>"
    mail_dir: str | None = Field(None, description="file backend: default $AGENTBUS_VAR_DIR/mail")
    var_dir: str = Field("var", validation_alias=env("AGENTBUS_VAR_DIR"))
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(10.0, gt=0)

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
    def _no_mail_files_in_production(self) -> Self:
        if self.is_production and self.mail_backend == "file":
            raise ValueError("AUTH_MAIL_BACKEND=file is for development; use smtp in production")
        return self
