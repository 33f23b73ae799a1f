"""Single sign-on: start a login at a provider, finish it, and log the person in.

Starting stores the login (its state's hash, the hash of the secret the browser's cookie holds,
the nonce, the sealed PKCE verifier and where to land) for ``LOGIN_TTL``. Finishing spends the
state once, only from the browser that started it, then verifies the provider's answer
(``oidc``) and finds the account: by the provider's ``sub`` when it was linked before; else an
existing account with the provider's verified email is linked only when the provider is allowed
to (``link_existing_accounts`` with ``allowed_email_domains``), the account holds no operator
grant and has no second factor (its owner logs in with the password and code instead: a link made
before the second factor is passed would outlive a failed code); else, when the provider may
provision and the signup policy is public, an account is created. An account with a second factor
gets the MFA challenge, never a session straight away. The owner of an account linked by its
email is told by mail. Every refusal is audited (``sso.refused``) and changes nothing.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.accounts.repository import User
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import SecretBox, token_hash
from agentbus_auth.errors import (
    SsoAccountExists,
    SsoDenied,
    SsoDomainRefused,
    SsoEmailUnverified,
    SsoLinkNeedsPassword,
    SsoNoAccount,
    SsoProviderUnavailable,
    SsoProviderUnknown,
    SsoReturnToRefused,
    SsoSignupClosed,
    SsoStateInvalid,
)
from agentbus_auth.mail.requests import security_alert
from agentbus_auth.mfa import repository as mfa_repo
from agentbus_auth.mfa.service import MfaService
from agentbus_auth.sessions.service import SessionService
from agentbus_auth.settings import SsoProviderSettings, email_domain
from agentbus_auth.signup.gate import SignupGate
from agentbus_auth.sso import repository as repo
from agentbus_auth.sso.oidc import OidcIdentity, OidcProviders
from agentbus_auth.sso.provisioning import SsoProvisioning
from agentbus_auth.tenants.membership import usable_membership
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.contracts.sso import (
    SSO_PREFIX,
    SsoCallbackCommand,
    SsoProvider,
    SsoProviders,
    SsoSignedIn,
    SsoStartCommand,
    SsoStarted,
)
from agentbus_shared.db import Database
from agentbus_shared.errors import AgentbusError
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

Answer = TypeVar("Answer", SsoStarted, SsoSignedIn)

LOGIN_TTL = 600
"""Seconds between starting a login and coming back from the provider."""
DEADLINE = 4.0
"""Seconds a start or a callback may take, provider requests and all, before it is given up
(``sso_provider_unavailable``) and rolled back: below the gateway's wait for auth (its
``rpc_timeout``, 5 s), so nothing is created after the browser was told it failed."""


def same_site_path(return_to: str) -> str:
    """``return_to`` when it is a path of this site; ``SsoReturnToRefused`` for anything a
    browser could resolve to another origin (``//x``, ``/\\x``, a scheme, control characters)
    and for anything but printable ASCII (the ``Location`` header carries it as is: a path with
    other characters comes percent-encoded)."""
    if not return_to.startswith("/") or return_to.startswith("//"):
        raise SsoReturnToRefused()
    if "\\" in return_to or any(not 0x20 <= ord(c) < 0x7F for c in return_to):
        raise SsoReturnToRefused()
    parts = urlsplit(return_to)
    if parts.scheme or parts.netloc:
        raise SsoReturnToRefused()
    return return_to


class SsoService:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        oidc: OidcProviders,
        sessions: SessionService,
        mfa: MfaService,
        *,
        provisioning: SsoProvisioning,
        providers: tuple[SsoProviderSettings, ...],
        signup_gate: SignupGate,
        public_url: str,
        deadline: float = DEADLINE,
    ) -> None:
        self._db = db
        self._box = box
        self._oidc = oidc
        self._sessions = sessions
        self._mfa = mfa
        self._provisioning = provisioning
        self._providers = {provider.id: provider for provider in providers}
        self._signup_gate = signup_gate
        self._public_url = public_url.rstrip("/")
        self._deadline = deadline

    def providers(self) -> SsoProviders:
        return SsoProviders(
            items=[SsoProvider(id=p.id, name=p.name) for p in self._providers.values()]
        )

    async def start(self, cmd: SsoStartCommand) -> SsoStarted:
        """A login at the provider: the URL to send the browser to and its cookie's secret."""
        return await self._within_deadline(self._start(cmd))

    async def _start(self, cmd: SsoStartCommand) -> SsoStarted:
        provider = self._provider(cmd.provider)
        return_to = same_site_path(cmd.return_to)
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        browser_binding = secrets.token_urlsafe(32)
        url = await self._oidc.authorization_url(
            provider,
            redirect_uri=self._redirect_uri(provider),
            state=state,
            nonce=nonce,
            code_verifier=verifier,
        )
        state_hash = token_hash(state)
        async with self._db.transaction() as session:
            await repo.forget_finished_logins(session)
            await repo.add_login(
                session,
                state_hash=state_hash,
                provider=provider.id,
                browser_hash=token_hash(browser_binding),
                nonce=nonce,
                code_verifier_sealed=self._box.seal(verifier.encode(), bound_to=state_hash.hex()),
                return_to=return_to,
                expires_at=datetime.now(UTC) + timedelta(seconds=LOGIN_TTL),
            )
        return SsoStarted(
            authorization_url=url, browser_binding=browser_binding, expires_in=LOGIN_TTL
        )

    async def callback(self, cmd: SsoCallbackCommand, meta: RequestMeta) -> SsoSignedIn:
        """Finish the login the browser comes back with; a refusal is audited and raised."""
        try:
            return await self._within_deadline(self._finish(cmd, meta))
        except AgentbusError as refusal:
            log.warning("sso.refused", provider=cmd.provider, reason=refusal.code)
            async with self._db.transaction() as session:
                await record(
                    session,
                    AuditKind.SSO_REFUSED,
                    meta=meta,
                    provider=cmd.provider,
                    reason=refusal.code,
                )
            raise

    # ---------------------------------------------------------------- parts
    async def _within_deadline(self, work: Awaitable[Answer]) -> Answer:
        """``work``'s answer, or ``SsoProviderUnavailable`` once the deadline passed (``work``
        is cancelled, its transaction rolled back)."""
        try:
            async with asyncio.timeout(self._deadline):
                return await work
        except TimeoutError as exc:
            log.warning("sso.deadline_passed", deadline=self._deadline)
            raise SsoProviderUnavailable() from exc

    def _provider(self, provider_id: str) -> SsoProviderSettings:
        provider = self._providers.get(provider_id)
        if provider is None:
            raise SsoProviderUnknown()
        return provider

    def _redirect_uri(self, provider: SsoProviderSettings) -> str:
        return f"{self._public_url}{SSO_PREFIX}/{provider.id}/callback"

    async def _finish(self, cmd: SsoCallbackCommand, meta: RequestMeta) -> SsoSignedIn:
        provider = self._provider(cmd.provider)
        if not (cmd.state and cmd.browser_binding):
            raise SsoStateInvalid()
        state_hash = token_hash(cmd.state)
        async with self._db.transaction() as session:
            login = await repo.take_login(
                session,
                state_hash=state_hash,
                provider=provider.id,
                browser_hash=token_hash(cmd.browser_binding),
            )
        if login is None:
            raise SsoStateInvalid()
        if cmd.error or not cmd.code:
            raise SsoDenied()
        verifier = self._box.open(login.code_verifier_sealed, bound_to=state_hash.hex())
        identity = await self._oidc.identify(
            provider,
            redirect_uri=self._redirect_uri(provider),
            code=cmd.code,
            code_verifier=verifier.decode(),
            nonce=login.nonce,
        )
        _check_domain(provider, identity)
        async with self._db.transaction() as session:
            user = await self._account(session, provider, identity, meta)
            return await self._log_in(session, provider, user, login.return_to, meta)

    async def _account(
        self,
        session: AsyncSession,
        provider: SsoProviderSettings,
        identity: OidcIdentity,
        meta: RequestMeta,
    ) -> User:
        """The account ``identity`` signs in to: linked by ``sub``, linked now by a verified
        email, or created; refused otherwise."""
        linked = await repo.linked_user(session, provider.id, identity.subject)
        if linked is not None:
            await repo.touch(
                session, provider=provider.id, subject=identity.subject, email=identity.email
            )
            return await _user(session, linked)
        if identity.email is None or not identity.email_verified:
            raise SsoEmailUnverified()
        existing = await accounts_repo.by_email(session, identity.email)
        if existing is not None:
            await _may_link(session, provider, existing)
            user_id = existing.id
            await security_alert(
                session,
                email=existing.email,
                display_name=existing.display_name,
                what=f"Single sign-on with {provider.name} was linked to your account",
            )
        elif not provider.auto_provision:
            raise SsoNoAccount()
        elif self._signup_gate.policy != "public":
            raise SsoSignupClosed()
        else:
            user_id = await self._provisioning.create_account(session, provider, identity, meta)
        await repo.link(
            session,
            provider=provider.id,
            subject=identity.subject,
            user_id=user_id,
            email=identity.email,
        )
        await record(
            session,
            AuditKind.SSO_LINKED,
            user_id=user_id,
            meta=meta,
            provider=provider.id,
            new_account=existing is None,
        )
        return await _user(session, user_id)

    async def _log_in(
        self,
        session: AsyncSession,
        provider: SsoProviderSettings,
        user: User,
        return_to: str,
        meta: RequestMeta,
    ) -> SsoSignedIn:
        """A session (audited ``sso.login``), or the MFA challenge first when the account has a
        second factor (audited ``sso.mfa_challenged``: the login is the code's). The account's
        status is read again, held, so one disabled meanwhile gets no session."""
        member = await usable_membership(session, user.id)
        second_factor = await mfa_repo.has_confirmed_factor(session, user.id)
        await record(
            session,
            AuditKind.SSO_MFA_CHALLENGED if second_factor else AuditKind.SSO_LOGIN,
            user_id=user.id,
            tenant_id=member.tenant_id,
            meta=meta,
            provider=provider.id,
        )
        if second_factor:
            challenge = await self._mfa.open_challenge(
                session, user_id=user.id, tenant_id=member.tenant_id, meta=meta
            )
            return SsoSignedIn(return_to=return_to, mfa=challenge)
        tokens = await self._sessions.start(session, member, meta)
        return SsoSignedIn(return_to=return_to, tokens=tokens)


async def _may_link(session: AsyncSession, provider: SsoProviderSettings, account: User) -> None:
    """Refuse to link ``account`` by its email unless the provider may and nothing forbids it."""
    if not (provider.link_existing_accounts and provider.allowed_email_domains):
        raise SsoAccountExists()
    if await repo.holds_operator_grant(session, account.id):
        raise SsoAccountExists()
    if await mfa_repo.has_confirmed_factor(session, account.id):
        raise SsoLinkNeedsPassword()


def _check_domain(provider: SsoProviderSettings, identity: OidcIdentity) -> None:
    """Refuse an email outside the provider's allowed domains (when it names any)."""
    if not provider.allowed_email_domains:
        return
    try:
        domain = email_domain((identity.email or "").rpartition("@")[2])
    except ValueError as exc:
        raise SsoDomainRefused() from exc
    if domain not in provider.allowed_email_domains:
        raise SsoDomainRefused()


async def _user(session: AsyncSession, user_id: str) -> User:
    user = await accounts_repo.by_id(session, user_id)
    if user is None:
        raise SsoNoAccount()
    return user
