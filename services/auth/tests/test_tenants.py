"""Tenants: members and roles, the last owner, isolation between tenants, invites, the plan."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import nats
from auth_support import Account, AuthClient, ReadEvents, client_credentials
from sqlalchemy import delete, update

from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.models import invites, memberships
from agentbus_auth.service_accounts import repository as service_accounts_repo
from agentbus_auth.tenants import repository as tenants_repo
from agentbus_shared.contracts.billing import SubscriptionChanged, SubscriptionStatus
from agentbus_shared.contracts.events import CloudEvent, make_event
from agentbus_shared.testing.waiting import eventually


async def test_current_tenant_has_the_free_plan_by_default(client: AuthClient) -> None:
    owner = await client.register(tenant_name="Initech")
    tenant = (await client.call("tenants.current", token=owner.access_token)).data
    assert (tenant["id"], tenant["name"], tenant["plan"]) == (owner.tenant_id, "Initech", "free")
    assert datetime.fromisoformat(tenant["created_at"]) <= datetime.now(UTC)


async def test_members_are_listed_with_their_roles_page_by_page(client: AuthClient) -> None:
    owner = await client.register_verified()
    await client.join(owner, "admin")
    await client.join(owner, "viewer")
    listed = (await client.call("tenants.members.list", token=owner.access_token)).data
    assert [m["role"] for m in listed["items"]] == ["owner", "admin", "viewer"]
    assert listed["next_cursor"] is None
    first = (await client.call("tenants.members.list", {"limit": 2}, token=owner.access_token)).data
    rest = await client.call(
        "tenants.members.list",
        {"limit": 2, "cursor": first["next_cursor"]},
        token=owner.access_token,
    )
    assert [m["role"] for m in first["items"] + rest.data["items"]] == ["owner", "admin", "viewer"]


async def test_an_invite_brings_a_new_member_in_once(
    client: AuthClient, events: ReadEvents
) -> None:
    owner = await client.register_verified(tenant_name="Guild")
    invite = (
        await client.call(
            "tenants.invites.create",
            {"email": "newbie@example.com", "role": "member"},
            token=owner.access_token,
        )
    ).data
    assert invite["id"].startswith("inv_")
    token = await client.mail.mailed_invite("newbie@example.com")

    accepted = await client.call(
        "tenants.invites.accept",
        {"token": token, "password": client.password, "display_name": "Newbie"},
    )
    assert accepted.data["tenant"] == {
        "id": owner.tenant_id,
        "name": "Guild",
        "role": "member",
        "status": "active",
    }
    assert accepted.data["user"]["email_verified"] is True
    claims = client.claims(accepted.data["tokens"]["access_token"])
    assert (claims.tid, claims.roles) == (owner.tenant_id, ["member"])

    again = await client.error(
        "tenants.invites.accept", {"token": token, "password": client.password}
    )
    assert (again.status, again.code) == (400, "invalid_invite")
    changed = await events("events.auth.*.member.changed", 1)
    assert changed[0]["data"]["role"] == "member"


async def test_an_existing_account_accepts_an_invite_with_its_password(client: AuthClient) -> None:
    owner = await client.register_verified()
    existing = await client.register()
    token = await client.invite(owner, existing.email, "admin")
    wrong = await client.error(
        "tenants.invites.accept", {"token": token, "password": "not-the-password-x"}
    )
    assert wrong.status == 401
    accepted = await client.call(
        "tenants.invites.accept", {"token": token, "password": client.password}
    )
    assert accepted.data["user"]["id"] == existing.user_id
    assert accepted.data["tenant"]["role"] == "admin"


async def test_invites_need_a_password_and_a_valid_token(client: AuthClient) -> None:
    owner = await client.register_verified()
    token = await client.invite(owner, "x@example.com")
    missing = await client.error("tenants.invites.accept", {"token": token})
    assert (missing.status, missing.code) == (400, "password_required")
    weak = await client.error(
        "tenants.invites.accept", {"token": token, "password": "password12345"}
    )
    assert weak.code == "weak_password"
    bogus = await client.error(
        "tenants.invites.accept", {"token": "inv_bogus", "password": client.password}
    )
    assert bogus.code == "invalid_invite"


async def test_an_expired_invite_is_refused(client: AuthClient) -> None:
    owner = await client.register_verified()
    token = await client.invite(owner, "late@example.com")
    async with client.parts.db.transaction() as session:
        await session.execute(
            update(invites).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    error = await client.error(
        "tenants.invites.accept", {"token": token, "password": client.password}
    )
    assert error.code == "invalid_invite"


async def test_inviting_a_current_member_conflicts(client: AuthClient) -> None:
    owner = await client.register_verified()
    error = await client.error(
        "tenants.invites.create", {"email": owner.email, "role": "member"}, token=owner.access_token
    )
    assert (error.status, error.code) == (409, "already_member")


async def test_admin_changes_roles_and_the_member_sessions_end(
    client: AuthClient, events: ReadEvents
) -> None:
    owner = await client.register_verified()
    admin = await client.join(owner, "admin")
    member = await client.join(owner, "member")
    updated = await client.call(
        "tenants.members.update",
        {"user_id": member.user_id, "role": "viewer"},
        token=admin.access_token,
    )
    assert updated.data["role"] == "viewer"
    assert (await client.error("refresh", {"refresh_token": member.refresh_token})).status == 401
    revoked = await events("events.auth.*.session.revoked", 1)
    assert revoked[0]["data"]["reason"] == "role_changed"
    relogin = (await client.login(member.email, client.password, tenant_id=owner.tenant_id)).data
    assert client.claims(relogin["access_token"]).roles == ["viewer"]


async def test_only_an_owner_grants_or_touches_the_owner_role(client: AuthClient) -> None:
    owner = await client.register_verified()
    admin = await client.join(owner, "admin")
    member = await client.join(owner, "member")
    promote = await client.error(
        "tenants.members.update",
        {"user_id": member.user_id, "role": "owner"},
        token=admin.access_token,
    )
    assert (promote.status, promote.code) == (403, "owner_only")
    demote = await client.error(
        "tenants.members.update",
        {"user_id": owner.user_id, "role": "admin"},
        token=admin.access_token,
    )
    assert demote.code == "owner_only"
    invite = await client.error(
        "tenants.invites.create",
        {"email": "boss@example.com", "role": "owner"},
        token=admin.access_token,
    )
    assert invite.code == "owner_only"
    remove = await client.error(
        "tenants.members.remove", {"user_id": owner.user_id}, token=admin.access_token
    )
    assert remove.code == "owner_only"


async def test_the_last_owner_cannot_be_demoted_or_removed(client: AuthClient) -> None:
    owner = await client.register_verified()
    demote = await client.error(
        "tenants.members.update",
        {"user_id": owner.user_id, "role": "admin"},
        token=owner.access_token,
    )
    assert (demote.status, demote.code) == (409, "last_owner")
    assert demote.details == {"tenants": [owner.tenant_id]}  # the shape disabling answers too
    remove = await client.error(
        "tenants.members.remove", {"user_id": owner.user_id}, token=owner.access_token
    )
    assert remove.code == "last_owner"

    second = await client.join(owner, "admin")
    await client.call(
        "tenants.members.update",
        {"user_id": second.user_id, "role": "owner"},
        token=owner.access_token,
    )
    await client.call(
        "tenants.members.remove", {"user_id": owner.user_id}, token=owner.access_token
    )
    members = (await client.call("tenants.members.list", token=second.access_token)).data["items"]
    assert [(m["user_id"], m["role"]) for m in members] == [(second.user_id, "owner")]


async def test_members_and_viewers_cannot_manage_members(client: AuthClient) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    error = await client.error(
        "tenants.members.remove", {"user_id": owner.user_id}, token=member.access_token
    )
    assert error.status == 403


async def test_tenant_a_admin_cannot_touch_tenant_b_members(client: AuthClient) -> None:
    owner_a = await client.register_verified(tenant_name="A")
    admin_a = await client.join(owner_a, "admin")
    owner_b = await client.register_verified(tenant_name="B")
    member_b = await client.join(owner_b, "member")

    for operation, payload in [
        ("tenants.members.update", {"user_id": member_b.user_id, "role": "viewer"}),
        ("tenants.members.update", {"user_id": owner_b.user_id, "role": "member"}),
        ("tenants.members.remove", {"user_id": member_b.user_id}),
        ("tenants.members.remove", {"user_id": owner_b.user_id}),
    ]:
        error = await client.error(operation, payload, token=admin_a.access_token)
        assert (error.status, error.code) == (404, "member_not_found")
    listed = (await client.call("tenants.members.list", token=admin_a.access_token)).data["items"]
    assert {m["user_id"] for m in listed} == {owner_a.user_id, admin_a.user_id}
    still = (await client.call("tenants.members.list", token=owner_b.access_token)).data["items"]
    assert [(m["user_id"], m["role"]) for m in still] == [
        (owner_b.user_id, "owner"),
        (member_b.user_id, "member"),
    ]
    assert (await client.call("refresh", {"refresh_token": member_b.refresh_token})).data


async def test_a_removed_member_loses_access_to_the_tenant(client: AuthClient) -> None:
    owner = await client.register_verified()
    member = await client.join(owner, "member")
    await client.call(
        "tenants.members.remove", {"user_id": member.user_id}, token=owner.access_token
    )
    assert (await client.error("refresh", {"refresh_token": member.refresh_token})).status == 401
    login = await client.error("login", {"email": member.email, "password": client.password})
    assert (login.status, login.code) == (403, "no_membership")
    # Its access token is still valid until it expires: it no longer reads the tenant.
    for operation in ("tenants.members.list", "tenants.current"):
        error = await client.error(operation, token=member.access_token)
        assert error.status == 404, (operation, error)


async def test_the_plan_follows_billing_subscription_events_in_any_order(
    client: AuthClient, nats_url: str
) -> None:
    owner = await client.register()
    now = datetime.now(UTC)

    def changed(
        plan: str, status: SubscriptionStatus, at: datetime
    ) -> CloudEvent[SubscriptionChanged]:
        return make_event(
            SubscriptionChanged(tenant_id=owner.tenant_id, plan=plan, status=status),
            tenant_id=owner.tenant_id,
            time=at,
        )

    newer = changed("pro", "active", now)
    older = changed("starter", "active", now - timedelta(minutes=5))
    await publish(nats_url, newer, older, newer)  # out of order, and a redelivery
    await eventually(lambda: plan_is(client, owner, "pro"), what="the pro plan", timeout=10)

    await publish(nats_url, changed("pro", "canceled", now + timedelta(minutes=1)))
    await eventually(lambda: plan_is(client, owner, "free"), what="the free plan", timeout=10)


async def publish(nats_url: str, *events: CloudEvent[SubscriptionChanged]) -> None:
    """Publish billing's events to JetStream, as billing's outbox relay does."""
    nc = await nats.connect(nats_url)
    try:
        for event in events:
            await nc.jetstream().publish(
                event.nats_subject,
                event.to_bytes(),
                headers={"content-type": "application/cloudevents+json"},
            )
    finally:
        await nc.close()


async def plan_is(client: AuthClient, owner: Account, plan: str) -> str | None:
    """``plan`` once the owner's tenant has it."""
    tenant = (await client.call("tenants.current", token=owner.access_token)).data
    return plan if tenant["plan"] == plan else None


async def test_removing_a_member_revokes_the_service_accounts_they_created(
    client: AuthClient, events: ReadEvents
) -> None:
    owner = await client.register_verified()
    admin = await client.join(owner, "admin")
    kept_secret = await client.create_service_account(admin, ["conversations:read"], "ci-bot")
    owners_own = await client.create_service_account(owner, ["conversations:read"], "backup")
    await client.call("oauth.token", client_credentials(kept_secret))

    removed = await client.call(
        "tenants.members.remove", {"user_id": admin.user_id}, token=owner.access_token
    )

    assert removed.data == {
        "user_id": admin.user_id,
        "revoked_service_accounts": [{"id": kept_secret["id"], "name": "ci-bot"}],
    }
    refused = await client.error("oauth.token", client_credentials(kept_secret))
    assert refused.code == "invalid_client"
    assert (await client.call("oauth.token", client_credentials(owners_own))).data
    revoked = await events(f"events.auth.{owner.tenant_id}.session.revoked", 2)
    assert {"session_id": kept_secret["id"], "reason": "service_account_revoked"}.items() <= next(
        e["data"] for e in revoked if e["data"]["session_id"] == kept_secret["id"]
    ).items()
    audited = await client.parts.audit.entries(kind=AuditKind.SERVICE_ACCOUNT_REVOKED)
    changed = await client.parts.audit.entries(kind=AuditKind.MEMBER_CHANGED, email=admin.email)
    assert [(e.actor_id, e.details) for e in audited] == [
        (
            owner.user_id,
            {
                "service_account_id": kept_secret["id"],
                "name": "ci-bot",
                "created_by": admin.user_id,
                "reason": "creator_removed",
            },
        )
    ]
    assert changed[0].details["revoked_service_accounts"] == [kept_secret["id"]]


async def test_a_service_account_created_while_its_creator_is_removed_is_refused(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    admin = await client.join(owner, "admin")
    db = client.parts.db
    async with db.transaction() as removal:  # a removal holds the tenant row, as the service does
        await tenants_repo.tenant(removal, owner.tenant_id, for_update=True)
        creating = asyncio.create_task(
            client.error(
                "service_accounts.create",
                {"name": "late-bot", "scopes": ["conversations:read"]},
                token=admin.access_token,
            )
        )
        await asyncio.sleep(0.5)
        assert not creating.done(), "creating an account must wait for the removal"
        await removal.execute(
            delete(memberships).where(
                memberships.c.tenant_id == owner.tenant_id,
                memberships.c.user_id == admin.user_id,
            )
        )
    assert (await creating).code == "forbidden"
    listed = await client.call("service_accounts.list", token=owner.access_token)
    assert [a["name"] for a in listed.data["items"]] == []


async def test_demoting_an_admin_below_admin_revokes_their_service_accounts(
    client: AuthClient,
) -> None:
    owner = await client.register_verified()
    admin = await client.join(owner, "admin")
    account = await client.create_service_account(admin, ["conversations:read"], "ci-bot")

    promoted = await client.call(
        "tenants.members.update",
        {"user_id": admin.user_id, "role": "owner"},
        token=owner.access_token,
    )
    still_a_manager = await client.call(
        "tenants.members.update",
        {"user_id": admin.user_id, "role": "admin"},
        token=owner.access_token,
    )
    assert promoted.data["revoked_service_accounts"] == []
    assert still_a_manager.data["revoked_service_accounts"] == []
    assert (await client.call("oauth.token", client_credentials(account))).data

    demoted = await client.call(
        "tenants.members.update",
        {"user_id": admin.user_id, "role": "member"},
        token=owner.access_token,
    )

    assert (demoted.data["role"], demoted.data["revoked_service_accounts"]) == (
        "member",
        [{"id": account["id"], "name": "ci-bot"}],
    )
    refused = await client.error("oauth.token", client_credentials(account))
    assert refused.code == "invalid_client"
    audited = await client.parts.audit.entries(kind=AuditKind.SERVICE_ACCOUNT_REVOKED)
    assert [e.details["reason"] for e in audited] == ["creator_demoted"]
    # One kept from an earlier admin role (made before this rule) ends at the next change too.
    async with client.parts.db.transaction() as session:
        await service_accounts_repo.add(
            session,
            account_id="sa_kept",
            tenant_id=owner.tenant_id,
            name="old-bot",
            client_id="cli_kept",
            secret_hash=b"x" * 32,
            scopes=["conversations:read"],
            created_by=admin.user_id,
        )
    viewer = await client.call(
        "tenants.members.update",
        {"user_id": admin.user_id, "role": "viewer"},
        token=owner.access_token,
    )
    assert viewer.data["revoked_service_accounts"] == [{"id": "sa_kept", "name": "old-bot"}]
