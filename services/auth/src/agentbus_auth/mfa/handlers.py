"""RPC operations of TOTP enrollment."""

from __future__ import annotations

from agentbus_auth.mfa.service import MfaService
from agentbus_shared.bus import CallerPrincipal, Meta, RpcRouter
from agentbus_shared.contracts.auth import (
    Operation,
    RecoveryCodes,
    TotpCodeCommand,
    TotpEnrollment,
)


def register_operations(ops: RpcRouter, mfa: MfaService) -> None:
    @ops.operation(Operation.TOTP_ENROLL, description="Start TOTP enrollment.")
    async def totp_enroll(principal: CallerPrincipal) -> TotpEnrollment:
        return await mfa.enroll(principal.user_id)

    @ops.operation(Operation.TOTP_VERIFY, description="Confirm TOTP; the recovery codes, once.")
    async def totp_verify(
        cmd: TotpCodeCommand, principal: CallerPrincipal, meta: Meta
    ) -> RecoveryCodes:
        return await mfa.confirm(principal.user_id, cmd.code, meta)

    @ops.operation(Operation.TOTP_DISABLE, description="Turn TOTP off with a code.")
    async def totp_disable(cmd: TotpCodeCommand, principal: CallerPrincipal, meta: Meta) -> None:
        await mfa.disable(principal.user_id, cmd.code, meta)
