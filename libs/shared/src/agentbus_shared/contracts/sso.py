"""Single sign-on with OpenID Connect: ``rpc.auth.v1.sso.*`` operations and their routes
under ``/api/v1/auth/sso``.

Served by the auth service (``SERVICE``); the module keeps ``contracts.auth`` to tokens and membership.
The provider list and the caller's linked identities (listed and unlinked) are forwarded routes:
starting a login and its callback answer with
redirects and cookies, so they are the gateway's own routes (``SSO_PREFIX``) calling
``sso.start`` and ``sso.callback``.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from agentbus_shared.contracts.auth import SERVICE, MfaChallenge, TokenPair
from agentbus_shared.contracts.common import Contract
from agentbus_shared.contracts.http import Route, RouteTable

SSO_PREFIX = "/api/v1/auth/sso"
"""Where the SSO routes live: ``/providers``, ``/{provider}/start``, ``/{provider}/callback``."""

DEFAULT_RETURN_TO = "/app"
"""Where a person lands after signing in, when the start did not say."""

_provider_id = Field(min_length=1, max_length=64)


class SsoProvider(Contract):
    id: str
    name: str = Field(description="what the login button says: Continue with <name>")


class SsoProviders(Contract):
    """The single sign-on providers the operator configured (none: the list is empty)."""

    items: list[SsoProvider]


class SsoStartCommand(Contract):
    provider: str = _provider_id
    return_to: str = Field(
        DEFAULT_RETURN_TO,
        max_length=2048,
        description="a path of this site to land on afterwards (anything else is refused)",
    )


class SsoStarted(Contract):
    """Where to send the browser, and the secret its cookie holds until the callback."""

    authorization_url: str
    browser_binding: str = Field(repr=False)
    expires_in: int = Field(description="seconds the login stays open")


class SsoCallbackCommand(Contract):
    """The provider's answer as the browser brought it back, with the browser's cookie."""

    provider: str = _provider_id
    state: str | None = Field(None, max_length=512, repr=False)
    code: str | None = Field(None, max_length=2048, repr=False)
    error: str | None = Field(None, max_length=256)
    browser_binding: str | None = Field(None, max_length=512, repr=False)


class SsoSignedIn(Contract):
    """A finished login: a session's tokens, or the MFA challenge the account's second factor
    asks for first; and where to land."""

    return_to: str
    tokens: TokenPair | None = None
    mfa: MfaChallenge | None = None


class SsoIdentity(Contract):
    """A provider's identity linked to the caller's account: signing in there signs in here."""

    id: str
    provider: str
    provider_name: str = Field(description="the provider's name, or its id when it is gone")
    email: str | None = Field(None, description="the email the provider asserted last")
    created_at: datetime
    last_login_at: datetime | None = None


class SsoIdentities(Contract):
    """Every identity linked to the caller's account (one per provider and person there)."""

    items: list[SsoIdentity]


class SsoIdentityRef(Contract):
    identity_id: str = Field(min_length=1, max_length=64)


class Operation:
    """RPC operation names of SSO under ``rpc.auth.v1.``."""

    PROVIDERS = "sso.providers"
    START = "sso.start"
    CALLBACK = "sso.callback"
    IDENTITIES_LIST = "sso.identities.list"
    IDENTITIES_UNLINK = "sso.identities.unlink"


_routes = RouteTable(SERVICE, prefix=SSO_PREFIX, tags=("auth",))

ROUTES: tuple[Route, ...] = (
    _routes.get(
        "/providers",
        Operation.PROVIDERS,
        "The single sign-on providers to offer on the login page",
        access="public",
        response=SsoProviders,
        rate_group="anonymous",
    ),
    _routes.get(
        "/identities",
        Operation.IDENTITIES_LIST,
        "The single sign-on identities linked to the caller's account",
        access="user",
        response=SsoIdentities,
    ),
    _routes.delete(
        "/identities/{identity_id}",
        Operation.IDENTITIES_UNLINK,
        "Unlink a single sign-on identity from the caller's account",
        access="user",
        status=204,
    ),
)

__all__ = [
    "DEFAULT_RETURN_TO",
    "ROUTES",
    "SERVICE",
    "SSO_PREFIX",
    "Operation",
    "SsoCallbackCommand",
    "SsoIdentities",
    "SsoIdentity",
    "SsoIdentityRef",
    "SsoProvider",
    "SsoProviders",
    "SsoSignedIn",
    "SsoStartCommand",
    "SsoStarted",
]
