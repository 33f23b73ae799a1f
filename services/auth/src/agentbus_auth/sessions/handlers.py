"""RPC operations of sessions and refresh tokens."""

from __future__ import annotations

from agentbus_auth.sessions.service import SessionService
from agentbus_shared.bus import CallerPrincipal, Meta, RpcRouter
from agentbus_shared.contracts.auth import (
    Operation,
    RefreshCommand,
    SessionRef,
    SessionView,
    TokenPair,
)
from agentbus_shared.contracts.common import Page, PageQuery


def register_operations(ops: RpcRouter, sessions: SessionService) -> None:
    @ops.operation(Operation.REFRESH, description="Rotate a refresh token.")
    async def refresh(cmd: RefreshCommand, meta: Meta) -> TokenPair:
        return await sessions.refresh(cmd.refresh_token, meta)

    @ops.operation(Operation.LOGOUT, description="Revoke the current session.")
    async def logout(principal: CallerPrincipal, meta: Meta) -> None:
        await sessions.logout(principal.user_id, principal.session_id, meta)

    @ops.operation(Operation.LOGOUT_ALL, description="Revoke every session of the user.")
    async def logout_all(principal: CallerPrincipal, meta: Meta) -> None:
        await sessions.logout_everywhere(principal.user_id, meta)

    @ops.operation(Operation.SESSIONS_LIST, description="The user's live sessions.")
    async def sessions_list(query: PageQuery, principal: CallerPrincipal) -> Page[SessionView]:
        return await sessions.list(principal.user_id, principal.session_id, query)

    @ops.operation(Operation.SESSIONS_REVOKE, description="Revoke one of the user's sessions.")
    async def sessions_revoke(ref: SessionRef, principal: CallerPrincipal, meta: Meta) -> None:
        await sessions.revoke_one(principal.user_id, ref.session_id, meta)
