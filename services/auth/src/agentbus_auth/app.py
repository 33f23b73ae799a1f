"""Builds the auth service process: runtime, outbox relay, keys, RPC operations, consumers."""

from __future__ import annotations

from dataclasses import dataclass

from agentbus_auth.accounts import handlers as accounts_handlers
from agentbus_auth.accounts.service import AccountService, AccountTimings
from agentbus_auth.codes.service import OneTimeCodes
from agentbus_auth.crypto import CodeKey, SecretBox
from agentbus_auth.keys import handlers as keys_handlers
from agentbus_auth.keys.service import KeyRing, KeyTimings, ensure_keys
from agentbus_auth.login import handlers as login_handlers
from agentbus_auth.login.service import LoginService
from agentbus_auth.mail import handlers as mail_handlers
from agentbus_auth.mail.service import Mailer
from agentbus_auth.mail.transports import FileTransport, MailTransport, SmtpTransport
from agentbus_auth.mfa import handlers as mfa_handlers
from agentbus_auth.mfa.service import MfaService
from agentbus_auth.models import SCHEMA, outbox
from agentbus_auth.passwords.current import CurrentPassword
from agentbus_auth.passwords.hasher import PasswordHasher
from agentbus_auth.passwords.policy import PasswordPolicy
from agentbus_auth.service_accounts import handlers as service_accounts_handlers
from agentbus_auth.service_accounts.service import ServiceAccountService
from agentbus_auth.sessions import handlers as sessions_handlers
from agentbus_auth.sessions.service import SessionService, SessionTimings
from agentbus_auth.sessions.tokens import AccessTokens
from agentbus_auth.settings import AuthSettings
from agentbus_auth.tenants import handlers as tenants_handlers
from agentbus_auth.tenants.service import TenantService
from agentbus_auth.throttle import LockoutPolicy, LoginThrottle
from agentbus_shared.db import Database, OutboxRelay
from agentbus_shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class AuthServices:
    """Everything the operations use, for the tests and tools that drive the service directly."""

    settings: AuthSettings
    box: SecretBox
    code_key: CodeKey
    keyring: KeyRing
    tokens: AccessTokens
    hasher: PasswordHasher
    throttle: LoginThrottle
    codes: OneTimeCodes
    sessions: SessionService
    mfa: MfaService
    login: LoginService
    accounts: AccountService
    tenants: TenantService
    service_accounts: ServiceAccountService
    mailer: Mailer
    relay: OutboxRelay


def mail_transport(settings: AuthSettings) -> MailTransport:
    if settings.mail_backend == "smtp":
        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.smtp_timeout,
        )
    return FileTransport(settings.mail_path)


def key_timings(settings: AuthSettings) -> KeyTimings:
    return KeyTimings(
        access_token_ttl=settings.access_token_ttl,
        jwks_max_age=settings.jwks_max_age,
        reload_interval=settings.keys_reload_interval,
    )


def wire(runtime: ServiceRuntime, settings: AuthSettings) -> AuthServices:
    """Create the services of auth over the runtime's connections."""
    db: Database | None = runtime.db
    assert db is not None
    assert runtime.redis is not None
    box = SecretBox(settings.key_encryption_key.get_secret_value())
    code_key = CodeKey(settings.code_key.get_secret_value())
    keyring = KeyRing(db, box, key_timings(settings))
    tokens = AccessTokens(
        keyring,
        issuer=settings.issuer,
        audience=settings.audience,
        ttl=settings.access_token_ttl,
    )
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        workers=settings.hash_workers,
    )
    policy = PasswordPolicy(min_length=settings.password_min_length)
    throttle = LoginThrottle(
        runtime.redis,
        LockoutPolicy(
            threshold=settings.lockout_threshold,
            window=settings.lockout_window,
            base=settings.lockout_base,
            maximum=settings.lockout_max,
            ip_limit=settings.ip_failure_limit,
            ip_window=settings.ip_failure_window,
        ),
    )
    codes = OneTimeCodes(db, code_key, max_attempts=settings.code_attempts)
    sessions = SessionService(
        db,
        tokens,
        SessionTimings(
            refresh_token_ttl=settings.refresh_token_ttl, session_max_age=settings.session_max_age
        ),
    )
    current_password = CurrentPassword(hasher, throttle)
    mfa = MfaService(
        db,
        box,
        code_key,
        throttle,
        current_password,
        issuer=settings.totp_issuer,
        challenge_ttl=settings.mfa_challenge_ttl,
    )
    login = LoginService(
        db, hasher, throttle, sessions, mfa, challenge_attempts=settings.mfa_challenge_attempts
    )
    accounts = AccountService(
        db,
        hasher=hasher,
        policy=policy,
        throttle=throttle,
        current_password=current_password,
        codes=codes,
        sessions=sessions,
        signup_policy=settings.signup_policy,
        timings=AccountTimings(
            verify_code_ttl=settings.verify_code_ttl,
            reset_code_ttl=settings.reset_code_ttl,
            code_requests_per_hour=settings.code_requests_per_hour,
            password_history=settings.password_history,
        ),
    )
    service_accounts = ServiceAccountService(db, tokens)
    tenants = TenantService(
        db,
        sessions=sessions,
        service_accounts=service_accounts,
        login=login,
        hasher=hasher,
        code_key=code_key,
        policy=policy,
        invite_ttl=settings.invite_ttl,
    )
    mailer = Mailer(
        mail_transport(settings),
        codes,
        code_key,
        sender=settings.mail_from,
        product=settings.totp_issuer,
        public_url=settings.public_url,
    )
    relay = OutboxRelay(db, outbox, runtime.publisher)
    return AuthServices(
        settings=settings,
        box=box,
        code_key=code_key,
        keyring=keyring,
        tokens=tokens,
        hasher=hasher,
        throttle=throttle,
        codes=codes,
        sessions=sessions,
        mfa=mfa,
        login=login,
        accounts=accounts,
        tenants=tenants,
        service_accounts=service_accounts,
        mailer=mailer,
        relay=relay,
    )


@dataclass(frozen=True)
class AuthApp:
    runtime: ServiceRuntime
    services: AuthServices


def create(settings: AuthSettings | None = None, *, configure_process: bool = True) -> AuthApp:
    """The auth service with its parts exposed (tests and tools drive it through them)."""
    settings = settings or AuthSettings()
    runtime = ServiceRuntime(
        "auth", settings, schema=SCHEMA, use_redis=True, configure_process=configure_process
    )
    services = wire(runtime, settings)
    db = runtime.db
    assert db is not None

    ops = runtime.rpc_router
    keys_handlers.register_operations(ops, services.keyring)
    accounts_handlers.register_operations(ops, services.accounts)
    login_handlers.register_operations(ops, services.login)
    sessions_handlers.register_operations(ops, services.sessions)
    mfa_handlers.register_operations(ops, services.mfa)
    service_accounts_handlers.register_operations(ops, services.service_accounts)
    tenants_handlers.register_operations(ops, services.tenants)
    tenants_handlers.register_consumers(runtime, db, services.tenants)
    mail_handlers.register_consumers(runtime, db, services.mailer)

    @runtime.on_startup
    async def load_keys() -> None:
        await ensure_keys(db, services.box)
        await services.keyring.load()

    @runtime.on_shutdown
    async def stop_hashing() -> None:
        services.hasher.close()

    runtime.background("outbox-relay", services.relay.run)
    runtime.background("keys-reload", services.keyring.reload_forever)
    return AuthApp(runtime=runtime, services=services)


def build(
    settings: AuthSettings | None = None, *, configure_process: bool = True
) -> ServiceRuntime:
    """The auth service process: ``build().run()`` serves it."""
    return create(settings, configure_process=configure_process).runtime
