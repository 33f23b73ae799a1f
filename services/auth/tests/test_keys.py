"""Signing keys: the published JWKS, rotation without invalidating a token, keys sealed at rest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from auth_support import AuthClient, ClientFor, StartAuth
from joserfc import jws
from sqlalchemy import text, update

from agentbus_auth.crypto import SecretBox, UndecryptableSecret
from agentbus_auth.keys.service import (
    KeyEncryptionKeyMismatch,
    KeyRing,
    RotationResult,
    RotationTooSoon,
)
from agentbus_auth.models import signing_keys
from agentbus_auth.sessions.tokens import AccessTokenVerifier, InvalidAccessToken
from agentbus_shared.testing.waiting import eventually


def kid_of(token: str) -> str:
    return str(jws.extract_compact(token.encode()).headers()["kid"])


async def rotate_now(client: AuthClient) -> RotationResult:
    result = await client.parts.keyring.rotate(force=True)
    await client.parts.keyring.load()  # what the reload loop does within its interval
    return result


async def test_jwks_publishes_next_and_active_keys_with_an_etag(client: AuthClient) -> None:
    jwks = (await client.call("jwks")).data
    assert len(jwks["keys"]) == 2
    for key in jwks["keys"]:
        assert (key["kty"], key["crv"], key["alg"], key["use"]) == (
            "OKP",
            "Ed25519",
            "Ed25519",
            "sig",
        )
        assert "d" not in key  # public halves only
    assert jwks["etag"].startswith('"')
    assert jwks["etag"].endswith('"')
    assert jwks["max_age"] == 300
    assert (await client.call("jwks")).data["etag"] == jwks["etag"]


async def test_tokens_are_signed_by_the_active_key(client: AuthClient) -> None:
    account = await client.register()
    assert kid_of(account.access_token) == client.parts.keyring.active_kid


async def test_key_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(
    client: AuthClient,
) -> None:
    account = await client.register()
    before = (await client.call("jwks")).data
    old_kid = kid_of(account.access_token)
    upcoming = next(k["kid"] for k in before["keys"] if k["kid"] != old_kid)

    result = await rotate_now(client)
    assert (result.retired, result.activated) == (old_kid, upcoming)

    after = (await client.call("jwks")).data
    assert after["etag"] != before["etag"]
    assert {k["kid"] for k in after["keys"]} == {old_kid, upcoming, result.next}
    verifier = AccessTokenVerifier(after["keys"], issuer="agentbus", audience="agentbus-api")
    assert verifier.verify(account.access_token).sub == account.user_id  # still valid

    fresh = (await client.login(account.email, client.password)).data["access_token"]
    assert kid_of(fresh) == upcoming
    assert verifier.verify(fresh).sub == account.user_id
    # A verifier that cached the key set before the rotation knows the new key already.
    cached = AccessTokenVerifier(before["keys"], issuer="agentbus", audience="agentbus-api")
    assert cached.verify(fresh).sub == account.user_id


async def test_retired_key_leaves_the_jwks_after_token_lifetime_and_cache_age(
    client: AuthClient,
) -> None:
    account = await client.register()
    old_kid = kid_of(account.access_token)
    result = await rotate_now(client)
    settings = client.parts.settings
    window = result.retired_published_until - datetime.now(UTC)
    assert window > timedelta(
        seconds=settings.tuning.access_token_ttl + settings.tuning.jwks_max_age
    )

    async with client.parts.db.transaction() as session:
        await session.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == old_kid)
            .values(publish_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    await client.parts.keyring.load()
    keys = (await client.call("jwks")).data["keys"]
    assert old_kid not in {k["kid"] for k in keys}
    verifier = AccessTokenVerifier(keys, issuer="agentbus", audience="agentbus-api")
    with pytest.raises(InvalidAccessToken):
        verifier.verify(account.access_token)


async def test_rotation_is_refused_until_the_next_key_has_been_published_long_enough(
    client: AuthClient,
) -> None:
    with pytest.raises(RotationTooSoon) as caught:
        await client.parts.keyring.rotate()
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 0


async def test_retired_keys_lose_their_private_half(client: AuthClient) -> None:
    result = await rotate_now(client)
    async with client.parts.db.session() as session:
        row = (
            await session.execute(
                text("SELECT state, private_jwk_sealed FROM auth.signing_keys WHERE kid = :k"),
                {"k": result.retired},
            )
        ).one()
    assert (row.state, row.private_jwk_sealed) == ("retired", None)


async def test_private_keys_are_sealed_under_the_key_encryption_key(client: AuthClient) -> None:
    db = client.parts.db
    async with db.session() as session:
        rows = (
            await session.execute(
                text("SELECT kid, public_jwk, private_jwk_sealed FROM auth.signing_keys")
            )
        ).all()
    for row in rows:
        private_d = json.loads(client.parts.box.open(row.private_jwk_sealed, bound_to=row.kid))["d"]
        assert private_d.encode() not in row.private_jwk_sealed
        with pytest.raises(UndecryptableSecret):
            SecretBox("another-key-encryption-key").open(row.private_jwk_sealed, bound_to=row.kid)
        with pytest.raises(UndecryptableSecret):  # bound to its row
            client.parts.box.open(row.private_jwk_sealed, bound_to="another-kid")

    ring = KeyRing(db, SecretBox("another-key-encryption-key"), client.parts.keyring.timings)
    with pytest.raises(KeyEncryptionKeyMismatch):
        await ring.load()


async def test_ensuring_keys_twice_creates_nothing_new(client: AuthClient) -> None:
    db = client.parts.db
    await client.parts.keyring.ensure()
    async with db.session() as session:
        count = await session.scalar(text("SELECT count(*) FROM auth.signing_keys"))
    assert count == 2


async def test_a_running_service_picks_up_a_rotation_done_elsewhere(
    start_auth: StartAuth, client_for: ClientFor
) -> None:
    client = client_for(await start_auth(tuning={"keys_reload_interval": 0.2}))
    account = await client.register()
    old_kid = kid_of(account.access_token)
    # As `agentbus auth keys rotate` does from another process: the database only.
    await client.parts.keyring.rotate(force=True)

    async def new_kid() -> str | None:
        fresh = (await client.login(account.email, client.password)).data["access_token"]
        return kid_of(fresh) if kid_of(fresh) != old_kid else None

    await eventually(new_kid, what="a token signed by the new key", timeout=5)
    assert client.claims(account.access_token).sub == account.user_id
