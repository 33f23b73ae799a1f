"""Writing and reading the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.models import audit_events
from agentbus_shared.contracts.common import RequestMeta


class AuditKind(StrEnum):
    """What the trail records (logins and security events)."""

    LOGIN_SUCCEEDED = "login.succeeded"
    LOGIN_FAILED = "login.failed"
    LOGIN_REFUSED = "login.refused"
    ACCOUNT_LOCKED = "account.locked"
    MFA_CHALLENGED = "mfa.challenged"
    MFA_FAILED = "mfa.failed"
    MFA_ENABLED = "mfa.enabled"
    MFA_DISABLED = "mfa.disabled"
    MFA_REMOVED_BY_OPERATOR = "mfa.removed_by_operator"
    RECOVERY_CODE_USED = "mfa.recovery_code_used"
    REFRESH_REUSE_DETECTED = "refresh.reuse_detected"
    SESSION_REVOKED = "session.revoked"
    PASSWORD_CHANGED = "password.changed"  # noqa: S105
    PASSWORD_RESET_REQUESTED = "password.reset_requested"  # noqa: S105
    PASSWORD_RESET = "password.reset"  # noqa: S105
    EMAIL_VERIFIED = "email.verified"
    USER_REGISTERED = "user.registered"
    REGISTER_EMAIL_TAKEN = "register.email_taken"
    USER_APPROVED = "user.approved"
    OPERATOR_GRANTED = "operator.granted"
    OPERATOR_REVOKED = "operator.revoked"
    MEMBER_CHANGED = "member.changed"
    INVITE_CREATED = "invite.created"
    INVITE_ACCEPTED = "invite.accepted"
    KEY_ROTATED = "key.rotated"
    SERVICE_ACCOUNT_CREATED = "service_account.created"
    SERVICE_ACCOUNT_REVOKED = "service_account.revoked"
    CLIENT_AUTH_FAILED = "client.auth_failed"
    SSO_LINKED = "sso.linked"
    SSO_LOGIN = "sso.login"
    SSO_REFUSED = "sso.refused"
    SSO_UNLINKED = "sso.unlinked"
    SSO_MFA_CHALLENGED = "sso.mfa_challenged"
    TENANT_UPDATED = "tenant.updated"
    TENANT_SETTINGS_CHANGED = "tenant.settings_changed"
    INVITE_REVOKED = "invite.revoked"
    SUPPORT_PASSWORD_RESET = "support.password_reset"  # noqa: S105
    EMAIL_CHANGE_REQUESTED = "email.change_requested"
    EMAIL_CHANGED = "email.changed"
    ACCOUNT_DISABLED = "account.disabled"
    ACCOUNT_ENABLED_BY_OPERATOR = "account.enabled_by_operator"
    CONSENTS_ACCEPTED = "consents.accepted"
    RECOVERY_CODES_REGENERATED = "mfa.recovery_codes_regenerated"
    SIGNUP_REQUESTED = "signup.requested"
    SIGNUP_REQUEST_APPROVED = "signup.request_approved"
    SIGNUP_REQUEST_REJECTED = "signup.request_rejected"
    SIGNUP_REQUEST_CLOSED = "signup.request_closed"
    SIGNUP_INVITE_CREATED = "signup.invite_created"
    SIGNUP_INVITE_REVOKED = "signup.invite_revoked"
    SIGNUP_INVITE_USED = "signup.invite_used"
    SIGNUP_INVITE_REFUSED = "signup.invite_refused"
    SIGNUP_QUOTA_EXCEEDED = "signup.quota_exceeded"
    TENANT_CREATED_BY_OPERATOR = "tenant.created_by_operator"
    TENANT_SUSPENDED = "tenant.suspended"
    TENANT_REACTIVATED = "tenant.reactivated"
    TENANT_DEPROVISION_REQUESTED = "tenant.deprovision_requested"


@dataclass(frozen=True)
class AuditEntry:
    occurred_at: datetime
    kind: str
    tenant_id: str | None
    user_id: str | None
    actor_id: str | None
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]


async def record(
    session: AsyncSession,
    kind: AuditKind,
    *,
    user_id: str | None = None,
    tenant_id: str | None = None,
    actor_id: str | None = None,
    meta: RequestMeta | None = None,
    **details: Any,
) -> None:
    """Add an entry to the trail, in the caller's transaction."""
    await session.execute(
        insert(audit_events).values(
            kind=kind.value,
            user_id=user_id,
            tenant_id=tenant_id,
            actor_id=actor_id,
            ip=meta.client_ip if meta else None,
            user_agent=(meta.user_agent or "")[:256] or None if meta else None,
            details=details,
        )
    )


async def entries(
    session: AsyncSession,
    *,
    user_id: str | None = None,
    kind: str | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first, optionally for one user or one kind."""
    t = audit_events
    query = select(t).order_by(t.c.id.desc()).limit(limit)
    if user_id is not None:
        query = query.where(t.c.user_id == user_id)
    if kind is not None:
        query = query.where(t.c.kind == kind)
    rows = (await session.execute(query)).all()
    return [
        AuditEntry(
            occurred_at=r.occurred_at,
            kind=r.kind,
            tenant_id=r.tenant_id,
            user_id=r.user_id,
            actor_id=r.actor_id,
            ip=r.ip,
            user_agent=r.user_agent,
            details=dict(r.details),
        )
        for r in rows
    ]
