"""Asking the mailer for a message: an ``email.requested`` event through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.events import emit
from agentbus_shared.contracts.auth import EmailRequested, MailTemplate
from agentbus_shared.contracts.subjects import SYSTEM_TENANT


async def request_mail(
    session: AsyncSession,
    *,
    to: str,
    template: MailTemplate,
    tenant_id: str = SYSTEM_TENANT,
    secret_ref: str | None = None,
    **variables: str,
) -> None:
    """Queue a message in the caller's transaction. ``secret_ref`` names the secret to derive."""
    await emit(
        session,
        EmailRequested(to=to, template=template, variables=variables, secret_ref=secret_ref),
        tenant_id=tenant_id,
    )


async def security_alert(
    session: AsyncSession, *, email: str, display_name: str | None, what: str
) -> None:
    """Tell the account's owner that something security-relevant happened to it."""
    await request_mail(
        session,
        to=email,
        template="security_alert",
        name=display_name or email,
        what=what,
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
