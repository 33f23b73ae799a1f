"""RPC operations of TOTP enrollment, the factors that are on, and recovery codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta
from agentbus_shared.contracts.auth import (
    Operation,
    RecoveryCodes,
    TotpCodeCommand,
    TotpConfirmCommand,
    TotpEnrollCommand,
    TotpEnrollment,
)
from agentbus_shared.contracts.users import MfaMethods
from agentbus_shared.contracts.users import Operation as UserOperation
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    mfa = parts.mfa

    @ops.operation(
        Operation.TOTP_ENROLL,
        user_only=True,
        description="Start TOTP enrollment; needs the current password.",
    )
    async def totp_enroll(
        cmd: TotpEnrollCommand, principal: CallerPrincipal, meta: Meta
    ) -> TotpEnrollment:
        return await mfa.enroll(principal.user_id, cmd.current_password, meta)

    @ops.operation(
        Operation.TOTP_VERIFY,
        user_only=True,
        description="Confirm TOTP with a code and the current password; the recovery codes, once.",
    )
    async def totp_verify(
        cmd: TotpConfirmCommand, principal: CallerPrincipal, meta: Meta
    ) -> RecoveryCodes:
        return await mfa.confirm(principal.user_id, cmd, meta)

    @ops.operation(Operation.TOTP_DISABLE, user_only=True, description="Turn TOTP off with a code.")
    async def totp_disable(cmd: TotpCodeCommand, principal: CallerPrincipal, meta: Meta) -> None:
        await mfa.disable(principal.user_id, cmd.code, meta)

    @ops.operation(
        UserOperation.MFA_METHODS, user_only=True, description="The second factors that are on."
    )
    async def mfa_methods(principal: CallerPrincipal) -> MfaMethods:
        return await mfa.methods(principal.user_id)

    @ops.operation(
        UserOperation.RECOVERY_CODES_REGENERATE,
        user_only=True,
        description="A new set of recovery codes for a current TOTP code; the old set is void.",
    )
    async def recovery_codes_regenerate(
        cmd: TotpCodeCommand, principal: CallerPrincipal, meta: Meta
    ) -> RecoveryCodes:
        return await mfa.regenerate_recovery_codes(principal.user_id, cmd.code, meta)
