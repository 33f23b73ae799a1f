"""RPC operations of service accounts and the client-credentials grant."""

from __future__ import annotations

from agentbus_auth.service_accounts.service import ServiceAccountService
from agentbus_shared.bus import CallerPrincipal, Meta, Reply, RpcRouter
from agentbus_shared.contracts.auth import (
    ClientCredentialsGrant,
    ClientCredentialsToken,
    Operation,
    ServiceAccountCreate,
    ServiceAccountCreated,
    ServiceAccountRef,
    ServiceAccountView,
)
from agentbus_shared.contracts.common import Page, PageQuery


def register_operations(ops: RpcRouter, accounts: ServiceAccountService) -> None:
    @ops.operation(Operation.SERVICE_ACCOUNTS_CREATE, description="Create a service account.")
    async def create(
        cmd: ServiceAccountCreate, principal: CallerPrincipal, meta: Meta
    ) -> Reply[ServiceAccountCreated]:
        return Reply(await accounts.create(principal, cmd, meta), status=201)

    @ops.operation(Operation.SERVICE_ACCOUNTS_LIST, description="The tenant's service accounts.")
    async def list_(query: PageQuery, principal: CallerPrincipal) -> Page[ServiceAccountView]:
        return await accounts.list(principal, query)

    @ops.operation(Operation.SERVICE_ACCOUNTS_REVOKE, description="Revoke a service account.")
    async def revoke(ref: ServiceAccountRef, principal: CallerPrincipal, meta: Meta) -> None:
        await accounts.revoke(principal, ref.service_account_id, meta)

    @ops.operation(Operation.OAUTH_TOKEN, description="The client-credentials grant.")
    async def oauth_token(grant: ClientCredentialsGrant, meta: Meta) -> ClientCredentialsToken:
        return await accounts.token(grant, meta)
