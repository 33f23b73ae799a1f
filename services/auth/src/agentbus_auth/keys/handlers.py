"""RPC operation of the published keys."""

from __future__ import annotations

from agentbus_auth.keys.service import KeyRing
from agentbus_shared.bus import RpcRouter
from agentbus_shared.contracts.auth import Jwks, Operation


def register_operations(ops: RpcRouter, keyring: KeyRing) -> None:
    @ops.operation(Operation.JWKS, description="The public keys that verify access tokens.")
    async def jwks() -> Jwks:
        return keyring.jwks()
