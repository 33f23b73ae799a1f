"""The ID token checks of single sign-on, one by one, against a provider served over HTTP that
answers the code exchange with ID tokens the real mock provider would never sign: another issuer
or audience, expired, another nonce, a shared-secret or missing signature, a key it never
published. Unlike the mock provider, this one checks the client's secret (HTTP Basic) and the
PKCE verifier against the S256 challenge, so both are proven here."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentbus_auth.errors import SsoCodeRefused, SsoProviderUnavailable, SsoTokenInvalid
from agentbus_auth.settings import SsoProviderSettings
from agentbus_auth.sso.oidc import OidcIdentity, OidcProviders
from agentbus_shared.servers import free_port
from agentbus_shared.testing.waiting import eventually

CLIENT_ID = "agentbus"
CLIENT_SECRET = "secret-of-agentbus-at-the-idp"
VERIFIER = "verifier-of-the-login-" + "v" * 32
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
    code_challenge: str = field(default_factory=lambda: s256(VERIFIER))

    @property
    def settings(self) -> SsoProviderSettings:
        return self.settings_with(client_secret=CLIENT_SECRET)

    def settings_with(self, **overrides: Any) -> SsoProviderSettings:
        entry = {"id": "idp", "name": "IdP", "issuer": self.url, "client_id": CLIENT_ID}
        return SsoProviderSettings.model_validate(entry | overrides)

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

    async def token(self, request: Request) -> Response:
        """The tokens for the client that proves its secret and the login's PKCE verifier,
        trickled over ``token_delay`` seconds (a byte a second: each read is quick, the whole
        answer slow)."""
        basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {basic}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        verifier = (await request.form()).get("code_verifier")
        if not isinstance(verifier, str) or s256(verifier) != self.code_challenge:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
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

    async def identify(
        self,
        id_token: str,
        *,
        verifier: str = VERIFIER,
        settings: SsoProviderSettings | None = None,
    ) -> OidcIdentity:
        """The person auth finds behind ``id_token``, through discovery and the code exchange."""
        self.id_token = id_token
        return await OidcProviders().identify(
            settings or self.settings,
            redirect_uri=REDIRECT_URI,
            code="c",
            code_verifier=verifier,
            nonce=NONCE,
        )


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier`` (RFC 7636)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


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
                idp.settings,
                redirect_uri=REDIRECT_URI,
                code="c",
                code_verifier=VERIFIER,
                nonce=NONCE,
            )
            for _ in range(5)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(answer, SsoTokenInvalid) for answer in answers)
    assert idp.discoveries == 2


async def test_the_authorization_request_carries_the_verifiers_s256_challenge(
    idp: TokenIssuer,
) -> None:
    url = await OidcProviders().authorization_url(
        idp.settings, redirect_uri=REDIRECT_URI, state="s", nonce=NONCE, code_verifier=VERIFIER
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert (query["code_challenge"], query["code_challenge_method"]) == (s256(VERIFIER), "S256")


async def test_a_code_exchange_without_the_logins_pkce_verifier_is_refused(
    idp: TokenIssuer,
) -> None:
    with pytest.raises(SsoCodeRefused):
        await idp.identify(signed(idp.claims()), verifier="another-verifier-" + "w" * 32)


async def test_a_code_exchange_with_another_client_secret_is_refused(idp: TokenIssuer) -> None:
    with pytest.raises(SsoCodeRefused):
        await idp.identify(signed(idp.claims()), settings=idp.settings_with(client_secret="guess"))
