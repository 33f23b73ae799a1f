"""Service accounts: ``rpc.auth.v1.service_accounts.*`` operations and the client-credentials
grant (``oauth.token``) with their routes under ``/api/v1/auth``.

Served by the auth service (``SERVICE``): a tenant's admins create accounts for programs, which
trade a client id and secret for access tokens of the scopes the account holds. Creating one
needs the tenant's plan to include ``service_accounts``; listing and revoking never do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from agentbus_shared.contracts.auth import SERVICE
from agentbus_shared.contracts.common import Contract, Page, PageQuery, Scope
from agentbus_shared.contracts.features import Feature
from agentbus_shared.contracts.http import Route, RouteTable


class ServiceAccountCreate(Contract):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1, max_length=32)


class ServiceAccountCreated(Contract):
    id: str
    name: str
    client_id: str
    client_secret: str = Field(repr=False)
    scopes: list[str]


class ServiceAccountView(Contract):
    id: str
    name: str
    client_id: str
    scopes: list[str]
    created_at: datetime
    created_by: str | None = None
    revoked_at: datetime | None = None


class ServiceAccountRef(Contract):
    service_account_id: str = Field(min_length=1, max_length=64)


class ClientCredentialsGrant(Contract):
    grant_type: Literal["client_credentials"]
    client_id: str = Field(min_length=1, max_length=128)
    client_secret: str = Field(min_length=1, max_length=256, repr=False)
    scope: str | None = Field(None, max_length=1024)


class ClientCredentialsToken(Contract):
    access_token: str = Field(repr=False)
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str


class Operation:
    """RPC operation names of service accounts under ``rpc.auth.v1.``."""

    SERVICE_ACCOUNTS_CREATE = "service_accounts.create"
    SERVICE_ACCOUNTS_LIST = "service_accounts.list"
    SERVICE_ACCOUNTS_REVOKE = "service_accounts.revoke"
    OAUTH_TOKEN = "oauth.token"


_routes = RouteTable(SERVICE, prefix="/api/v1/auth", tags=("auth",))

ROUTES: tuple[Route, ...] = (
    _routes.post(
        "/service-accounts",
        Operation.SERVICE_ACCOUNTS_CREATE,
        "Create a service account",
        access="user",
        scopes=(Scope.SERVICE_ACCOUNTS_MANAGE,),
        body=ServiceAccountCreate,
        response=ServiceAccountCreated,
        status=201,
        feature=Feature.SERVICE_ACCOUNTS,
    ),
    _routes.get(
        "/service-accounts",
        Operation.SERVICE_ACCOUNTS_LIST,
        "List service accounts",
        access="user",
        scopes=(Scope.SERVICE_ACCOUNTS_MANAGE,),
        query=PageQuery,
        response=Page[ServiceAccountView],
    ),
    _routes.delete(
        "/service-accounts/{service_account_id}",
        Operation.SERVICE_ACCOUNTS_REVOKE,
        "Revoke a service account",
        access="user",
        scopes=(Scope.SERVICE_ACCOUNTS_MANAGE,),
        status=204,
    ),
    _routes.post(
        "/oauth/token",
        Operation.OAUTH_TOKEN,
        "Client-credentials grant",
        access="public",
        body=ClientCredentialsGrant,
        response=ClientCredentialsToken,
        rate_group="strict",
        form_body=True,
    ),
)

__all__ = ["ROUTES", "SERVICE", "Operation"]
