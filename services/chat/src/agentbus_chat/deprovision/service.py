"""Chat's part of deprovisioning a tenant: its rows of the tenant go and ``tenant.data_deleted``
answers for them, in one transaction, once per request."""

from __future__ import annotations

from agentbus_chat.deprovision import repository
from agentbus_chat.models import outbox, processed_events
from agentbus_shared.contracts.platform import ChatTenantDataDeleted
from agentbus_shared.db import Database
from agentbus_shared.db.tenant_deletion import TenantDataDeletion


def tenant_data_deletion(db: Database) -> TenantDataDeletion:
    """Chat's deletion of a tenant's data, answered by ``ChatTenantDataDeleted``."""
    return TenantDataDeletion(
        db,
        outbox=outbox,
        processed_events=processed_events,
        answer=ChatTenantDataDeleted,
        delete_rows=repository.delete_tenant_data,
    )
