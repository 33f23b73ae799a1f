"""Self-service profile of the signed-in user: ``rpc.auth.v1.users.*`` operations and the
``/api/v1/users`` routes (profile, email change, disabling, consents, notification preferences),
plus the MFA routes that complete ``/api/v1/auth/mfa`` (methods, recovery codes).

Served by the auth service (``SERVICE``); the module keeps ``contracts.auth`` to tokens and membership.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from functools import cache
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from pydantic import (
    EmailStr,
    Field,
    HttpUrl,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from agentbus_shared.contracts.auth import SERVICE, RecoveryCodes, TotpCodeCommand
from agentbus_shared.contracts.common import (
    Contract,
    OneTimeCode,
    OptionalOneTimeCode,
    Password,
)
from agentbus_shared.contracts.events import EventData
from agentbus_shared.contracts.http import Route, RouteTable

AVATAR_URL_MAX = 2048
_version: dict[str, Any] = {"min_length": 1, "max_length": 32}
_LOCALE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?")
_AREAS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe"}
    | {"Indian", "Pacific"}
)
"""The IANA areas of location zones (``Europe/Paris``); ``UTC`` is the one zone without one."""
_HTTP_URL = TypeAdapter(HttpUrl)


_JOINERS = frozenset({"\u200c", "\u200d"})
"""Zero-width (non-)joiners: format characters that names in some scripts need."""


def _unseen(character: str) -> bool:
    """A control, format (bidi overrides, zero-width) or separator character other than a plain
    space: text that reads differently from what is stored."""
    if character == " " or character in _JOINERS:
        return False
    return unicodedata.category(character)[0] in "CZ"


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_time_zone(name: str) -> str:
    """``name`` if it is an IANA location zone (``Europe/Paris``) or ``UTC``; raises
    ``ValueError`` for anything else (``localtime``, ``Factory``, ``EST5EDT``, ``Etc/GMT+5``)."""
    located = name == "UTC" or name.split("/", 1)[0] in _AREAS
    if not located or name not in _time_zones():
        raise ValueError("not an IANA time zone name (e.g. Europe/Paris)")
    return name


def valid_name(name: str) -> str:
    """``name`` if it has something to read and no line breaks, controls or bidi overrides;
    raises ``ValueError`` if not."""
    if not name.strip():
        raise ValueError("must not be blank")
    if any(_unseen(character) for character in name):
        raise ValueError("must be one line without control or formatting characters")
    return name


def valid_locale(tag: str) -> str:
    """``tag`` if it is a language tag (``fr``, ``en-GB``, ``zh-Hant-TW``); raises ``ValueError``."""
    if not _LOCALE.fullmatch(tag):
        raise ValueError("not a language tag (e.g. en, en-GB, pt-BR)")
    return tag


def valid_avatar_url(url: str) -> str:
    """``url`` normalised (``HttpUrl``) if it is an https address with a host, no credentials and
    no spaces or control characters; raises ``ValueError``."""
    if any(character.isspace() or _unseen(character) for character in url):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise ValueError("must be an https:// address with a host and no user name or password")
    try:
        return str(_HTTP_URL.validate_python(url))
    except ValidationError:
        raise ValueError("not a valid address") from None


# ------------------------------------------------------------------ profile
class ProfileView(Contract):
    """The caller's profile as they see and edit it."""

    id: str
    email: str
    email_verified: bool
    display_name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    avatar_url: str | None = None
    timezone: str | None = Field(None, description="IANA time zone name, e.g. Europe/Paris")
    locale: str | None = Field(None, description="language tag, e.g. en-GB")
    consents_due: bool = Field(
        False, description="the current terms or privacy notice still waits for acceptance"
    )


class ProfileUpdate(Contract):
    """A partial update: only the fields sent change; ``null`` clears one."""

    display_name: str | None = Field(None, min_length=1, max_length=100)
    given_name: str | None = Field(None, min_length=1, max_length=100)
    family_name: str | None = Field(None, min_length=1, max_length=100)
    avatar_url: str | None = Field(None, max_length=AVATAR_URL_MAX)
    timezone: str | None = Field(None, max_length=64)
    locale: str | None = Field(None, max_length=35)

    @field_validator("display_name", "given_name", "family_name")
    @classmethod
    def _name(cls, name: str | None) -> str | None:
        return None if name is None else valid_name(name)

    @field_validator("avatar_url")
    @classmethod
    def _avatar_url(cls, url: str | None) -> str | None:
        return None if url is None else valid_avatar_url(url)

    @field_validator("timezone")
    @classmethod
    def _time_zone(cls, name: str | None) -> str | None:
        return None if name is None else valid_time_zone(name)

    @field_validator("locale")
    @classmethod
    def _locale(cls, tag: str | None) -> str | None:
        return None if tag is None else valid_locale(tag)


class EmailChangeCommand(Contract):
    new_email: EmailStr
    current_password: Password


class EmailChangeConfirm(Contract):
    code: OneTimeCode


class AccountDisableCommand(Contract):
    """The password again and, with TOTP on, a code of the second factor (TOTP or recovery)."""

    current_password: Password
    code: OptionalOneTimeCode = Field(None, description="required while TOTP is on")


# ------------------------------------------------------------------ consents
ConsentDocument = Literal["terms", "privacy"]


class ConsentView(Contract):
    document: ConsentDocument
    required_version: str = Field(description="the version every account must accept")
    accepted_version: str | None = Field(None, description="the newest version accepted")
    accepted_at: datetime | None = None
    due: bool = Field(description="the required version is not accepted yet")
    document_url: str | None = Field(None, description="where the document is published")


class Consents(Contract):
    items: list[ConsentView]
    due: bool = Field(description="some required version is not accepted yet")


class ConsentsAccept(Contract):
    """The versions the person accepts: each must be the one required now."""

    terms_version: str | None = Field(None, **_version)
    privacy_version: str | None = Field(None, **_version)

    @model_validator(mode="after")
    def _something_accepted(self) -> ConsentsAccept:
        if self.terms_version is None and self.privacy_version is None:
            raise ValueError("accept terms_version, privacy_version or both")
        return self


# ------------------------------------------------------------------ notification preferences
NotificationKind = Literal["security", "billing", "product", "incidents"]
NotificationChannel = Literal["email", "in_app"]


class ChannelChoice(Contract):
    email: bool
    in_app: bool


class NotificationPreferences(Contract):
    """Per kind of message, per channel: whether the person gets it. Security mail stays on."""

    security: ChannelChoice
    billing: ChannelChoice
    product: ChannelChoice
    incidents: ChannelChoice


# ------------------------------------------------------------------ MFA
class TotpMethod(Contract):
    enabled_since: datetime


class MfaMethods(Contract):
    totp: TotpMethod | None = Field(None, description="None while TOTP is off")
    recovery_codes_remaining: int = Field(description="unused recovery codes")


class Operation:
    """RPC operation names of user under ``rpc.auth.v1.``."""

    PROFILE = "users.me"
    PROFILE_UPDATE = "users.me.update"
    EMAIL_CHANGE = "users.email.change"
    EMAIL_CONFIRM = "users.email.confirm"
    DISABLE = "users.disable"
    CONSENTS = "users.consents"
    CONSENTS_ACCEPT = "users.consents.accept"
    NOTIFICATION_PREFERENCES = "users.notification_preferences"
    NOTIFICATION_PREFERENCES_UPDATE = "users.notification_preferences.update"
    MFA_METHODS = "mfa.methods"
    RECOVERY_CODES_REGENERATE = "mfa.recovery_codes.regenerate"


# ------------------------------------------------------------------ events
class UserProfileChanged(EventData):
    """The user changed their profile or email (``fields``: which ones, never their values)."""

    service = SERVICE
    event_type = "user.profile_changed"

    user_id: str
    fields: list[str]
    changed_at: datetime


class NotificationPreferencesChanged(EventData):
    """The user's new notification preferences, for the services that send notifications."""

    service = SERVICE
    event_type = "user.notification_preferences_changed"

    user_id: str
    preferences: NotificationPreferences
    changed_at: datetime


# ------------------------------------------------------------------ routes
_user_routes = RouteTable(SERVICE, prefix="/api/v1/users", tags=("users",))
_mfa_routes = RouteTable(SERVICE, prefix="/api/v1/auth/mfa", tags=("auth",))

ROUTES: tuple[Route, ...] = (
    _user_routes.get(
        "/me", Operation.PROFILE, "The caller's profile", access="user", response=ProfileView
    ),
    _user_routes.patch(
        "/me",
        Operation.PROFILE_UPDATE,
        "Change profile fields (only those sent)",
        access="user",
        body=ProfileUpdate,
        response=ProfileView,
    ),
    _user_routes.post(
        "/me/email",
        Operation.EMAIL_CHANGE,
        "Start an email change: a code goes to the new address",
        access="user",
        body=EmailChangeCommand,
        status=202,
        rate_group="strict",
    ),
    _user_routes.post(
        "/me/email/confirm",
        Operation.EMAIL_CONFIRM,
        "Confirm the email change with the mailed code",
        access="user",
        body=EmailChangeConfirm,
        status=204,
        rate_group="strict",
    ),
    _user_routes.post(
        "/me/disable",
        Operation.DISABLE,
        "Disable the account (every session ends)",
        access="user",
        body=AccountDisableCommand,
        status=204,
        rate_group="strict",
        ends_session=True,
    ),
    _user_routes.get(
        "/me/consents",
        Operation.CONSENTS,
        "Terms and privacy versions accepted",
        access="user",
        response=Consents,
    ),
    _user_routes.route(
        "PUT",
        "/me/consents",
        Operation.CONSENTS_ACCEPT,
        "Accept the current terms or privacy notice",
        access="user",
        body=ConsentsAccept,
        response=Consents,
    ),
    _user_routes.get(
        "/me/notification-preferences",
        Operation.NOTIFICATION_PREFERENCES,
        "Which notifications the caller gets, per channel",
        access="user",
        response=NotificationPreferences,
    ),
    _user_routes.route(
        "PUT",
        "/me/notification-preferences",
        Operation.NOTIFICATION_PREFERENCES_UPDATE,
        "Choose which notifications to get, per channel",
        access="user",
        body=NotificationPreferences,
        response=NotificationPreferences,
    ),
    _mfa_routes.get(
        "/methods",
        Operation.MFA_METHODS,
        "The second factors that are on",
        access="user",
        response=MfaMethods,
    ),
    _mfa_routes.post(
        "/recovery-codes",
        Operation.RECOVERY_CODES_REGENERATE,
        "A new set of recovery codes (the old set stops working)",
        access="user",
        body=TotpCodeCommand,
        response=RecoveryCodes,
        rate_group="strict",
    ),
)

__all__ = ["ROUTES", "SERVICE", "Operation"]
