"""OpenID Connect with the configured providers, through authlib and joserfc.

Discovery (``/.well-known/openid-configuration``, validated by authlib and required to name the
configured issuer) and the provider's keys are cached per provider for ``CACHE_TTL``, read by one
caller at a time per provider, and a failed read is remembered for ``DISCOVERY_RETRY`` (a provider
that is down is not asked again by every login); an ID token
signed by a key the cache does not hold reads the keys again, at most once per
``KEY_REFRESH_COOLDOWN``. The authorization URL (state, nonce, PKCE S256) and the code exchange
are authlib's ``AsyncOAuth2Client``; the ID token is checked with joserfc: signature against the
provider's JWKS (asymmetric algorithms only), ``iss``, ``aud`` (and ``azp`` when there are
several audiences), ``exp``, ``iat`` and ``nonce``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client, oauth2_client
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from agentbus_auth.errors import SsoCodeRefused, SsoProviderUnavailable, SsoTokenInvalid
from agentbus_auth.settings import SsoProviderSettings
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

CACHE_TTL = 3600.0
"""Seconds a provider's discovery document and keys are kept."""
KEY_REFRESH_COOLDOWN = 30.0
"""Seconds after reading a provider's keys before an unknown signing key reads them again (forged
tokens cannot make auth hammer the provider)."""
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0
"""Seconds per request to a provider: connecting, and each read or write. The login as a whole
has its own deadline (``SsoService``), below the gateway's wait."""
DISCOVERY_RETRY = 30.0
"""Seconds a failed discovery is remembered before the provider is asked again."""
SCOPE = "openid email profile"
CLOCK_LEEWAY = 60
"""Seconds of clock difference with the provider tolerated on ``exp`` and ``iat``."""
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""ID-token algorithms accepted, whatever a provider offers: never ``none`` or a shared secret."""
_TIMEOUT = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
UNREACHABLE: tuple[type[Exception], ...] = (httpx.HTTPError, oauth2_client.httpx2.HTTPError)
"""Transport errors: authlib's client speaks httpx2 where it is installed, httpx otherwise."""


@dataclass(frozen=True)
class ProviderMetadata:
    """What discovery says about one provider, and its keys."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    keys: KeySet
    fetched_at: float


@dataclass(frozen=True)
class OidcIdentity:
    """Who the provider says signed in: the verified claims of its ID token."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None


class OidcProviders:
    """The OpenID Connect side of single sign-on, one cached discovery per provider."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cache: dict[str, ProviderMetadata] = {}
        self._failed_at: dict[str, float] = {}
        self._discovering: dict[str, asyncio.Lock] = {}

    async def metadata(self, provider: SsoProviderSettings) -> ProviderMetadata:
        """The provider's discovery and keys (cached); 503 when it cannot be read."""
        cached = self._fresh(provider)
        if cached is not None:
            return cached
        async with self._lock(provider):
            return self._fresh(provider) or await self._discover(provider)

    def _fresh(self, provider: SsoProviderSettings) -> ProviderMetadata | None:
        """The cached discovery while it lasts; ``SsoProviderUnavailable`` while a failure is."""
        cached = self._cache.get(provider.id)
        if cached is not None and self._clock() - cached.fetched_at < CACHE_TTL:
            return cached
        failed_at = self._failed_at.get(provider.id)
        if failed_at is not None and self._clock() - failed_at < DISCOVERY_RETRY:
            raise SsoProviderUnavailable()
        return None

    def _lock(self, provider: SsoProviderSettings) -> asyncio.Lock:
        return self._discovering.setdefault(provider.id, asyncio.Lock())

    async def authorization_url(
        self,
        provider: SsoProviderSettings,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_verifier: str,
    ) -> str:
        """Where to send the browser: the authorization request with state, nonce and PKCE S256."""
        metadata = await self.metadata(provider)
        async with self._client(provider, redirect_uri) as client:
            url, _ = client.create_authorization_url(
                metadata.authorization_endpoint,
                state=state,
                code_verifier=code_verifier,
                nonce=nonce,
            )
        return str(url)

    async def identify(
        self,
        provider: SsoProviderSettings,
        *,
        redirect_uri: str,
        code: str,
        code_verifier: str,
        nonce: str,
    ) -> OidcIdentity:
        """Exchange ``code`` (with the PKCE verifier) and verify the ID token it brings.

        Raises ``SsoCodeRefused`` when the provider refuses the code (used, expired, foreign),
        ``SsoTokenInvalid`` when the ID token fails a check, ``SsoProviderUnavailable`` when the
        provider cannot be reached.
        """
        metadata = await self.metadata(provider)
        id_token = await self._exchange(provider, metadata, redirect_uri, code, code_verifier)
        claims = await self._verified_claims(provider, metadata, id_token, nonce)
        email = claims.get("email")
        name = claims.get("name")
        return OidcIdentity(
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) and email else None,
            email_verified=claims.get("email_verified") is True,
            name=name if isinstance(name, str) and name else None,
        )

    # ---------------------------------------------------------------- parts
    def _client(self, provider: SsoProviderSettings, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=provider.client_id,
            client_secret=provider.client_secret.get_secret_value(),
            scope=SCOPE,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=oauth2_client.httpx2.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        )

    async def _discover(self, provider: SsoProviderSettings) -> ProviderMetadata:
        """Read the provider's discovery and keys (the caller holds its lock); a failure is
        remembered for ``DISCOVERY_RETRY``."""
        try:
            metadata = await self._read_discovery(provider)
        except SsoProviderUnavailable:
            self._failed_at[provider.id] = self._clock()
            raise
        self._failed_at.pop(provider.id, None)
        self._cache[provider.id] = metadata
        return metadata

    async def _read_discovery(self, provider: SsoProviderSettings) -> ProviderMetadata:
        url = f"{provider.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=_TIMEOUT) as http:
                document = OpenIDProviderMetadata(await _json(http, url))
                document.validate()
                keys = _key_set(await _json(http, str(document["jwks_uri"])))
        except (httpx.HTTPError, ValueError, TypeError, AuthlibBaseError, JoseError) as exc:
            log.warning("sso.discovery_failed", provider=provider.id, error=type(exc).__name__)
            raise SsoProviderUnavailable() from exc
        if document["issuer"] != provider.issuer:
            log.warning("sso.issuer_mismatch", provider=provider.id, issuer=document["issuer"])
            raise SsoProviderUnavailable()
        offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = tuple(a for a in offered if a in SIGNING_ALGORITHMS)
        if not algorithms:
            # joserfc reads an empty list as "its recommended set", shared secrets included.
            log.warning("sso.no_signing_algorithm", provider=provider.id, offered=offered)
            raise SsoProviderUnavailable()
        return ProviderMetadata(
            issuer=provider.issuer,
            authorization_endpoint=str(document["authorization_endpoint"]),
            token_endpoint=str(document["token_endpoint"]),
            jwks_uri=str(document["jwks_uri"]),
            algorithms=algorithms,
            keys=keys,
            fetched_at=self._clock(),
        )

    async def _exchange(
        self,
        provider: SsoProviderSettings,
        metadata: ProviderMetadata,
        redirect_uri: str,
        code: str,
        code_verifier: str,
    ) -> str:
        try:
            async with self._client(provider, redirect_uri) as client:
                token = await client.fetch_token(
                    metadata.token_endpoint,
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=code_verifier,
                )
        except UNREACHABLE as exc:
            log.warning("sso.token_endpoint_unreachable", provider=provider.id)
            raise SsoProviderUnavailable() from exc
        except ValueError as exc:
            # A 2xx answer that is not JSON: a proxy's page, a provider in trouble.
            log.warning("sso.token_endpoint_not_json", provider=provider.id)
            raise SsoProviderUnavailable() from exc
        except AuthlibBaseError as exc:
            log.warning("sso.code_refused", provider=provider.id, error=exc.error)
            raise SsoCodeRefused() from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            log.warning("sso.no_id_token", provider=provider.id)
            raise SsoTokenInvalid()
        return id_token

    async def _verified_claims(
        self, provider: SsoProviderSettings, metadata: ProviderMetadata, id_token: str, nonce: str
    ) -> dict[str, Any]:
        try:
            token = self._decode(metadata, id_token)
        except JoseError as exc:
            # Perhaps a key the cache does not hold yet (the provider rotated): read them again.
            reread = await self._reread_keys(provider, metadata)
            if reread is None:
                log.warning("sso.id_token_signature", provider=provider.id, error=exc.error)
                raise SsoTokenInvalid() from exc
            metadata = reread
            try:
                token = self._decode(metadata, id_token)
            except JoseError as again:
                log.warning("sso.id_token_signature", provider=provider.id, error=again.error)
                raise SsoTokenInvalid() from again
        claims: dict[str, Any] = dict(token.claims)
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY,
            iss={"essential": True, "value": metadata.issuer},
            aud={"essential": True, "value": provider.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            log.warning("sso.id_token_claims", provider=provider.id, error=exc.error)
            raise SsoTokenInvalid() from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != provider.client_id:
            log.warning("sso.id_token_azp", provider=provider.id)
            raise SsoTokenInvalid()
        return claims

    async def _reread_keys(
        self, provider: SsoProviderSettings, used: ProviderMetadata
    ) -> ProviderMetadata | None:
        """The provider's keys read again, or None within ``KEY_REFRESH_COOLDOWN`` of the last
        read; callbacks at once read them once (the lock) and share what was read."""
        async with self._lock(provider):
            current = self._cache.get(provider.id, used)
            if current.fetched_at > used.fetched_at:
                return current
            if self._clock() - current.fetched_at < KEY_REFRESH_COOLDOWN:
                return None
            return await self._discover(provider)

    @staticmethod
    def _decode(metadata: ProviderMetadata, id_token: str) -> jwt.Token:
        return jwt.decode(id_token, metadata.keys, algorithms=metadata.algorithms)


def _key_set(document: dict[str, Any]) -> KeySet:
    """The provider's public keys; ``TypeError`` for a document that is not a key set."""
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise TypeError("the JWKS has no keys")
    return KeySet.import_key_set({"keys": keys})


async def _json(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    response = await http.get(url, headers={"Accept": "application/json"})
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict):
        raise TypeError(f"{url}: not a JSON object")
    return document
