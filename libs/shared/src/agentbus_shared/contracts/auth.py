"""Contract of the auth service: RPC operations ``rpc.auth.v1.*``, events ``events.auth.*``, routes.

Passwords and codes are the ``Password`` and ``OneTimeCode`` fields of ``contracts.common``
(plain ``str`` with ``repr=False``); other secrets are declared the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import EmailStr, Field

from agentbus_shared.contracts.common import (
    Contract,
    Empty,
    OneTimeCode,
    Page,
    PageQuery,
    Password,
    Principal,
    Role,
)
from agentbus_shared.contracts.events import EventData
from agentbus_shared.contracts.http import Route, RouteTable

SERVICE = "auth"

TenantStatus = Literal["active", "suspended", "deprovisioning", "deleted"]
"""A tenant's place in its lifecycle (operators change it: ``contracts.platform``)."""

TOKEN_ISSUER = "agentbus"
"""Default ``iss`` of access tokens (auth: ``AUTH_TUNING__ISSUER``; the gateway checks it)."""
TOKEN_AUDIENCE = "agentbus-api"
"""Default ``aud`` of access tokens (auth: ``AUTH_TUNING__AUDIENCE``; the gateway checks it)."""
ACCESS_TOKEN_TYPE = "at+jwt"
"""JOSE header ``typ`` of access tokens (RFC 9068)."""


# ------------------------------------------------------------------ tokens
class TokenPair(Contract):
    access_token: str = Field(repr=False)
    refresh_token: str = Field(repr=False)
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class MfaChallenge(Contract):
    mfa_required: Literal[True] = True
    challenge_token: str = Field(repr=False)


class AccessTokenClaims(Contract):
    """Claims of an access token (API.md): what the gateway verifies and turns into a Principal."""

    model_config = Contract.model_config | {"extra": "ignore"}

    sub: str
    tid: str
    sid: str | None = None
    scope: str = ""
    roles: list[str] = []
    iss: str
    aud: str | list[str]
    iat: int
    nbf: int
    exp: int
    jti: str
    typ: Literal["user", "service_account"] = "user"

    def principal(self) -> Principal:
        """The principal every RPC carries for this token (DESIGN.md).

        Raises ``pydantic.ValidationError`` when a claim does not fit the principal's
        shape (an id outside the identifier pattern): a signed token can still carry it.
        """
        return Principal(
            kind=self.typ,
            subject=self.sub,
            tenant_id=self.tid,
            roles=tuple(self.roles),
            scopes=frozenset(self.scope.split()),
            session_id=self.sid,
            token_id=self.jti,
        )


class Jwks(Contract):
    """The public JSON Web Key Set plus what the edge needs to cache it."""

    keys: list[dict[str, Any]]
    etag: str = Field(description="strong entity tag of the key set, quotes included (RFC 9110)")
    max_age: int = Field(description="seconds a client may cache this key set")


# ------------------------------------------------------------------ views
class UserView(Contract):
    id: str
    email: str
    display_name: str | None = None
    email_verified: bool = False
    mfa_enabled: bool = False


class TenantRef(Contract):
    id: str
    name: str
    role: Role
    status: TenantStatus = "active"


ACCEPTED_TERMS = "the version of the terms of service the person accepted (recorded with the time)"
ACCEPTED_PRIVACY = "the version of the privacy notice the person accepted (recorded with the time)"


class RegisterCommand(Contract):
    email: EmailStr
    password: Password
    tenant_name: str = Field(min_length=1, max_length=100)
    display_name: str | None = Field(None, max_length=100)
    terms_version: str | None = Field(None, min_length=1, max_length=32, description=ACCEPTED_TERMS)
    privacy_version: str | None = Field(
        None, min_length=1, max_length=32, description=ACCEPTED_PRIVACY
    )
    invite_token: str | None = Field(
        None,
        min_length=1,
        max_length=512,
        repr=False,
        description="a platform signup invite's token (from its mail): bound to the invited "
        "email, single use; required under the invite_only signup policy",
    )


class RegisterResult(Contract):
    """The new account. Under the ``approval`` signup policy ``tokens`` is ``None`` until approved."""

    user: UserView
    tenant: TenantRef
    tokens: TokenPair | None = None
    status: Literal["active", "pending_approval"] = "active"


class LoginCommand(Contract):
    email: EmailStr
    password: Password
    tenant_id: str | None = Field(
        None,
        max_length=64,
        description="the tenant to log in to, for a user in several (default: the first joined)",
    )


class MfaCompleteCommand(Contract):
    challenge_token: str = Field(min_length=1, max_length=4096, repr=False)
    code: OneTimeCode


class RefreshCommand(Contract):
    refresh_token: str = Field(min_length=1, max_length=512, repr=False)


class MeResult(Contract):
    user: UserView
    tenant: TenantRef
    scopes: list[str]
    consents_due: bool = Field(
        False, description="the current terms or privacy notice still waits for acceptance"
    )


class SessionView(Contract):
    id: str
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime
    ip: str | None = None
    user_agent: str | None = None
    country: str | None = Field(None, description="from the IP, when a location database is set")
    city: str | None = None
    current: bool = False


class SessionRef(Contract):
    session_id: str = Field(min_length=1, max_length=64)


class EmailVerifyCommand(Contract):
    code: OneTimeCode


class PasswordForgotCommand(Contract):
    email: EmailStr


class PasswordResetCommand(Contract):
    email: EmailStr
    code: OneTimeCode
    new_password: Password


class PasswordChangeCommand(Contract):
    current_password: Password
    new_password: Password


class TotpEnrollment(Contract):
    secret: str = Field(repr=False)
    otpauth_uri: str = Field(repr=False)


class TotpEnrollCommand(Contract):
    """Starting TOTP enrollment asks for the password again: a stolen access token alone
    must not put a factor on the account that locks its owner out."""

    current_password: Password


class TotpCodeCommand(Contract):
    code: OneTimeCode


class TotpConfirmCommand(TotpCodeCommand):
    """The first code of the new factor, and the password again: here the factor turns on."""

    current_password: Password


class RecoveryCodes(Contract):
    recovery_codes: list[str] = Field(repr=False)


class Operation:
    """RPC operation names under ``rpc.auth.v1.``."""

    PING = "ping"
    JWKS = "jwks"
    REGISTER = "register"
    LOGIN = "login"
    MFA_COMPLETE = "mfa.complete"
    REFRESH = "refresh"
    LOGOUT = "logout"
    LOGOUT_ALL = "logout.all"
    ME = "me"
    SESSIONS_LIST = "sessions.list"
    SESSIONS_REVOKE = "sessions.revoke"
    EMAIL_SEND = "email.send"
    EMAIL_VERIFY = "email.verify"
    PASSWORD_FORGOT = "password.forgot"
    PASSWORD_RESET = "password.reset"
    PASSWORD_CHANGE = "password.change"
    TOTP_ENROLL = "mfa.totp.enroll"
    TOTP_VERIFY = "mfa.totp.verify"
    TOTP_DISABLE = "mfa.totp.disable"


# ------------------------------------------------------------------ events
class UserRegistered(EventData):
    service = SERVICE
    event_type = "user.registered"

    user_id: str
    tenant_id: str
    email: str
    display_name: str | None = None


RevokeReason = Literal[
    "logout",
    "logout_all",
    "revoked_by_user",
    "refresh_token_reused",
    "membership_ended",
    "role_changed",
    "member_removed",
    "password_changed",
    "password_reset",
    "password_reset_by_admin",
    "operator_revoked",
    "service_account_revoked",
    "account_disabled",
    "email_changed",
]
"""Why a session ended (stored with it, and in its ``session.revoked`` event); a service account's
tokens end as a session whose id is the account's."""


class SessionRevoked(EventData):
    """The gateway rejects access tokens of this session until ``expires_at``."""

    service = SERVICE
    event_type = "session.revoked"

    session_id: str
    user_id: str
    tenant_id: str
    reason: RevokeReason
    revoked_at: datetime
    expires_at: datetime = Field(description="when the last access token of the session expires")


MailTemplate = Literal[
    "verify_email",
    "password_reset",
    "password_reset_by_admin",
    "password_reset_by_support",
    "invite",
    "security_alert",
    "email_change",
    "signup_invite",
    "signup_rejected",
]
"""The messages the mailer knows how to write."""


class EmailRequested(EventData):
    """A message for the mailer. Its secret parts stay out of the event: the mailer renders links."""

    service = SERVICE
    event_type = "email.requested"

    to: str
    template: MailTemplate
    variables: dict[str, str] = Field(default_factory=dict, repr=False)
    secret_ref: str | None = Field(
        None,
        description="id of the one-time secret (code or invite) the mailer derives and renders; "
        "the secret itself never travels on the bus",
    )


# ------------------------------------------------------------------ routes
_auth_routes = RouteTable(SERVICE, prefix="/api/v1/auth", tags=("auth",))


ROUTES: tuple[Route, ...] = (
    _auth_routes.post(
        "/register",
        Operation.REGISTER,
        "Create a tenant and its owner",
        access="public",
        body=RegisterCommand,
        response=RegisterResult,
        status=201,
        rate_group="strict",
        extra_statuses=(202,),
    ),
    _auth_routes.post(
        "/token",
        Operation.LOGIN,
        "Log in with email and password",
        access="public",
        body=LoginCommand,
        response=TokenPair,
        rate_group="strict",
        extra_statuses=(202,),
    ),
    _auth_routes.post(
        "/mfa/complete",
        Operation.MFA_COMPLETE,
        "Finish a login with a TOTP or recovery code",
        access="public",
        body=MfaCompleteCommand,
        response=TokenPair,
        rate_group="strict",
    ),
    _auth_routes.post(
        "/refresh",
        Operation.REFRESH,
        "Rotate a refresh token",
        access="public",
        body=RefreshCommand,
        response=TokenPair,
        rate_group="strict",
    ),
    _auth_routes.post(
        "/logout",
        Operation.LOGOUT,
        "Revoke the current session",
        access="user",
        status=204,
        ends_session=True,
    ),
    _auth_routes.post(
        "/logout/all",
        Operation.LOGOUT_ALL,
        "Revoke every session of the user",
        access="user",
        status=204,
        ends_session=True,
    ),
    _auth_routes.get(
        "/me",
        Operation.ME,
        "The caller, their tenant and scopes",
        access="user",
        response=MeResult,
    ),
    _auth_routes.get(
        "/sessions",
        Operation.SESSIONS_LIST,
        "The user's sessions",
        access="user",
        query=PageQuery,
        response=Page[SessionView],
    ),
    _auth_routes.delete(
        "/sessions/{session_id}",
        Operation.SESSIONS_REVOKE,
        "Revoke one session",
        access="user",
        status=204,
    ),
    _auth_routes.post(
        "/email/send",
        Operation.EMAIL_SEND,
        "Send an email verification code",
        access="user",
        status=204,
        rate_group="strict",
    ),
    _auth_routes.post(
        "/email/verify",
        Operation.EMAIL_VERIFY,
        "Verify the email with a code",
        access="user",
        body=EmailVerifyCommand,
        status=204,
        rate_group="strict",
    ),
    _auth_routes.post(
        "/password/forgot",
        Operation.PASSWORD_FORGOT,
        "Request a password reset code",
        access="public",
        body=PasswordForgotCommand,
        status=202,
        rate_group="strict",
    ),
    _auth_routes.post(
        "/password/reset",
        Operation.PASSWORD_RESET,
        "Reset the password with a code",
        access="public",
        body=PasswordResetCommand,
        status=204,
        rate_group="strict",
    ),
    _auth_routes.post(
        "/password/change",
        Operation.PASSWORD_CHANGE,
        "Change the password",
        access="user",
        body=PasswordChangeCommand,
        status=204,
        rate_group="strict",
    ),
    _auth_routes.post(
        "/mfa/totp/enroll",
        Operation.TOTP_ENROLL,
        "Start TOTP enrollment (with the current password)",
        access="user",
        body=TotpEnrollCommand,
        response=TotpEnrollment,
        rate_group="strict",
    ),
    _auth_routes.post(
        "/mfa/totp/verify",
        Operation.TOTP_VERIFY,
        "Confirm TOTP enrollment (with the current password)",
        access="user",
        body=TotpConfirmCommand,
        response=RecoveryCodes,
        rate_group="strict",
    ),
    _auth_routes.delete(
        "/mfa/totp",
        Operation.TOTP_DISABLE,
        "Disable TOTP",
        access="user",
        body=TotpCodeCommand,
        status=204,
        rate_group="strict",
    ),
)

__all__ = ["ROUTES", "SERVICE", "TOKEN_AUDIENCE", "TOKEN_ISSUER", "Empty", "Operation"]
