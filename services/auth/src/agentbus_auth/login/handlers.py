"""RPC operations of logging in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import Meta, Reply
from agentbus_shared.contracts.auth import (
    LoginCommand,
    MfaChallenge,
    MfaCompleteCommand,
    Operation,
    TokenPair,
)
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    login = parts.login

    @ops.operation(Operation.LOGIN, description="Log in: tokens, or an MFA challenge (202).")
    async def log_in(cmd: LoginCommand, meta: Meta) -> TokenPair | Reply[MfaChallenge]:
        result = await login.login(cmd, meta)
        if isinstance(result, MfaChallenge):
            return Reply(result, status=202)
        return result

    @ops.operation(Operation.MFA_COMPLETE, description="Finish a login with a second factor.")
    async def mfa_complete(cmd: MfaCompleteCommand, meta: Meta) -> TokenPair:
        return await login.complete_mfa(cmd, meta)
