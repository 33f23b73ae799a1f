"""Tenant slugs: made from the name for a new tenant, and backfilled for existing ones by the
upgrade — always well formed, never shared, even when tenants race for one."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest
from alembic import command
from auth_support import AuthClient
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from agentbus_auth.manifest import MANIFEST
from agentbus_auth.models import memberships, tenants
from agentbus_auth.tenants.admin_repository import is_slug_conflict
from agentbus_auth.tenants.slugs import new_tenant_slug, slug_stem
from agentbus_shared.contracts.tenant_admin import SLUG_PATTERN
from agentbus_shared.errors import AgentbusError
from agentbus_shared.migrations import alembic_config, upgrade_async

NAMES = {
    "t_01AAAAAAAAAAAAAAAAAAAAAAA1": "Acme",
    "t_01AAAAAAAAAAAAAAAAAAAAAAA2": "ACME",
    "t_01AAAAAAAAAAAAAAAAAAAAAAA3": "Ab",
    "t_01AAAAAAAAAAAAAAAAAAAAAAA4": "!!!",
    "t_01AAAAAAAAAAAAAAAAAAAAAAA5": "Zürich Ünïted — Research & Development Laboratories",
}


def test_a_new_tenants_slug_is_well_formed_and_carries_its_id() -> None:
    for tenant_id, name in NAMES.items():
        slug = new_tenant_slug(name, tenant_id)
        assert re.fullmatch(SLUG_PATTERN, slug), slug
        assert slug.endswith("-" + tenant_id[-6:].lower())
    assert slug_stem("Acme Rockets!") == "acme-rockets"
    assert slug_stem("") == "team"


async def test_the_upgrade_gives_every_tenant_a_unique_slug(empty_database_url: str) -> None:
    await upgrade_async(MANIFEST, empty_database_url, "auth_0007")
    connection = await asyncpg.connect(empty_database_url)
    try:
        await connection.executemany(
            "INSERT INTO auth.tenants (id, name) VALUES ($1, $2)", list(NAMES.items())
        )
        await upgrade_async(MANIFEST, empty_database_url)
        rows = await connection.fetch("SELECT id, slug FROM auth.tenants ORDER BY id")
    finally:
        await connection.close()
    slugs = {row["id"]: row["slug"] for row in rows}
    assert len(set(slugs.values())) == len(NAMES)
    assert all(re.fullmatch(SLUG_PATTERN, slug) for slug in slugs.values()), slugs
    assert slugs["t_01AAAAAAAAAAAAAAAAAAAAAAA1"] == "acme"
    assert slugs["t_01AAAAAAAAAAAAAAAAAAAAAAA2"] == "acme-aaaaaaa2"
    assert slugs["t_01AAAAAAAAAAAAAAAAAAAAAAA3"] == "ab-team"
    assert slugs["t_01AAAAAAAAAAAAAAAAAAAAAAA4"] == "team"


async def test_the_upgrade_can_be_undone_and_done_again(empty_database_url: str) -> None:
    await upgrade_async(MANIFEST, empty_database_url)
    config = alembic_config(MANIFEST, empty_database_url)
    await asyncio.to_thread(command.downgrade, config, "auth_0007")
    connection = await asyncpg.connect(empty_database_url)
    try:
        left = await connection.fetchval(
            "SELECT count(*) FROM information_schema.columns"
            " WHERE table_schema = 'auth' AND column_name IN ('slug', 'revoked_at')"
            " AND table_name IN ('tenants', 'invites')"
        )
    finally:
        await connection.close()
    assert left == 0
    await upgrade_async(MANIFEST, empty_database_url)


async def test_only_a_slug_conflict_reads_as_a_taken_slug(client: AuthClient) -> None:
    first = await client.register()
    second = await client.register()
    async with client.parts.db.session() as session:
        with pytest.raises(IntegrityError) as taken:
            await session.execute(
                update(tenants)
                .where(tenants.c.id == second.tenant_id)
                .values(
                    slug=select(tenants.c.slug)
                    .where(tenants.c.id == first.tenant_id)
                    .scalar_subquery()
                )
            )
        await session.rollback()
        with pytest.raises(IntegrityError) as other:
            await session.execute(
                insert(memberships).values(
                    tenant_id="ten_nowhere", user_id=first.user_id, role="member"
                )
            )
    assert is_slug_conflict(taken.value)
    assert not is_slug_conflict(other.value)


async def test_two_tenants_racing_for_one_slug_end_with_one_holder(client: AuthClient) -> None:
    racers = [await client.register() for _ in range(4)]
    answers = await asyncio.gather(
        *(
            client.call("tenants.update", {"slug": "raced-for"}, token=racer.access_token)
            for racer in racers
        ),
        return_exceptions=True,
    )
    won = [answer for answer in answers if not isinstance(answer, BaseException)]
    lost = [answer for answer in answers if isinstance(answer, AgentbusError)]
    assert len(won) == 1 and len(lost) == len(racers) - 1
    assert {(error.status, error.code) for error in lost} == {(409, "slug_taken")}


async def test_a_name_of_only_spaces_is_refused_and_names_are_trimmed(client: AuthClient) -> None:
    owner = await client.register()
    for blank in ("", "   ", "\t \n"):
        refused = await client.error("tenants.update", {"name": blank}, token=owner.access_token)
        assert (refused.status, refused.code) == (422, "validation_failed"), blank
    renamed = await client.call(
        "tenants.update", {"name": "  Acme Space "}, token=owner.access_token
    )
    assert renamed.data["name"] == "Acme Space"
