"""Access tokens at the edge: only Ed25519 tokens from auth's key set, with valid claims, pass."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from gateway_support import FakeAuth, TokenFactory
from joserfc.jwk import OKPKey
from pydantic import ValidationError

from agentbus_gateway.settings import GatewaySettings

TENANT = "/api/v1/tenants/current"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _tampered(tokens: TokenFactory) -> str:
    header, payload, signature = tokens.issue(scope="tenant:read").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "platform:operate"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _hs256_with_public_key(tokens: TokenFactory) -> str:
    public_pem = tokens.key.as_pem(private=False)
    return _forge(
        {"alg": "HS256", "kid": tokens.key.kid, "typ": "JWT"},
        tokens.claims(),
        lambda data: hmac.new(public_pem, data, hashlib.sha256).digest(),
    )


def _alg_none(tokens: TokenFactory) -> str:
    return _forge(
        {"alg": "none", "kid": tokens.key.kid, "typ": "JWT"}, tokens.claims(), lambda _: b""
    )


def _unknown_kid(tokens: TokenFactory) -> str:
    return tokens.issue(key=OKPKey.generate_key("Ed25519", auto_kid=True))


NOW = int(time.time())
BAD_TOKENS: dict[str, Callable[[TokenFactory], str]] = {
    "expired": lambda t: t.issue(exp=int(time.time()) - 120, iat=NOW - 900, nbf=NOW - 900),
    "not_yet_valid": lambda t: t.issue(nbf=int(time.time()) + 600),
    "wrong_audience": lambda t: t.issue(aud="another-api"),
    "wrong_issuer": lambda t: t.issue(iss="someone-else"),
    "tampered": _tampered,
    "alg_none": _alg_none,
    "hs256_with_public_key": _hs256_with_public_key,
    "unknown_kid": _unknown_kid,
    "no_kid": lambda t: _forge(
        {"alg": "Ed25519", "typ": "at+jwt"}, t.claims(), t.key.private_key.sign
    ),
    "missing_tenant": lambda t: t.issue(tid=None),
    "tenant_outside_the_id_pattern": lambda t: t.issue(tid="t_acme.>"),
    "subject_outside_the_id_pattern": lambda t: t.issue(sub="u_*"),
    "typed_as_a_plain_jwt": lambda t: t.issue(header={"typ": "JWT"}),
    "untyped": lambda t: _forge(
        {"alg": "Ed25519", "kid": t.key.kid}, t.claims(), t.key.private_key.sign
    ),
    "eddsa_alias": lambda t: t.issue(header={"alg": "EdDSA"}),
    "not_a_jwt": lambda t: "this.is-not.a-token",
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
async def test_invalid_token_is_refused_with_401(
    kind: str, client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    token = BAD_TOKENS[kind](tokens)
    response = await client.get(TENANT, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 401
    assert problem["code"] == "invalid_token"
    assert problem["type"] == "urn:agentbus:problem:invalid_token"


async def test_signed_token_with_a_tenant_outside_the_id_pattern_gets_401_not_500(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.get(TENANT, headers=tokens.bearer(tid="tenant acme"))
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_token"


async def test_token_typed_application_at_jwt_passes(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    token = tokens.issue(header={"typ": "application/at+jwt"})
    response = await client.get(TENANT, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def test_default_token_algorithms_are_the_ones_the_gateway_accepts() -> None:
    assert GatewaySettings().tuning.token_algorithms == ("Ed25519",)


@pytest.mark.parametrize("algorithms", ['["Ed25519", "EdDSA"]', '["HS256"]', '["none"]', "[]"])
def test_unsupported_token_algorithm_is_refused_at_start_up(
    algorithms: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_TUNING__TOKEN_ALGORITHMS", algorithms)
    with pytest.raises(ValidationError, match="token_algorithms"):
        GatewaySettings()


async def test_missing_token_is_refused_with_401(client: httpx.AsyncClient) -> None:
    response = await client.get(TENANT)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthorized"


async def test_non_bearer_authorization_is_refused(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.get(TENANT, headers={"Authorization": f"Basic {tokens.issue()}"})
    assert response.status_code == 401


async def test_valid_token_reaches_the_service_as_its_principal(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    token = tokens.issue(sub="u_bob", tid="t_acme", sid="s_9", roles=["admin"], scope="tenant:read")
    response = await client.get(TENANT, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    principal = response.json()["principal"]
    assert principal["kind"] == "user"
    assert principal["subject"] == "u_bob"
    assert principal["tenant_id"] == "t_acme"
    assert principal["roles"] == ["admin"]
    assert principal["scopes"] == ["tenant:read"]
    assert principal["session_id"] == "s_9"
    assert principal["token_id"].startswith("jti_")


async def test_token_expired_within_the_leeway_still_passes(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.get(TENANT, headers=tokens.bearer(exp=int(time.time()) - 5))
    assert response.status_code == 200


async def test_token_without_the_routes_scope_gets_403(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    response = await client.get(TENANT, headers=tokens.bearer(scope="conversations:read"))
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "forbidden"
    assert problem["details"] == {"missing_scopes": ["tenant:read"]}


async def test_service_account_cannot_use_a_route_for_users(
    client: httpx.AsyncClient, tokens: TokenFactory
) -> None:
    headers = tokens.bearer(typ="service_account", sub="sa_1", sid=None)
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 403
    # …yet may use a route open to any principal with the scope.
    assert (await client.get(TENANT, headers=headers)).status_code == 200


async def test_rotated_key_is_fetched_on_its_first_token(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    assert (await client.get(TENANT, headers=tokens.bearer())).status_code == 200
    calls_before = fake_auth.jwks_calls
    new_key = OKPKey.generate_key("Ed25519", auto_kid=True)
    fake_auth.keys.append(new_key)
    token = tokens.issue(key=new_key)
    response = await client.get(TENANT, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert fake_auth.jwks_calls == calls_before + 1


async def test_unknown_kids_refresh_the_key_set_at_most_once_per_cooldown(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    assert (await client.get(TENANT, headers=tokens.bearer())).status_code == 200
    calls_before = fake_auth.jwks_calls
    for _ in range(10):
        response = await client.get(
            TENANT, headers={"Authorization": f"Bearer {_unknown_kid(tokens)}"}
        )
        assert response.status_code == 401
    assert fake_auth.jwks_calls == calls_before + 1


async def test_token_of_a_withdrawn_key_is_refused_once_the_key_set_changes(
    client: httpx.AsyncClient, tokens: TokenFactory, fake_auth: FakeAuth
) -> None:
    old = tokens.bearer()
    assert (await client.get(TENANT, headers=old)).status_code == 200
    new_key = OKPKey.generate_key("Ed25519", auto_kid=True)
    fake_auth.keys[:] = [new_key]  # the old key is withdrawn (e.g. compromised)
    fresh = {"Authorization": f"Bearer {tokens.issue(key=new_key)}"}
    assert (await client.get(TENANT, headers=fresh)).status_code == 200
    assert (await client.get(TENANT, headers=old)).status_code == 401
