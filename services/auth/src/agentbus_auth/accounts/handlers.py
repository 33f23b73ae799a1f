"""RPC operations of accounts: decode, call the service, encode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta, Reply
from agentbus_shared.contracts.auth import (
    EmailVerifyCommand,
    MeResult,
    Operation,
    PasswordChangeCommand,
    PasswordForgotCommand,
    PasswordResetCommand,
    RegisterCommand,
    RegisterResult,
)
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    accounts = parts.accounts

    @ops.operation(Operation.REGISTER, description="Create a tenant and its owner.")
    async def register(cmd: RegisterCommand, meta: Meta) -> Reply[RegisterResult]:
        result = await accounts.register(cmd, meta)
        return Reply(result, status=202 if result.status == "pending_approval" else 201)

    @ops.operation(Operation.ME, user_only=True, description="The caller, their tenant and scopes.")
    async def me(principal: CallerPrincipal) -> MeResult:
        result = await accounts.me(principal)
        due = await parts.profiles.consents_due(principal.user_id)
        return result.model_copy(update={"consents_due": due})

    @ops.operation(
        Operation.EMAIL_SEND, user_only=True, description="Mail an email verification code."
    )
    async def email_send(principal: CallerPrincipal) -> None:
        await accounts.send_verification(principal.user_id)

    @ops.operation(
        Operation.EMAIL_VERIFY, user_only=True, description="Verify the email with a code."
    )
    async def email_verify(cmd: EmailVerifyCommand, principal: CallerPrincipal, meta: Meta) -> None:
        await accounts.verify_email(principal.user_id, cmd.code, meta)

    @ops.operation(Operation.PASSWORD_FORGOT, description="Mail a reset code (202 always).")
    async def password_forgot(cmd: PasswordForgotCommand, meta: Meta) -> Reply[None]:
        await accounts.forgot_password(str(cmd.email), meta)
        return Reply(None, status=202)

    @ops.operation(Operation.PASSWORD_RESET, description="Reset the password with a code.")
    async def password_reset(cmd: PasswordResetCommand, meta: Meta) -> None:
        await accounts.reset_password(cmd, meta)

    @ops.operation(Operation.PASSWORD_CHANGE, user_only=True, description="Change the password.")
    async def password_change(
        cmd: PasswordChangeCommand, principal: CallerPrincipal, meta: Meta
    ) -> None:
        await accounts.change_password(principal, cmd, meta)
