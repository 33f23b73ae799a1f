"""Builds the auth service process: its parts, its operations and consumers, its background loops."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from nats.js.client import JetStreamContext

from agentbus_auth.accounts import handlers as accounts_handlers
from agentbus_auth.accounts.service import AccountService, AccountTimings
from agentbus_auth.audit.locations import Locations
from agentbus_auth.audit.service import AuditTrail
from agentbus_auth.audit.tenant_log import TenantAuditLog
from agentbus_auth.codes.service import OneTimeCodes
from agentbus_auth.crypto import CodeKey, SecretBox
from agentbus_auth.deprovision import handlers as deprovision_handlers
from agentbus_auth.deprovision.service import TenantDeprovisioning
from agentbus_auth.keys import handlers as keys_handlers
from agentbus_auth.keys.service import KeyRing, KeyTimings
from agentbus_auth.login import handlers as login_handlers
from agentbus_auth.login.service import LoginService
from agentbus_auth.mail import handlers as mail_handlers
from agentbus_auth.mail.service import Mailer
from agentbus_auth.mail.transports import FileTransport, MailTransport, SmtpTransport
from agentbus_auth.manifest import MANIFEST
from agentbus_auth.mfa import handlers as mfa_handlers
from agentbus_auth.mfa.service import MfaService
from agentbus_auth.models import outbox
from agentbus_auth.operators.service import OperatorGrants
from agentbus_auth.passwords.current import CurrentPassword
from agentbus_auth.passwords.hasher import PasswordHasher
from agentbus_auth.passwords.policy import PasswordPolicy
from agentbus_auth.platform import handlers as platform_handlers
from agentbus_auth.platform.plans import PlanChoice
from agentbus_auth.platform.service import TenantLifecycle
from agentbus_auth.platform.usage import TenantUsageReader
from agentbus_auth.profile import handlers as profile_handlers
from agentbus_auth.profile.changes import AccountChanges, EmailChangeTimings
from agentbus_auth.profile.service import ProfileService, RequiredConsents
from agentbus_auth.service_accounts import handlers as service_accounts_handlers
from agentbus_auth.service_accounts.service import ServiceAccountService
from agentbus_auth.sessions import handlers as sessions_handlers
from agentbus_auth.sessions.service import SessionService, SessionTimings
from agentbus_auth.sessions.tokens import AccessTokens
from agentbus_auth.settings import AuthSettings
from agentbus_auth.signup import handlers as signup_handlers
from agentbus_auth.signup.gate import SignupGate
from agentbus_auth.signup.quotas import SignupLimits, SignupQuotas
from agentbus_auth.signup.service import SignupService
from agentbus_auth.sso import handlers as sso_handlers
from agentbus_auth.sso.identities import LinkedIdentities
from agentbus_auth.sso.oidc import OidcProviders
from agentbus_auth.sso.provisioning import SsoProvisioning
from agentbus_auth.sso.service import SsoService
from agentbus_auth.tenants import admin_handlers as tenants_admin_handlers
from agentbus_auth.tenants import handlers as tenants_handlers
from agentbus_auth.tenants.administration import TenantAdministration
from agentbus_auth.tenants.service import TenantService
from agentbus_auth.tenants.support import SupportActions
from agentbus_auth.tenants.webhooks import WebhookTargets
from agentbus_auth.throttle import LockoutPolicy, LoginThrottle
from agentbus_shared.db import Database, OutboxRelay
from agentbus_shared.features import TenantFeatureReader
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.settings import Environment


@dataclass(frozen=True)
class AuthParts:
    """Every part of the service, built once per process; handlers, tools and tests use them."""

    settings: AuthSettings
    db: Database
    box: SecretBox
    keyring: KeyRing
    hasher: PasswordHasher
    throttle: LoginThrottle
    sessions: SessionService
    mfa: MfaService
    login: LoginService
    accounts: AccountService
    tenants: TenantService
    service_accounts: ServiceAccountService
    operators: OperatorGrants
    audit: AuditTrail
    mailer: Mailer
    locations: Locations
    tenant_admin: TenantAdministration
    support: SupportActions
    audit_log: TenantAuditLog
    sso: SsoService
    sso_identities: LinkedIdentities
    profiles: ProfileService
    account_changes: AccountChanges
    signup: SignupService
    tenant_lifecycle: TenantLifecycle
    deprovisioning: TenantDeprovisioning


def build(
    settings: AuthSettings | None = None, *, configure_process: bool = True
) -> ServiceRuntime:
    """The auth service process: ``build().run()`` serves it; ``runtime.parts_as(AuthParts)`` its parts."""
    settings = settings or AuthSettings()
    runtime = ServiceRuntime.for_service(MANIFEST, settings, configure_process=configure_process)
    parts = assemble(runtime, settings)
    runtime.attach(parts)
    for feature in (
        keys_handlers,
        accounts_handlers,
        login_handlers,
        sessions_handlers,
        mfa_handlers,
        service_accounts_handlers,
        tenants_handlers,
        tenants_admin_handlers,
        mail_handlers,
        sso_handlers,
        profile_handlers,
        signup_handlers,
        platform_handlers,
        deprovision_handlers,
    ):
        feature.register(runtime, parts)

    @runtime.on_startup
    async def load_keys() -> None:
        await parts.keyring.ensure()
        await parts.keyring.load()

    @runtime.on_shutdown
    async def stop_hashing() -> None:
        parts.hasher.close()
        parts.locations.close()

    runtime.background("outbox-relay", OutboxRelay(parts.db, outbox.table, runtime.publisher).run)
    runtime.background("keys-reload", parts.keyring.reload_forever)
    return runtime


def assemble(runtime: ServiceRuntime, settings: AuthSettings) -> AuthParts:
    """Every part of the service, wired to this runtime's connections."""
    db = runtime.database
    tuning = settings.tuning
    box = SecretBox(settings.key_encryption_key.get_secret_value())
    code_key = CodeKey(settings.code_key.get_secret_value())
    keyring = KeyRing(db, box, _key_timings(settings))
    tokens = AccessTokens(
        keyring, issuer=tuning.issuer, audience=tuning.audience, ttl=tuning.access_token_ttl
    )
    hasher = _hasher(settings)
    policy = PasswordPolicy(min_length=tuning.password_min_length)
    throttle = LoginThrottle(runtime.redis_client, _lockout(settings))
    codes = OneTimeCodes(db, code_key, max_attempts=tuning.code_attempts)
    sessions = SessionService(db, tokens, _session_timings(settings))
    current_password = CurrentPassword(hasher, throttle)
    mfa = MfaService(
        db,
        box,
        code_key,
        throttle,
        current_password,
        issuer=settings.totp_issuer,
        challenge_ttl=tuning.mfa_challenge_ttl,
    )
    login = LoginService(
        db, hasher, throttle, sessions, mfa, challenge_attempts=tuning.mfa_challenge_attempts
    )
    service_accounts = ServiceAccountService(db, tokens, TenantFeatureReader(_jetstream(runtime)))
    locations = Locations(settings.geoip_database)
    required_consents = RequiredConsents(
        terms=settings.terms_version,
        privacy=settings.privacy_version,
        terms_url=settings.terms_url,
        privacy_url=settings.privacy_url,
    )
    signup_gate = SignupGate(db, _signup_quotas(settings, throttle), settings.signup_policy)
    return AuthParts(
        settings=settings,
        db=db,
        box=box,
        keyring=keyring,
        hasher=hasher,
        throttle=throttle,
        sessions=sessions,
        mfa=mfa,
        login=login,
        accounts=AccountService(
            db,
            hasher=hasher,
            policy=policy,
            throttle=throttle,
            current_password=current_password,
            codes=codes,
            sessions=sessions,
            signup=signup_gate,
            consents=required_consents,
            timings=AccountTimings(
                verify_code_ttl=tuning.verify_code_ttl,
                reset_code_ttl=tuning.reset_code_ttl,
                code_requests_per_hour=tuning.code_requests_per_hour,
                password_history=tuning.password_history,
            ),
        ),
        tenants=TenantService(
            db,
            sessions=sessions,
            service_accounts=service_accounts,
            login=login,
            hasher=hasher,
            code_key=code_key,
            policy=policy,
            consents=required_consents,
            invite_ttl=tuning.invite_ttl,
        ),
        service_accounts=service_accounts,
        operators=OperatorGrants(db, sessions),
        audit=AuditTrail(db),
        locations=locations,
        tenant_admin=TenantAdministration(
            db, WebhookTargets(allow_http=settings.environment is Environment.DEVELOPMENT)
        ),
        support=SupportActions(
            db, codes=codes, sessions=sessions, reset_code_ttl=tuning.reset_code_ttl
        ),
        audit_log=TenantAuditLog(db, locations),
        sso=SsoService(
            db,
            box,
            OidcProviders(),
            sessions,
            mfa,
            provisioning=SsoProvisioning(hasher),
            providers=settings.sso_providers,
            signup_gate=signup_gate,
            public_url=settings.public_url,
        ),
        sso_identities=LinkedIdentities(db, settings.sso_providers),
        profiles=ProfileService(
            db,
            required=required_consents,
        ),
        account_changes=AccountChanges(
            db,
            codes=codes,
            current_password=current_password,
            throttle=throttle,
            sessions=sessions,
            mfa=mfa,
            service_accounts=service_accounts,
            timings=EmailChangeTimings(
                code_ttl=tuning.verify_code_ttl, requests_per_hour=tuning.code_requests_per_hour
            ),
        ),
        mailer=Mailer(
            db,
            _mail_transport(settings),
            codes,
            code_key,
            sender=settings.mail_from,
            product=settings.totp_issuer,
            public_url=settings.public_url,
        ),
        signup=SignupService(
            db,
            signup_gate,
            code_key,
            consents=required_consents,
            invite_ttl=tuning.signup_invite_ttl,
        ),
        tenant_lifecycle=TenantLifecycle(
            db,
            TenantUsageReader(_jetstream(runtime)),
            PlanChoice(runtime.rpc),
            code_key,
            invite_ttl=tuning.invite_ttl,
        ),
        deprovisioning=TenantDeprovisioning(db),
    )


def _jetstream(runtime: ServiceRuntime) -> Callable[[], JetStreamContext]:
    """JetStream on the runtime's connection, once it is open (after start-up)."""

    def jetstream() -> JetStreamContext:
        return runtime.broker.connection.jetstream()

    return jetstream


def _key_timings(settings: AuthSettings) -> KeyTimings:
    """The timings of the configured token lifetime, JWKS cache age and reload interval."""
    return KeyTimings(
        access_token_ttl=settings.tuning.access_token_ttl,
        jwks_max_age=settings.tuning.jwks_max_age,
        reload_interval=settings.tuning.keys_reload_interval,
    )


def _hasher(settings: AuthSettings) -> PasswordHasher:
    tuning = settings.tuning
    return PasswordHasher(
        time_cost=tuning.argon2_time_cost,
        memory_kib=tuning.argon2_memory_kib,
        parallelism=tuning.argon2_parallelism,
        workers=tuning.hash_workers,
    )


def _lockout(settings: AuthSettings) -> LockoutPolicy:
    tuning = settings.tuning
    return LockoutPolicy(
        threshold=tuning.lockout_threshold,
        window=tuning.lockout_window,
        base=tuning.lockout_base,
        maximum=tuning.lockout_max,
        ip_limit=tuning.ip_failure_limit,
        ip_window=tuning.ip_failure_window,
    )


def _signup_quotas(settings: AuthSettings, throttle: LoginThrottle) -> SignupQuotas:
    tuning = settings.tuning
    return SignupQuotas(
        throttle,
        SignupLimits(
            window=tuning.signup_quota_window,
            per_ip=tuning.signup_ip_limit,
            per_domain=tuning.signup_domain_limit,
        ),
    )


def _session_timings(settings: AuthSettings) -> SessionTimings:
    return SessionTimings(
        refresh_token_ttl=settings.tuning.refresh_token_ttl,
        session_max_age=settings.tuning.session_max_age,
    )


def _mail_transport(settings: AuthSettings) -> MailTransport:
    if settings.mail_backend == "smtp":
        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.tuning.smtp_timeout,
        )
    return FileTransport(settings.mail_path)
