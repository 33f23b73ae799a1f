"""RPC operations of single sign-on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta
from agentbus_shared.contracts.sso import (
    Operation,
    SsoCallbackCommand,
    SsoIdentities,
    SsoIdentityRef,
    SsoProviders,
    SsoSignedIn,
    SsoStartCommand,
    SsoStarted,
)
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    sso = parts.sso

    @ops.operation(Operation.PROVIDERS, description="The providers to offer on the login page.")
    async def providers() -> SsoProviders:
        return sso.providers()

    @ops.operation(Operation.START, description="Start a login at a provider (gateway's route).")
    async def start(cmd: SsoStartCommand) -> SsoStarted:
        return await sso.start(cmd)

    @ops.operation(Operation.CALLBACK, description="Finish a login the provider sent back.")
    async def callback(cmd: SsoCallbackCommand, meta: Meta) -> SsoSignedIn:
        return await sso.callback(cmd, meta)

    @ops.operation(
        Operation.IDENTITIES_LIST, user_only=True, description="The caller's linked identities."
    )
    async def identities_list(principal: CallerPrincipal) -> SsoIdentities:
        return await parts.sso_identities.list(principal.user_id)

    @ops.operation(
        Operation.IDENTITIES_UNLINK, user_only=True, description="Unlink one of the caller's."
    )
    async def identities_unlink(
        ref: SsoIdentityRef, principal: CallerPrincipal, meta: Meta
    ) -> None:
        await parts.sso_identities.unlink(principal, ref.identity_id, meta)
