"""RPC operations of service accounts and the client-credentials grant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta, Reply
from agentbus_shared.contracts.common import Page, PageQuery, Scope
from agentbus_shared.contracts.service_accounts import (
    ClientCredentialsGrant,
    ClientCredentialsToken,
    Operation,
    ServiceAccountCreate,
    ServiceAccountCreated,
    ServiceAccountRef,
    ServiceAccountView,
)
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    accounts = parts.service_accounts
    manage = {Scope.SERVICE_ACCOUNTS_MANAGE}

    @ops.operation(
        Operation.SERVICE_ACCOUNTS_CREATE,
        scopes=manage,
        user_only=True,
        description="Create a service account.",
    )
    async def create(
        cmd: ServiceAccountCreate, principal: CallerPrincipal, meta: Meta
    ) -> Reply[ServiceAccountCreated]:
        return Reply(await accounts.create(principal, cmd, meta), status=201)

    @ops.operation(
        Operation.SERVICE_ACCOUNTS_LIST,
        scopes=manage,
        user_only=True,
        description="The tenant's service accounts.",
    )
    async def list_(query: PageQuery, principal: CallerPrincipal) -> Page[ServiceAccountView]:
        return await accounts.list(principal, query)

    @ops.operation(
        Operation.SERVICE_ACCOUNTS_REVOKE,
        scopes=manage,
        user_only=True,
        description="Revoke a service account.",
    )
    async def revoke(ref: ServiceAccountRef, principal: CallerPrincipal, meta: Meta) -> None:
        await accounts.revoke(principal, ref.service_account_id, meta)

    @ops.operation(Operation.OAUTH_TOKEN, description="The client-credentials grant.")
    async def oauth_token(grant: ClientCredentialsGrant, meta: Meta) -> ClientCredentialsToken:
        return await accounts.token(grant, meta)
