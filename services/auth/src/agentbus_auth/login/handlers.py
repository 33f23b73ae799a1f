"""RPC operations of logging in."""

from __future__ import annotations

from agentbus_auth.login.service import LoginService
from agentbus_shared.bus import Meta, Reply, RpcRouter
from agentbus_shared.contracts.auth import (
    LoginCommand,
    MfaChallenge,
    MfaCompleteCommand,
    Operation,
    TokenPair,
)


def register_operations(ops: RpcRouter, login: LoginService) -> None:
    @ops.operation(Operation.LOGIN, description="Log in: tokens, or an MFA challenge (202).")
    async def log_in(cmd: LoginCommand, meta: Meta) -> TokenPair | Reply[MfaChallenge]:
        result = await login.login(cmd, meta)
        if isinstance(result, MfaChallenge):
            return Reply(result, status=202)
        return result

    @ops.operation(Operation.MFA_COMPLETE, description="Finish a login with a second factor.")
    async def mfa_complete(cmd: MfaCompleteCommand, meta: Meta) -> TokenPair:
        return await login.complete_mfa(cmd, meta)
