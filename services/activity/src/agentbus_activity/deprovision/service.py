"""Activity's part of deprovisioning a tenant: its rows of the tenant go and ``tenant.data_deleted``
answers for them, in one transaction, once per request."""

from __future__ import annotations

from agentbus_activity.deprovision import repository
from agentbus_activity.models import outbox, processed_events
from agentbus_shared.contracts.platform import ActivityTenantDataDeleted
from agentbus_shared.db import Database
from agentbus_shared.db.tenant_deletion import TenantDataDeletion


def tenant_data_deletion(db: Database) -> TenantDataDeletion:
    """Activity's deletion of a tenant's data, answered by ``ActivityTenantDataDeleted``."""
    return TenantDataDeletion(
        db,
        outbox=outbox,
        processed_events=processed_events,
        answer=ActivityTenantDataDeleted,
        delete_rows=repository.delete_tenant_data,
    )
