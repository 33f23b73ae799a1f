"""RPC operations of who may sign up: the policy, access requests and platform signup invites."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentbus_shared.bus import CallerPrincipal, Meta, Reply
from agentbus_shared.contracts.common import Page, PageQuery, Scope
from agentbus_shared.contracts.signup import (
    AccessRequest,
    Operation,
    SignupInviteCreate,
    SignupInviteRef,
    SignupInviteView,
    SignupPolicyView,
    SignupRequestRef,
    SignupRequestReject,
    SignupRequestsQuery,
    SignupRequestView,
)
from agentbus_shared.runtime import ServiceRuntime

if TYPE_CHECKING:
    from agentbus_auth.app import AuthParts


def register(runtime: ServiceRuntime, parts: AuthParts) -> None:
    ops = runtime.rpc_router
    signup = parts.signup
    operators = {Scope.PLATFORM_OPERATE}

    @ops.operation(Operation.POLICY, description="Who may sign up and the consent versions.")
    async def policy() -> SignupPolicyView:
        return signup.policy()

    @ops.operation(Operation.REQUEST_ACCESS, description="Ask to sign up (202 always).")
    async def request_access(cmd: AccessRequest, meta: Meta) -> Reply[None]:
        await signup.request_access(cmd, meta)
        return Reply(None, status=202)

    @ops.operation(
        Operation.REQUESTS_LIST,
        scopes=operators,
        user_only=True,
        description="Access requests, newest first.",
    )
    async def requests(query: SignupRequestsQuery) -> Page[SignupRequestView]:
        return await signup.requests(query)

    @ops.operation(
        Operation.REQUESTS_APPROVE,
        scopes=operators,
        user_only=True,
        description="Approve an access request: mail a signup invite.",
    )
    async def approve(
        ref: SignupRequestRef, principal: CallerPrincipal, meta: Meta
    ) -> SignupRequestView:
        return await signup.approve(principal.user_id, ref.signup_request_id, meta)

    @ops.operation(
        Operation.REQUESTS_REJECT,
        scopes=operators,
        user_only=True,
        description="Reject an access request.",
    )
    async def reject(
        cmd: SignupRequestReject, principal: CallerPrincipal, meta: Meta
    ) -> SignupRequestView:
        return await signup.reject(principal.user_id, cmd, meta)

    @ops.operation(
        Operation.INVITES_LIST,
        scopes=operators,
        user_only=True,
        description="Platform signup invites, newest first.",
    )
    async def invites(query: PageQuery) -> Page[SignupInviteView]:
        return await signup.invites(query)

    @ops.operation(
        Operation.INVITES_CREATE,
        scopes=operators,
        user_only=True,
        description="Mail a platform signup invite.",
    )
    async def invite(
        cmd: SignupInviteCreate, principal: CallerPrincipal, meta: Meta
    ) -> Reply[SignupInviteView]:
        return Reply(await signup.invite(principal.user_id, cmd, meta), status=201)

    @ops.operation(
        Operation.INVITES_REVOKE,
        scopes=operators,
        user_only=True,
        description="Revoke a platform signup invite.",
    )
    async def revoke(
        ref: SignupInviteRef, principal: CallerPrincipal, meta: Meta
    ) -> SignupInviteView:
        return await signup.revoke(principal.user_id, ref.signup_invite_id, meta)
