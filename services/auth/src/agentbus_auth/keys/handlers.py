"""RPC operation of the published keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.contracts.auth import Jwks, Operation
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    keyring = parts.keyring

    @ops.operation(Operation.JWKS, description="The public keys that verify access tokens.")
    async def jwks() -> Jwks:
        return keyring.jwks()
