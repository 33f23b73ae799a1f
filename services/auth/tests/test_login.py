"""Logging in: tokens per API.md, one answer for every bad credential, lockout and throttling."""

from __future__ import annotations

import asyncio

from auth_support import AuthClient, ClientFor, StartAuth

from agentbus_auth.accounts.repository import by_email
from agentbus_auth.audit.repository import AuditKind
from agentbus_auth.throttle import account_key
from agentbus_shared.contracts.common import Scope


async def test_login_returns_tokens_with_exactly_the_agreed_claims(client: AuthClient) -> None:
    account = await client.register()
    reply = await client.login(account.email, client.password)
    assert reply.status is None  # 200
    tokens = reply.data
    claims = client.claims(tokens["access_token"])
    assert set(claims.model_dump(exclude_none=True)) == {
        "sub", "tid", "sid", "scope", "roles", "iss", "aud", "iat", "nbf", "exp", "jti", "typ",
    }  # fmt: skip
    assert (claims.iss, claims.aud, claims.typ) == ("agentbus", "agentbus-api", "user")
    assert claims.exp - claims.iat == 900
    assert str(claims.sid).startswith("ses_")
    logins = await client.parts.audit.entries(kind=AuditKind.LOGIN_SUCCEEDED)
    assert logins[0].user_id == account.user_id
    assert logins[0].ip == client.ip


async def test_unknown_email_and_wrong_password_get_the_same_answer(client: AuthClient) -> None:
    account = await client.register()
    wrong = await client.error("login", {"email": account.email, "password": client.other_password})
    unknown = await client.error(
        "login", {"email": "nobody@example.com", "password": client.other_password}
    )
    assert (wrong.status, wrong.code, wrong.message) == (
        unknown.status,
        unknown.code,
        unknown.message,
    )
    assert wrong.status == 401


async def test_twenty_concurrent_wrong_passwords_lock_the_account_exactly_at_the_limit(
    client: AuthClient,
) -> None:
    account = await client.register()
    limit = client.parts.settings.tuning.lockout_threshold
    attempts = [
        client.error("login", {"email": account.email, "password": f"wrong-guess-{i:04d}-x"})
        for i in range(20)
    ]
    outcomes = await asyncio.gather(*attempts)
    statuses = sorted(e.status for e in outcomes)
    assert statuses.count(401) == limit
    assert statuses.count(429) == 20 - limit
    assert len(await client.parts.audit.entries(kind=AuditKind.LOGIN_FAILED)) == limit
    assert len(await client.parts.audit.entries(kind=AuditKind.ACCOUNT_LOCKED)) == 1

    locked = await client.error("login", {"email": account.email, "password": client.password})
    assert (locked.status, locked.code) == (429, "account_locked")
    assert locked.retry_after is not None
    assert 1 <= locked.retry_after <= client.parts.settings.tuning.lockout_base
    assert locked.message == outcomes[0].message  # same wording as a wrong password


async def test_unknown_email_locks_like_a_real_account(client: AuthClient) -> None:
    for i in range(5):
        await client.error("login", {"email": "ghost@example.com", "password": f"guess-{i}-abcdef"})
    error = await client.error(
        "login", {"email": "ghost@example.com", "password": "guess-abcdefgh"}
    )
    assert error.code == "account_locked"


async def test_lockouts_grow_longer_each_time(client: AuthClient) -> None:
    throttle = client.parts.throttle
    key = account_key("victim@example.com")
    durations = []
    for _ in range(3):
        for _ in range(5):
            attempt = await throttle.begin(key, None)
            locked = await attempt.failed()
        durations.append(locked)
        await client.runtime.redis_client.delete(f"auth:lock:{key}")  # let the lock run out
    assert durations == [60, 120, 240]


async def test_a_success_clears_the_failure_count(client: AuthClient) -> None:
    account = await client.register()
    for _ in range(4):
        await client.error("login", {"email": account.email, "password": "wrong-guess-abcdef"})
    await client.login(account.email, client.password)
    for _ in range(4):
        error = await client.error("login", {"email": account.email, "password": "wrong-guess-abc"})
        assert error.status == 401


async def test_one_ip_is_throttled_after_many_failures_across_accounts(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(tuning={"ip_failure_limit": 8}))
    for i in range(8):
        error = await client.error(
            "login", {"email": f"spray{i}@example.com", "password": "Winter2026-abcdef"}
        )
        assert error.status == 401
    throttled = await client.error(
        "login", {"email": "spray-next@example.com", "password": "Winter2026-abcdef"}
    )
    assert (throttled.status, throttled.code) == (429, "too_many_attempts")
    elsewhere = await client.error(
        "login",
        {"email": "spray-next@example.com", "password": "Winter2026-abcdef"},
        ip="192.0.2.99",
    )
    assert elsewhere.status == 401


async def test_password_is_rehashed_on_login_when_the_parameters_change(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    old = await start_auth()
    account = await client_for(old).register()
    await old.stop()  # replicas share the queue group: only the new one may answer
    new = client_for(
        await start_auth(tuning={"argon2_time_cost": 2, "argon2_memory_kib": 12 * 1024})
    )
    await new.login(account.email, account.password)
    async with new.parts.db.session() as session:
        user = await by_email(session, account.email)
    assert user is not None
    assert "m=12288,t=2,p=1" in user.password_hash
    assert (await new.login(account.email, account.password)).data["access_token"]


async def test_user_in_two_tenants_logs_in_to_the_one_named(client: AuthClient) -> None:
    owner = await client.register(tenant_name="First")
    other = await client.register_verified(tenant_name="Second")
    token = await client.invite(other, owner.email, "viewer")
    await client.call("tenants.invites.accept", {"token": token, "password": client.password})

    default = client.claims((await client.login(owner.email, client.password)).data["access_token"])
    chosen = client.claims(
        (await client.login(owner.email, client.password, tenant_id=other.tenant_id)).data[
            "access_token"
        ]
    )
    assert (default.tid, default.roles) == (owner.tenant_id, ["owner"])
    assert (chosen.tid, chosen.roles) == (other.tenant_id, ["viewer"])
    assert Scope.CONVERSATIONS_WRITE not in chosen.scope.split()

    stranger = await client.register(tenant_name="Third")
    refused = await client.error(
        "login",
        {"email": owner.email, "password": client.password, "tenant_id": stranger.tenant_id},
    )
    assert (refused.status, refused.code) == (403, "no_membership")
