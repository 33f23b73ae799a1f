"""Revoke service accounts whose creator is no longer an owner or admin of their tenant.

Since this release, removing a member or demoting one below admin revokes the service
accounts they created. Accounts left behind by removals and demotions made before it
would otherwise keep working for whoever kept their client secret: this revokes them
once, audited as ``service_account.revoked`` with reason ``creator_left_before_upgrade``.
Access tokens already issued to them expire within their lifetime (15 minutes).

Revision ID: auth_0004
Revises: auth_0003
Create Date: 2026-12-06 16:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "auth_0004"
down_revision: str | None = "auth_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REVOKE_ORPHANS = """
WITH revoked AS (
    UPDATE auth.service_accounts AS a
    SET revoked_at = now()
    WHERE a.revoked_at IS NULL
      AND NOT EXISTS (
          SELECT 1 FROM auth.memberships AS m
          WHERE m.tenant_id = a.tenant_id
            AND m.user_id = a.created_by
            AND m.role IN ('owner', 'admin')
      )
    RETURNING a.id, a.tenant_id, a.name, a.created_by
)
INSERT INTO auth.audit_events (kind, tenant_id, details)
SELECT 'service_account.revoked', tenant_id,
       jsonb_build_object(
           'service_account_id', id,
           'name', name,
           'created_by', created_by,
           'reason', 'creator_left_before_upgrade'
       )
FROM revoked
"""


def upgrade() -> None:
    op.execute(sa.text(_REVOKE_ORPHANS))


def downgrade() -> None:
    """Nothing to undo: a revoked account stays revoked (its owner creates a replacement)."""
