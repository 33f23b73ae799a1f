"""RPC operations of the self-service profile: decode, call the service, encode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta, Reply
from agentbus_shared.contracts.users import (
    AccountDisableCommand,
    Consents,
    ConsentsAccept,
    EmailChangeCommand,
    EmailChangeConfirm,
    NotificationPreferences,
    Operation,
    ProfileUpdate,
    ProfileView,
)
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    profiles = parts.profiles
    changes = parts.account_changes

    @ops.operation(Operation.PROFILE, user_only=True, description="The caller's profile.")
    async def profile(principal: CallerPrincipal) -> ProfileView:
        return await profiles.profile(principal.user_id)

    @ops.operation(
        Operation.PROFILE_UPDATE, user_only=True, description="Change the profile fields sent."
    )
    async def profile_update(cmd: ProfileUpdate, principal: CallerPrincipal) -> ProfileView:
        return await profiles.update(principal, cmd)

    @ops.operation(
        Operation.EMAIL_CHANGE,
        user_only=True,
        description="Mail a code to a new address (with the current password).",
    )
    async def email_change(
        cmd: EmailChangeCommand, principal: CallerPrincipal, meta: Meta
    ) -> Reply[None]:
        await changes.request_email_change(principal.user_id, cmd, meta)
        return Reply(None, status=202)

    @ops.operation(
        Operation.EMAIL_CONFIRM,
        user_only=True,
        description="Confirm the new address with its code.",
    )
    async def email_confirm(
        cmd: EmailChangeConfirm, principal: CallerPrincipal, meta: Meta
    ) -> None:
        await changes.confirm_email_change(principal, cmd.code, meta)

    @ops.operation(
        Operation.DISABLE,
        user_only=True,
        description="Disable the account (with the current password and, with TOTP on, a code of "
        "the second factor); every session ends.",
    )
    async def disable(cmd: AccountDisableCommand, principal: CallerPrincipal, meta: Meta) -> None:
        await changes.disable(principal.user_id, cmd, meta)

    @ops.operation(Operation.CONSENTS, user_only=True, description="Versions accepted.")
    async def consents(principal: CallerPrincipal) -> Consents:
        return await profiles.consents(principal.user_id)

    @ops.operation(
        Operation.CONSENTS_ACCEPT, user_only=True, description="Accept the current versions."
    )
    async def consents_accept(
        cmd: ConsentsAccept, principal: CallerPrincipal, meta: Meta
    ) -> Consents:
        return await profiles.accept(principal.user_id, cmd, meta)

    @ops.operation(
        Operation.NOTIFICATION_PREFERENCES,
        user_only=True,
        description="Which notifications the caller gets.",
    )
    async def notification_preferences(principal: CallerPrincipal) -> NotificationPreferences:
        return await profiles.notification_preferences(principal.user_id)

    @ops.operation(
        Operation.NOTIFICATION_PREFERENCES_UPDATE,
        user_only=True,
        description="Choose which notifications to get (security mail stays on).",
    )
    async def notification_preferences_update(
        cmd: NotificationPreferences, principal: CallerPrincipal
    ) -> NotificationPreferences:
        return await profiles.update_notification_preferences(principal, cmd)
