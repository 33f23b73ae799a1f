"""Every table of the auth service, all in schema ``auth`` (the migrations and their drift test
read this metadata), with its outbox and its consumers' processed events."""

from typing import Any, Literal, get_args

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from agentbus_shared.contracts.common import Role
from agentbus_shared.contracts.platform import TenantStatus
from agentbus_shared.contracts.signup import SignupRequestStatus
from agentbus_shared.db import Outbox, outbox_table, processed_events_table, schema_metadata

SCHEMA = "auth"
metadata = schema_metadata(SCHEMA)

UserStatus = Literal["active", "pending_approval", "disabled"]
"""Where an account stands: ``pending_approval`` under the approval signup policy."""

KeyState = Literal["next", "active", "retired"]
"""A signing key's life: published before it signs, published after it stops until its tokens end."""


def _one_of(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in get_args(values))})"


_ROLE_CHECK = f"role IN ({', '.join(repr(r.value) for r in Role)})"

outbox = Outbox(outbox_table(metadata))
processed_events = processed_events_table(metadata)


# ---------------------------------------------------------------- accounts and their password history
users = Table(
    "users",
    metadata,
    Column("id", Text, primary_key=True),
    Column("email", Text, nullable=False),
    Column("email_normalized", Text, nullable=False, unique=True),
    Column("display_name", Text),
    Column("password_hash", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'active'")),
    Column("email_verified_at", DateTime(timezone=True)),
    Column("password_changed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(_one_of("status", UserStatus), name="status"),
)

password_history = Table(
    "password_history",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_password_history_user_id", "user_id", "id"),
)


# ---------------------------------------------------------------- the audit trail
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kind", Text, nullable=False),
    Column("tenant_id", Text),
    Column("user_id", Text),
    Column("actor_id", Text, comment="who acted, when not the user themselves"),
    Column("ip", Text),
    Column("user_agent", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_audit_events_user_id", "user_id", "occurred_at"),
    Index("ix_audit_events_kind", "kind", "occurred_at"),
    Index("ix_audit_events_tenant_id", "tenant_id", "occurred_at"),
)


# ---------------------------------------------------------------- one-time codes (verify email, reset)
one_time_codes = Table(
    "one_time_codes",
    metadata,
    Column("id", Text, primary_key=True),
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("code_mac", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("consumed_at", DateTime(timezone=True)),
    Index(
        "ix_one_time_codes_open",
        "user_id",
        "purpose",
        postgresql_where=text("consumed_at IS NULL"),
    ),
)


# ---------------------------------------------------------------- signing keys
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", Text, primary_key=True, comment="RFC 7638 thumbprint"),
    Column("state", Text, nullable=False),
    Column("public_jwk", JSONB, nullable=False),
    Column("private_jwk_sealed", LargeBinary, comment="AES-GCM under the KEK; wiped on retirement"),
    Column("kek_fingerprint", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("activated_at", DateTime(timezone=True)),
    Column("retired_at", DateTime(timezone=True)),
    Column("publish_until", DateTime(timezone=True), comment="retired: last moment in the JWKS"),
    CheckConstraint(_one_of("state", KeyState), name="state"),
    Index(
        "uq_signing_keys_active", "state", unique=True, postgresql_where=text("state = 'active'")
    ),
    Index("uq_signing_keys_next", "state", unique=True, postgresql_where=text("state = 'next'")),
)


# ---------------------------------------------------------------- TOTP, recovery codes, MFA challenges
totp_factors = Table(
    "totp_factors",
    metadata,
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), primary_key=True),
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("last_used_step", BigInteger, comment="replay guard: a time step is accepted once"),
)

recovery_codes = Table(
    "recovery_codes",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("code_mac", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("used_at", DateTime(timezone=True)),
    UniqueConstraint("user_id", "code_mac"),
)

mfa_challenges = Table(
    "mfa_challenges",
    metadata,
    Column("id", Text, primary_key=True),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("consumed_at", DateTime(timezone=True)),
)


# ---------------------------------------------------------------- platform operators (granted one by one)
platform_operators = Table(
    "platform_operators",
    metadata,
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), primary_key=True),
    Column("granted_by", Text, nullable=False, comment="who ran the grant"),
    Column("granted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# ---------------------------------------------------------------- service accounts
service_accounts = Table(
    "service_accounts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, ForeignKey("auth.tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", Text, nullable=False),
    Column("client_id", Text, nullable=False, unique=True),
    Column("secret_hash", LargeBinary, nullable=False),
    Column("scopes", ARRAY(Text), nullable=False),
    Column("created_by", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_service_accounts_tenant_id", "tenant_id", "id"),
)


# ---------------------------------------------------------------- sessions, each a family of refresh tokens
sessions = Table(
    "sessions",
    metadata,
    Column("id", Text, primary_key=True, comment="the sid claim of its access tokens"),
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("tenant_id", Text, ForeignKey("auth.tenants.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_used_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column(
        "access_expires_at", DateTime(timezone=True), comment="expiry of its newest access token"
    ),
    Column("mfa", Boolean, nullable=False, server_default=text("false")),
    Column("ip", Text),
    Column("user_agent", Text),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoke_reason", Text),
    Index("ix_sessions_user_id", "user_id", postgresql_where=text("revoked_at IS NULL")),
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("session_id", Text, ForeignKey("auth.sessions.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("consumed_at", DateTime(timezone=True)),
    Index("ix_refresh_tokens_session_id", "session_id"),
)


# ---------------------------------------------------------------- tenants, memberships and invites
tenants = Table(
    "tenants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("slug", Text, nullable=False, unique=True, comment="unique short name, set by admins"),
    Column("plan", Text, nullable=False, server_default=text("'free'")),
    Column("plan_status", Text),
    Column("plan_changed_at", DateTime(timezone=True), comment="time of the newest plan event"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("status", Text, nullable=False, server_default=text("'active'")),
    Column("suspended_at", DateTime(timezone=True)),
    Column("deprovision_requested_at", DateTime(timezone=True)),
    Column("deleted_at", DateTime(timezone=True)),
    Column("suspended_by", Text, comment="the operator who suspended"),
    Column("suspension_reason", Text),
    CheckConstraint(_one_of("status", TenantStatus), name="status"),
    Index("ix_tenants_created_at_id", "created_at", "id"),
)

tenant_data_parts = Table(
    "tenant_data_parts",
    metadata,
    Column("tenant_id", Text, ForeignKey("auth.tenants.id", ondelete="CASCADE"), nullable=False),
    Column("service", Text, nullable=False),
    Column(
        "deleted_at", DateTime(timezone=True), comment="when the service reported its part deleted"
    ),
    Column("rows_deleted", Integer, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("tenant_id", "service"),
)

memberships = Table(
    "memberships",
    metadata,
    Column("tenant_id", Text, ForeignKey("auth.tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("role", Text, nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("tenant_id", "user_id"),
    CheckConstraint(_ROLE_CHECK, name="role"),
    Index("ix_memberships_user_id", "user_id"),
)

invites = Table(
    "invites",
    metadata,
    Column("id", Text, primary_key=True),
    Column("tenant_id", Text, ForeignKey("auth.tenants.id", ondelete="CASCADE"), nullable=False),
    Column("email", Text, nullable=False),
    Column("email_normalized", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("accepted_at", DateTime(timezone=True)),
    Column("accepted_by", Text),
    Column("revoked_at", DateTime(timezone=True), comment="withdrawn by an admin: never accepted"),
    CheckConstraint(_ROLE_CHECK, name="role"),
    Index("ix_invites_tenant_id", "tenant_id"),
)


# ---------------------------------------------------------------- single sign-on (OpenID Connect)
sso_identities = Table(
    "sso_identities",
    metadata,
    Column("id", Text, nullable=False, unique=True, comment="what the account's owner unlinks by"),
    Column("provider", Text, nullable=False, comment="the provider's id in AUTH_SSO_PROVIDERS"),
    Column("subject", Text, nullable=False, comment="the provider's sub claim"),
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("email", Text, comment="the email the provider asserted last"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_login_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("provider", "subject"),
    Index("ix_sso_identities_user_id", "user_id"),
)

sso_logins = Table(
    "sso_logins",
    metadata,
    Column("state_hash", LargeBinary, primary_key=True),
    Column("provider", Text, nullable=False),
    Column("browser_hash", LargeBinary, nullable=False, comment="hash of the browser's cookie"),
    Column("nonce", Text, nullable=False),
    Column("code_verifier_sealed", LargeBinary, nullable=False, comment="PKCE, under the KEK"),
    Column("return_to", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("consumed_at", DateTime(timezone=True)),
    Index("ix_sso_logins_expires_at", "expires_at"),
)


# ---------------------------------------------------------------- self-service profiles
ConsentDocument = Literal["terms", "privacy"]

user_profiles = Table(
    "user_profiles",
    metadata,
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), primary_key=True),
    Column("given_name", Text),
    Column("family_name", Text),
    Column("avatar_url", Text),
    Column("timezone", Text, comment="IANA time zone name"),
    Column("locale", Text, comment="language tag"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

consents = Table(
    "consents",
    metadata,
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("document", Text, nullable=False),
    Column("version", Text, nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("user_id", "document", "version"),
    CheckConstraint(_one_of("document", ConsentDocument), name="document"),
)

notification_preferences = Table(
    "notification_preferences",
    metadata,
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("user_id", "kind", "channel"),
)

email_changes = Table(
    "email_changes",
    metadata,
    Column("user_id", Text, ForeignKey("auth.users.id", ondelete="CASCADE"), primary_key=True),
    Column("new_email", Text, nullable=False),
    Column(
        "code_id",
        Text,
        ForeignKey("auth.one_time_codes.id", ondelete="CASCADE"),
        nullable=False,
        comment="the code mailed to the new address",
    ),
    Column("requested_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# ---------------------------------------------------------------- who may sign up: requests, invites
signup_requests = Table(
    "signup_requests",
    metadata,
    Column("id", Text, primary_key=True),
    Column("email", Text, nullable=False),
    Column("email_normalized", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("company", Text),
    Column("message", Text),
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("ip", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", Text),
    Column("reason", Text),
    Column("invite_id", Text, comment="the signup invite an approval mailed"),
    CheckConstraint(_one_of("status", SignupRequestStatus), name="status"),
    Index(
        "ux_signup_requests_pending_email",
        "email_normalized",
        unique=True,
        postgresql_where=text("status = 'pending'"),
    ),
    Index("ix_signup_requests_created_at_id", "created_at", "id"),
    Index("ix_signup_requests_status_created_at_id", "status", "created_at", "id"),
)

signup_invites = Table(
    "signup_invites",
    metadata,
    Column("id", Text, primary_key=True),
    Column("email", Text, nullable=False),
    Column("email_normalized", Text, nullable=False),
    Column("note", Text),
    Column("token_hash", LargeBinary, nullable=False, unique=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("used_by", Text),
    Column("revoked_at", DateTime(timezone=True)),
    Column("signup_request_id", Text, comment="the access request whose approval sent it"),
    Index("ix_signup_invites_created_at_id", "created_at", "id"),
)


# ---------------------------------------------------------------- tenant settings
tenant_settings = Table(
    "tenant_settings",
    metadata,
    Column("tenant_id", Text, ForeignKey("auth.tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("billing_email", Text),
    Column("contacts", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("webhook_url", Text, comment="validated when set; delivered to by a later release"),
    Column("webhook_events", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("flags", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("updated_by", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
