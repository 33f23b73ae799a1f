"""Data migrations: what an upgrade changes in the rows it finds."""

from __future__ import annotations

import json

import asyncpg

from agentbus_auth.manifest import MANIFEST
from agentbus_shared.migrations import upgrade_async

_SETUP = """
INSERT INTO auth.users (id, email, email_normalized, password_hash)
VALUES ('usr_owner', 'o@example.com', 'o@example.com', 'x'),
       ('usr_admin', 'a@example.com', 'a@example.com', 'x'),
       ('usr_demoted', 'd@example.com', 'd@example.com', 'x'),
       ('usr_removed', 'r@example.com', 'r@example.com', 'x');
INSERT INTO auth.tenants (id, name) VALUES ('t_one', 'One');
INSERT INTO auth.memberships (tenant_id, user_id, role)
VALUES ('t_one', 'usr_owner', 'owner'), ('t_one', 'usr_admin', 'admin'),
       ('t_one', 'usr_demoted', 'member');
INSERT INTO auth.service_accounts (id, tenant_id, name, client_id, secret_hash, scopes, created_by)
VALUES ('sa_owners', 't_one', 'backup', 'cli_1', '\\x00', '{}', 'usr_owner'),
       ('sa_admins', 't_one', 'deploy', 'cli_2', '\\x00', '{}', 'usr_admin'),
       ('sa_demoted', 't_one', 'ci-bot', 'cli_3', '\\x00', '{}', 'usr_demoted'),
       ('sa_removed', 't_one', 'exporter', 'cli_4', '\\x00', '{}', 'usr_removed');
"""


async def test_upgrade_revokes_service_accounts_whose_creator_left_before_it(
    empty_database_url: str,
) -> None:
    await upgrade_async(MANIFEST, empty_database_url, "auth_0003")
    connection = await asyncpg.connect(empty_database_url)
    try:
        await connection.execute(_SETUP)
        await upgrade_async(MANIFEST, empty_database_url)
        live = await connection.fetch(
            "SELECT id FROM auth.service_accounts WHERE revoked_at IS NULL ORDER BY id"
        )
        audited = await connection.fetch(
            "SELECT tenant_id, details FROM auth.audit_events"
            " WHERE kind = 'service_account.revoked' ORDER BY details->>'service_account_id'"
        )
    finally:
        await connection.close()
    assert [r["id"] for r in live] == ["sa_admins", "sa_owners"]
    assert [(r["tenant_id"], json.loads(r["details"])) for r in audited] == [
        (
            "t_one",
            {
                "service_account_id": sa,
                "name": name,
                "created_by": creator,
                "reason": "creator_left_before_upgrade",
            },
        )
        for sa, name, creator in (
            ("sa_demoted", "ci-bot", "usr_demoted"),
            ("sa_removed", "exporter", "usr_removed"),
        )
    ]
