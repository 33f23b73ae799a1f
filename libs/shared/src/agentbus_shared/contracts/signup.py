"""Who may sign up: ``rpc.auth.v1.signup.*`` operations and their routes
(signup policy, access requests, platform signup invites).

Served by the auth service (``SERVICE``); the module keeps ``contracts.auth`` to tokens and membership.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field

from agentbus_shared.contracts.auth import SERVICE
from agentbus_shared.contracts.common import Contract, Page, PageQuery, Scope
from agentbus_shared.contracts.http import Route, RouteTable

SignupPolicyName = Literal["public", "invite_only", "approval"]
"""``public``: anyone registers; ``invite_only``: only with a signup invite; ``approval``: an
account waits for an operator unless it registers with a signup invite."""

SignupRequestStatus = Literal["pending", "approved", "rejected", "account_exists"]
"""``account_exists``: approved after its email got an account, closed without an invite."""

SignupInviteStatus = Literal["pending", "used", "revoked", "expired"]


class Operation:
    """RPC operation names of signup under ``rpc.auth.v1.``."""

    POLICY = "signup.policy"
    REQUEST_ACCESS = "signup.request_access"
    REQUESTS_LIST = "signup.requests.list"
    REQUESTS_APPROVE = "signup.requests.approve"
    REQUESTS_REJECT = "signup.requests.reject"
    INVITES_LIST = "signup.invites.list"
    INVITES_CREATE = "signup.invites.create"
    INVITES_REVOKE = "signup.invites.revoke"


class SignupPolicyView(Contract):
    """What the register form shows: who may sign up and the versions an account accepts."""

    policy: SignupPolicyName
    terms_version: str
    privacy_version: str
    terms_url: str | None = Field(None, description="where the terms of service are published")
    privacy_url: str | None = Field(None, description="where the privacy notice is published")


class AccessRequest(Contract):
    """Someone asking to sign up (answered 202 whatever the email)."""

    email: EmailStr
    name: str = Field(min_length=1, max_length=100)
    company: str | None = Field(None, max_length=100)
    message: str | None = Field(None, max_length=1000)


class SignupRequestView(Contract):
    id: str
    email: str
    name: str
    company: str | None = None
    message: str | None = None
    status: SignupRequestStatus
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    invite_id: str | None = Field(None, description="the signup invite an approval mailed")


class SignupRequestsQuery(PageQuery):
    status: SignupRequestStatus | None = Field(None, description="only requests in this status")


class SignupRequestRef(Contract):
    signup_request_id: str = Field(min_length=1, max_length=64)


class SignupRejection(Contract):
    """Body of ``POST /signup-requests/{signup_request_id}/reject``."""

    reason: str | None = Field(
        None, max_length=500, description="mailed to the requester when given"
    )


class SignupRequestReject(SignupRejection):
    signup_request_id: str = Field(min_length=1, max_length=64)


class SignupInviteCreate(Contract):
    email: EmailStr
    note: str | None = Field(None, max_length=500, description="for operators; not mailed")


class SignupInviteView(Contract):
    """A signup invite as operators see it: the token goes only to the invited mailbox."""

    id: str
    email: str
    note: str | None = None
    status: SignupInviteStatus
    created_at: datetime
    created_by: str
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None
    signup_request_id: str | None = None


class SignupInviteRef(Contract):
    signup_invite_id: str = Field(min_length=1, max_length=64)


_routes = RouteTable(SERVICE, prefix="/api/v1/auth", tags=("signup",))
_OPERATORS = (Scope.PLATFORM_OPERATE,)

ROUTES: tuple[Route, ...] = (
    _routes.get(
        "/signup-policy",
        Operation.POLICY,
        "Who may sign up, and the consent versions an account accepts",
        access="public",
        response=SignupPolicyView,
        rate_group="anonymous",
    ),
    _routes.post(
        "/request-access",
        Operation.REQUEST_ACCESS,
        "Ask to sign up (202 whatever the email)",
        access="public",
        body=AccessRequest,
        status=202,
        rate_group="strict",
    ),
    _routes.get(
        "/signup-requests",
        Operation.REQUESTS_LIST,
        "Access requests, newest first (operator)",
        access="user",
        scopes=_OPERATORS,
        query=SignupRequestsQuery,
        response=Page[SignupRequestView],
        rate_group="operator",
    ),
    _routes.post(
        "/signup-requests/{signup_request_id}/approve",
        Operation.REQUESTS_APPROVE,
        "Approve an access request: mail a signup invite (operator)",
        access="user",
        scopes=_OPERATORS,
        response=SignupRequestView,
        rate_group="operator",
    ),
    _routes.post(
        "/signup-requests/{signup_request_id}/reject",
        Operation.REQUESTS_REJECT,
        "Reject an access request, optionally telling why (operator)",
        access="user",
        scopes=_OPERATORS,
        body=SignupRejection,
        response=SignupRequestView,
        rate_group="operator",
    ),
    _routes.get(
        "/signup-invites",
        Operation.INVITES_LIST,
        "Platform signup invites, newest first (operator)",
        access="user",
        scopes=_OPERATORS,
        query=PageQuery,
        response=Page[SignupInviteView],
        rate_group="operator",
    ),
    _routes.post(
        "/signup-invites",
        Operation.INVITES_CREATE,
        "Mail a signup invite (operator)",
        access="user",
        scopes=_OPERATORS,
        body=SignupInviteCreate,
        response=SignupInviteView,
        status=201,
        rate_group="operator",
    ),
    _routes.post(
        "/signup-invites/{signup_invite_id}/revoke",
        Operation.INVITES_REVOKE,
        "Revoke a signup invite (operator)",
        access="user",
        scopes=_OPERATORS,
        response=SignupInviteView,
        rate_group="operator",
    ),
)

__all__ = ["ROUTES", "SERVICE", "Operation"]
