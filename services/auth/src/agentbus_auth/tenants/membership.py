"""Whether the caller still belongs to the tenant its token names, and in which role.

Checked against the memberships as stored now, never against the token: a member removed
from the tenant, or demoted, keeps a valid access token until it expires.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.errors import AccountDisabled, AccountPending, NoMembership
from agentbus_auth.service_accounts import repository as service_accounts_repo
from agentbus_auth.tenants import repository as repo
from agentbus_auth.tenants.repository import Member
from agentbus_shared.contracts.common import Principal, Role
from agentbus_shared.errors import Forbidden, NotFound, TenantSuspended

MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
"""The roles that manage members and service accounts."""


async def caller_membership(session: AsyncSession, principal: Principal) -> Member | None:
    """The calling user's membership of its token's tenant; ``None`` once it has left."""
    return await repo.member(session, principal.tenant_id, principal.user_id)


async def active_membership(session: AsyncSession, tenant_id: str, user_id: str) -> Member | None:
    """The user's membership of the tenant while both hold: ``None`` once the user has left it
    or their account is no longer active (a refresh or a second factor then gets no tokens)."""
    member = await repo.member(session, tenant_id, user_id)
    return member if member is not None and member.status == "active" else None


async def usable_membership(
    session: AsyncSession, user_id: str, tenant_id: str | None = None
) -> Member:
    """The membership a login of ``user_id`` opens a session in: of ``tenant_id``, else the
    first. The account's status is read again, held, so one disabled meanwhile gets none.
    Raises ``AccountPending``, ``AccountDisabled``, ``NoMembership`` or ``TenantSuspended``."""
    status = await accounts_repo.held_status(session, user_id)
    if status == "pending_approval":
        raise AccountPending()
    if status != "active":
        raise AccountDisabled()
    if tenant_id is not None:
        member = await repo.member(session, tenant_id, user_id)
    else:
        member = await repo.first_membership(session, user_id)
    if member is None:
        raise NoMembership()
    refuse_suspended(member)
    return member


def refuse_suspended(member: Member) -> None:
    """``TenantSuspended`` unless the member's tenant is active or the member is a platform
    operator (who must reach a suspended tenant to reactivate it, as the gateway lets them)."""
    if member.tenant_status != "active" and not member.platform_operator:
        raise TenantSuspended()


async def require_belonging(session: AsyncSession, principal: Principal) -> None:
    """Raise ``NotFound`` (the tenant, for the caller, no longer exists) unless the caller is a
    member of its token's tenant or one of that tenant's service accounts."""
    if principal.kind == "service_account":
        belongs = await service_accounts_repo.exists(
            session, principal.tenant_id, principal.subject
        )
    else:
        belongs = await caller_membership(session, principal) is not None
    if not belongs:
        raise NotFound("The tenant does not exist.")


async def acting_member(
    session: AsyncSession,
    principal: Principal,
    *,
    refusal: str,
    roles: Collection[Role] = tuple(Role),
) -> Member:
    """The calling user's membership, if it holds one of ``roles``; ``Forbidden(refusal)`` if not."""
    member = await caller_membership(session, principal)
    if member is None or member.role not in roles:
        raise Forbidden(refusal)
    return member
