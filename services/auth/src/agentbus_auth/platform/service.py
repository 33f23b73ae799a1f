"""The tenant lifecycle as operators run it: search, a tenant's page, create (its owner gets
an invite), suspend and reactivate.

Suspension is a status of the tenant row and a ``tenant.suspended`` event in the same
transaction: auth issues no token of a suspended tenant from then on (login, refresh, single
sign-on, invites, service accounts), the gateway refuses the tokens already issued, chat stops
the tenant's runs. Reactivation reverses it. A tenant being deprovisioned or deleted can be
neither (409). Suspending a suspended tenant, or reactivating an active one, changes nothing
and announces nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from agentbus_auth.accounts import repository as accounts_repo
from agentbus_auth.audit.repository import AuditKind, record
from agentbus_auth.crypto import CodeKey
from agentbus_auth.errors import TenantNotActive, TenantNotFound
from agentbus_auth.events import emit
from agentbus_auth.platform import repository as repo
from agentbus_auth.platform.plans import PlanChoice
from agentbus_auth.platform.repository import TenantRow
from agentbus_auth.platform.usage import TenantUsageReader
from agentbus_auth.tenants import repository as tenants_repo
from agentbus_auth.tenants.invites import InviteLetter, send_invite
from agentbus_shared.contracts.common import Page, RequestMeta, Role
from agentbus_shared.contracts.platform import (
    DataPart,
    TenantCreate,
    TenantDetail,
    TenantReactivated,
    TenantSearch,
    TenantSummary,
    TenantSuspend,
    TenantSuspended,
)
from agentbus_shared.contracts.tenants import TenantCreated
from agentbus_shared.db import Database
from agentbus_shared.ids import new_id

LIFECYCLE_CLOSED = frozenset({"deprovisioning", "deleted"})
"""Statuses past which a tenant can no longer be suspended or reactivated."""


class TenantLifecycle:
    def __init__(
        self,
        db: Database,
        usage: TenantUsageReader,
        plans: PlanChoice,
        code_key: CodeKey,
        *,
        invite_ttl: int,
    ) -> None:
        self._db = db
        self._usage = usage
        self._plans = plans
        self._code_key = code_key
        self._invite_ttl = invite_ttl

    # ---------------------------------------------------------------- reading
    async def search(self, query: TenantSearch) -> Page[TenantSummary]:
        async with self._db.session() as session:
            rows, next_cursor = await repo.tenants_page(
                session, q=query.q, status=query.status, limit=query.limit, cursor=query.cursor
            )
        return Page[TenantSummary](items=[_summary(r) for r in rows], next_cursor=next_cursor)

    async def detail(self, tenant_id: str) -> TenantDetail:
        """The tenant's page as stored now, with this period's usage (read after the database,
        outside any transaction); raises ``TenantNotFound``."""
        async with self._db.session() as session:
            tenant = await repo.tenant(session, tenant_id)
            if tenant is None:
                raise TenantNotFound()
            parts = await repo.data_parts(session, tenant_id)
            members = await repo.members_count(session, tenant_id)
        return TenantDetail(
            **_summary(tenant).model_dump(),
            members_count=members,
            usage=await self._usage.usage(tenant_id),
            suspended_at=tenant.suspended_at,
            suspension_reason=tenant.suspension_reason,
            deprovision_requested_at=tenant.deprovision_requested_at,
            deleted_at=tenant.deleted_at,
            data_parts=[
                DataPart(
                    service=p.service,
                    status="deleted" if p.deleted_at else "pending",
                    deleted_at=p.deleted_at,
                )
                for p in parts
            ],
        )

    # ---------------------------------------------------------------- creating
    async def create(self, operator: str, cmd: TenantCreate, meta: RequestMeta) -> TenantDetail:
        """A new tenant with no member yet: ``cmd.owner_email`` gets an invite to own it.
        Raises ``UnknownPlan`` or ``PlanNeedsPayment`` for a plan an operator may not give."""
        if cmd.plan is not None:
            await self._plans.check(cmd.plan)
        tenant_id = new_id("t")
        async with self._db.transaction() as session:
            tenant = await tenants_repo.add_tenant(session, tenant_id=tenant_id, name=cmd.name)
            await self._invite_owner(
                session, operator, tenant.id, tenant.name, str(cmd.owner_email)
            )
            await emit(
                session,
                TenantCreated(
                    tenant_id=tenant.id,
                    name=tenant.name,
                    owner_user_id=operator,
                    created_at=tenant.created_at,
                ),
                tenant_id=tenant.id,
            )
            await record(
                session,
                AuditKind.TENANT_CREATED_BY_OPERATOR,
                tenant_id=tenant.id,
                actor_id=operator,
                meta=meta,
                plan=cmd.plan,
            )
        return await self.detail(tenant.id)

    async def _invite_owner(
        self, session: AsyncSession, operator: str, tenant_id: str, tenant_name: str, email: str
    ) -> None:
        inviter = await accounts_repo.by_id(session, operator)
        await send_invite(
            session,
            self._code_key,
            InviteLetter(
                tenant_id=tenant_id,
                tenant_name=tenant_name,
                email=email,
                role=Role.OWNER,
                inviter=(inviter.display_name or inviter.email) if inviter else "An operator",
                created_by=operator,
            ),
            ttl=self._invite_ttl,
        )

    # ---------------------------------------------------------------- suspending
    async def suspend(self, operator: str, cmd: TenantSuspend, meta: RequestMeta) -> TenantDetail:
        """Suspend the tenant and announce it. Raises ``TenantNotFound``, ``TenantNotActive``."""
        async with self._db.transaction() as session:
            tenant = await _open_tenant(session, cmd.tenant_id)
            if tenant.status == "active":
                # One moment for the row and the event: the gateway orders the suspension it
                # applies from the answer against the events by this time.
                at = datetime.now(UTC)
                await repo.suspend(session, tenant.id, by=operator, reason=cmd.reason, at=at)
                await emit(
                    session,
                    TenantSuspended(
                        tenant_id=tenant.id,
                        reason=cmd.reason,
                        suspended_by=operator,
                        suspended_at=at,
                    ),
                    tenant_id=tenant.id,
                )
                await record(
                    session,
                    AuditKind.TENANT_SUSPENDED,
                    tenant_id=tenant.id,
                    actor_id=operator,
                    meta=meta,
                    reason=cmd.reason,
                )
        return await self.detail(tenant.id)

    async def reactivate(self, operator: str, tenant_id: str, meta: RequestMeta) -> TenantDetail:
        """Reactivate a suspended tenant and announce it. Raises ``TenantNotFound``,
        ``TenantNotActive``."""
        async with self._db.transaction() as session:
            tenant = await _open_tenant(session, tenant_id)
            if tenant.status == "suspended":
                await repo.reactivate(session, tenant.id)
                await emit(
                    session,
                    TenantReactivated(
                        tenant_id=tenant.id,
                        reactivated_by=operator,
                        reactivated_at=datetime.now(UTC),
                    ),
                    tenant_id=tenant.id,
                )
                await record(
                    session,
                    AuditKind.TENANT_REACTIVATED,
                    tenant_id=tenant.id,
                    actor_id=operator,
                    meta=meta,
                )
        return await self.detail(tenant.id)


async def _open_tenant(session: AsyncSession, tenant_id: str) -> TenantRow:
    """The tenant, held for the change; raises ``TenantNotFound``, or ``TenantNotActive`` once
    its deprovisioning has started."""
    tenant = await repo.tenant(session, tenant_id, for_update=True)
    if tenant is None:
        raise TenantNotFound()
    if tenant.status in LIFECYCLE_CLOSED:
        raise TenantNotActive()
    return tenant


def _summary(tenant: TenantRow) -> TenantSummary:
    return TenantSummary(
        id=tenant.id,
        name=tenant.name,
        slug=tenant.slug,
        plan=tenant.plan,
        status=tenant.status,
        owner_email=tenant.owner_email,
        created_at=tenant.created_at,
    )
