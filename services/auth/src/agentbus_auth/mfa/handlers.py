"""RPC operations of TOTP enrollment."""

from __future__ import annotations

from agentbus_auth.mfa.service import MfaService
from agentbus_shared.bus import CallerPrincipal, Meta, RpcRouter
from agentbus_shared.contracts.auth import (
    Operation,
    RecoveryCodes,
    TotpCodeCommand,
    TotpConfirmCommand,
    TotpEnrollCommand,
    TotpEnrollment,
)


def register_operations(ops: RpcRouter, mfa: MfaService) -> None:
    @ops.operation(
        Operation.TOTP_ENROLL, description="Start TOTP enrollment; needs the current password."
    )
    async def totp_enroll(
        cmd: TotpEnrollCommand, principal: CallerPrincipal, meta: Meta
    ) -> TotpEnrollment:
        return await mfa.enroll(principal.user_id, cmd.current_password, meta)

    @ops.operation(
        Operation.TOTP_VERIFY,
        description="Confirm TOTP with a code and the current password; the recovery codes, once.",
    )
    async def totp_verify(
        cmd: TotpConfirmCommand, principal: CallerPrincipal, meta: Meta
    ) -> RecoveryCodes:
        return await mfa.confirm(principal.user_id, cmd, meta)

    @ops.operation(Operation.TOTP_DISABLE, description="Turn TOTP off with a code.")
    async def totp_disable(cmd: TotpCodeCommand, principal: CallerPrincipal, meta: Meta) -> None:
        await mfa.disable(principal.user_id, cmd.code, meta)
