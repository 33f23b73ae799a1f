"""The ID token checks of single sign-on, one by one, against a provider served over HTTP that
answers the code exchange with ID tokens the real mock provider would never sign: another issuer
or audience, expired, another nonce, a shared-secret or missing signature, a key it never
published."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from agentbus_auth.settings import SsoProviderSettings
from agentbus_auth.sso.errors import SsoProviderUnavailable, SsoTokenInvalid
from agentbus_auth.sso.oidc import OidcIdentity, OidcProviders
from agentbus_shared.servers import free_port
from agentbus_shared.testing.waiting import eventually

CLIENT_ID = "agentbus"
NONCE = "nonce-of-the-login"
REDIRECT_URI = "http://127.0.0.1/cb"
SIGNING_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


@dataclass
class TokenIssuer:
    """A provider that answers every code with ``id_token``, whatever it holds."""

    url: str
    id_token: str = ""
    token_delay: float = 0.0
    token_body: str | None = None
    discoveries: int = 0
    discovery_overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> SsoProviderSettings:
        return SsoProviderSettings(
            id="idp", name="IdP", issuer=self.url, client_id=CLIENT_ID, client_secret="s"
        )

    async def discovery(self, request: Request) -> JSONResponse:
        self.discoveries += 1
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256", "HS256", "none"],
            }
            | self.discovery_overrides
        )

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse({"keys": [SIGNING_KEY.as_dict(private=False)]})

    async def token(self, request: Request) -> StreamingResponse:
        """The tokens, trickled over ``token_delay`` seconds (a byte a second: each read is
        quick, the whole answer slow)."""
        body = self.token_body or json.dumps(
            {"access_token": "at", "token_type": "Bearer", "id_token": self.id_token}
        )

        async def trickle() -> AsyncIterator[bytes]:
            for _ in range(int(self.token_delay)):
                yield b" "
                await asyncio.sleep(1)
            yield body.encode()

        return StreamingResponse(trickle(), media_type="application/json")

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """A valid ID token's claims with ``overrides`` (None leaves a claim out)."""
        now = int(time.time())
        valid = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "sub": "person-1",
            "iat": now,
            "exp": now + 300,
            "nonce": NONCE,
            "email": "ada@example.com",
            "email_verified": True,
        }
        return {k: v for k, v in (valid | overrides).items() if v is not None}

    async def identify(self, id_token: str) -> OidcIdentity:
        """The person auth finds behind ``id_token``, through discovery and the code exchange."""
        self.id_token = id_token
        return await OidcProviders().identify(
            self.settings,
            redirect_uri=REDIRECT_URI,
            code="c",
            code_verifier="v",
            nonce=NONCE,
        )


@pytest.fixture
async def idp() -> AsyncIterator[TokenIssuer]:
    port = free_port()
    issuer = TokenIssuer(f"http://127.0.0.1:{port}")
    app = Starlette(
        routes=[
            Route("/.well-known/openid-configuration", issuer.discovery),
            Route("/jwks", issuer.jwks),
            Route("/token", issuer.token, methods=["POST"]),
        ]
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, what="the provider started", interval=0.01)
    yield issuer
    server.should_exit = True
    await task


def signed(payload: dict[str, Any], key: RSAKey = SIGNING_KEY) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid}, payload, key)


def unsigned(payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(payload)}."


def shared_secret_signed(payload: dict[str, Any]) -> str:
    return jwt.encode({"alg": "HS256"}, payload, OctKey.import_key("s" * 64), algorithms=["HS256"])


async def test_a_valid_id_token_names_the_person(idp: TokenIssuer) -> None:
    identity = await idp.identify(signed(idp.claims()))
    assert (identity.subject, identity.email, identity.email_verified) == (
        "person-1",
        "ada@example.com",
        True,
    )


FAILING: dict[str, dict[str, Any]] = {
    "other-issuer": {"iss": "http://127.0.0.1:1"},
    "other-audience": {"aud": "another-client"},
    "several-audiences-without-azp": {"aud": [CLIENT_ID, "another-client"]},
    "expired": {"exp": int(time.time()) - 600},
    "other-nonce": {"nonce": "attackers-nonce"},
    "no-nonce": {"nonce": None},
    "no-subject": {"sub": None},
}


@pytest.mark.parametrize("overrides", FAILING.values(), ids=FAILING.keys())
async def test_an_id_token_with_a_wrong_claim_is_refused(
    idp: TokenIssuer, overrides: dict[str, Any]
) -> None:
    with pytest.raises(SsoTokenInvalid):
        await idp.identify(signed(idp.claims(**overrides)))


async def test_an_id_token_signed_otherwise_is_refused(idp: TokenIssuer) -> None:
    unpublished = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    for token in (
        signed(idp.claims(), unpublished),
        shared_secret_signed(idp.claims()),
        unsigned(idp.claims()),
    ):
        with pytest.raises(SsoTokenInvalid):
            await idp.identify(token)


async def test_a_provider_offering_only_refused_algorithms_is_refused_at_discovery(
    idp: TokenIssuer,
) -> None:
    """An empty allowed set must not fall back to the JOSE library's own (shared secrets too)."""
    idp.discovery_overrides = {"id_token_signing_alg_values_supported": ["HS256", "none"]}
    with pytest.raises(SsoProviderUnavailable):
        await idp.identify(shared_secret_signed(idp.claims()))


async def test_a_token_endpoint_answering_something_else_than_json_is_unavailable(
    idp: TokenIssuer,
) -> None:
    idp.token_body = "<html>Service temporarily unavailable</html>"
    with pytest.raises(SsoProviderUnavailable):
        await idp.identify(signed(idp.claims()))


async def test_callbacks_at_once_with_an_unknown_key_read_the_keys_once(idp: TokenIssuer) -> None:
    """Forged tokens arriving together after the cooldown reread the provider's keys once."""
    now = [0.0]
    providers = OidcProviders(clock=lambda: now[0])
    await providers.metadata(idp.settings)
    now[0] = 31.0
    idp.id_token = signed(idp.claims(), RSAKey.generate_key(2048, parameters={"kid": "k9"}))
    answers = await asyncio.gather(
        *(
            providers.identify(
                idp.settings, redirect_uri=REDIRECT_URI, code="c", code_verifier="v", nonce=NONCE
            )
            for _ in range(5)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(answer, SsoTokenInvalid) for answer in answers)
    assert idp.discoveries == 2
