"""RPC operations of sessions and refresh tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta
from agentbus_shared.contracts.auth import (
    Operation,
    RefreshCommand,
    SessionRef,
    SessionView,
    TokenPair,
)
from agentbus_shared.contracts.common import Page, PageQuery
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    sessions = parts.sessions

    @ops.operation(Operation.REFRESH, description="Rotate a refresh token.")
    async def refresh(cmd: RefreshCommand, meta: Meta) -> TokenPair:
        return await sessions.refresh(cmd.refresh_token, meta)

    @ops.operation(Operation.LOGOUT, user_only=True, description="Revoke the current session.")
    async def logout(principal: CallerPrincipal, meta: Meta) -> None:
        await sessions.logout(principal.user_id, principal.session_id, meta)

    @ops.operation(
        Operation.LOGOUT_ALL, user_only=True, description="Revoke every session of the user."
    )
    async def logout_all(principal: CallerPrincipal, meta: Meta) -> None:
        await sessions.logout_everywhere(principal.user_id, meta)

    @ops.operation(Operation.SESSIONS_LIST, user_only=True, description="The user's live sessions.")
    async def sessions_list(query: PageQuery, principal: CallerPrincipal) -> Page[SessionView]:
        listed = await sessions.list(principal.user_id, principal.session_id, query)
        return await parts.locations.place_sessions(listed)

    @ops.operation(
        Operation.SESSIONS_REVOKE, user_only=True, description="Revoke one of the user's sessions."
    )
    async def sessions_revoke(ref: SessionRef, principal: CallerPrincipal, meta: Meta) -> None:
        await sessions.revoke_one(principal.user_id, ref.session_id, meta)
