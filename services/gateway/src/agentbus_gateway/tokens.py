"""Access-token verification at the edge: Ed25519 JWS, pinned algorithms, checked claims.

A token is refused (401) when it is not a compact JWS, names an algorithm
other than the configured Ed25519 ones (``none`` and HMAC never pass, so a
token "signed" with the public key as an HMAC secret is refused before any
key is touched), is not typed ``at+jwt`` (RFC 9068: an ID token or another
JWT signed by the same key is no access token), has no or an unknown ``kid``,
fails its signature, or its claims fail: ``exp``/``nbf``/``iat`` with a small
leeway, ``iss`` and ``aud`` exactly as configured, and the shape of
:class:`AccessTokenClaims` and of the :class:`Principal` it becomes.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime

from joserfc import jws
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jws import JWSRegistry
from joserfc.jwt import JWTClaimsRegistry
from prometheus_client import Counter
from pydantic import ValidationError

from agentbus_gateway.jwks import KeySetCache
from agentbus_shared.contracts.auth import ACCESS_TOKEN_TYPE, AccessTokenClaims
from agentbus_shared.contracts.common import Principal
from agentbus_shared.errors import Unauthorized

MAX_TOKEN_BYTES = 8192
SUPPORTED_ALGORITHMS = frozenset({"Ed25519"})
"""The JWS algorithms auth signs with and this verifier can check (auth's keys are Ed25519)."""
ACCEPTED_TYPES = frozenset({ACCESS_TOKEN_TYPE, f"application/{ACCESS_TOKEN_TYPE}"})
"""The ``typ`` header values of an access token (RFC 9068 §2.1), compared case-insensitively."""

TOKENS_REJECTED = Counter(
    "agentbus_gateway_tokens_rejected_total",
    "Access tokens the gateway refused, by reason.",
    ["reason"],
)


class InvalidToken(Unauthorized):
    code = "invalid_token"
    default_message = "The access token is invalid or expired."


def token_rejected(reason: str, message: str | None = None) -> InvalidToken:
    TOKENS_REJECTED.labels(reason).inc()
    return InvalidToken(message)


class TokenVerifier:
    """Turns a bearer token into the verified :class:`Principal`, or raises ``InvalidToken``."""

    def __init__(
        self,
        keys: KeySetCache,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = ("Ed25519",),
        leeway: int = 30,
        cache_size: int = 10_000,
    ) -> None:
        self._keys = keys
        self._leeway = leeway
        self._cache: OrderedDict[str, tuple[AccessTokenClaims, str]] = OrderedDict()
        self._cache_size = cache_size
        self._algorithms = frozenset(algorithms)
        self._registry = JWSRegistry(algorithms=list(algorithms))
        self._claims = JWTClaimsRegistry(
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            nbf={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            jti={"essential": True},
        )

    def accepted_until(self, claims: AccessTokenClaims) -> datetime:
        """The last moment this verifier accepts a token with these claims (``exp`` + leeway)."""
        return datetime.fromtimestamp(claims.exp + self._leeway, UTC)

    async def verify(self, token: str) -> AccessTokenClaims:
        """The token's claims once its signature and claims hold.

        A token verified before is answered from a bounded cache (clients send
        the same token many times) while it has not expired and its key is
        still in auth's key set.
        """
        cached = self._cache.get(token)
        if cached is not None:
            claims, kid = cached
            if claims.exp > time.time() - self._leeway and self._keys.holds(kid):
                self._cache.move_to_end(token)
                return claims
            del self._cache[token]
        claims, kid = await self._verify(token)
        self._cache[token] = (claims, kid)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims

    async def _verify(self, token: str) -> tuple[AccessTokenClaims, str]:
        if len(token) > MAX_TOKEN_BYTES:
            raise token_rejected("malformed")
        try:
            compact = jws.extract_compact(token.encode("ascii"))
            header = compact.headers()
        except (JoseError, ValueError, UnicodeError):
            raise token_rejected("malformed") from None
        if header.get("alg") not in self._algorithms:
            raise token_rejected("algorithm")
        if str(header.get("typ", "")).lower() not in ACCEPTED_TYPES:
            raise token_rejected("type")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise token_rejected("kid")
        key = await self._keys.key(kid)
        if key is None:
            raise token_rejected("kid")
        try:
            valid = jws.validate_compact(compact, key, registry=self._registry)
        except (JoseError, ValueError):
            valid = False
        if not valid:
            raise token_rejected("signature")
        return self._checked_claims(compact.payload), kid

    def _checked_claims(self, payload: bytes | None) -> AccessTokenClaims:
        try:
            claims = json.loads(payload or b"")
        except ValueError:
            raise token_rejected("malformed") from None
        if not isinstance(claims, dict):
            raise token_rejected("malformed")
        try:
            self._claims.validate(claims)
        except ExpiredTokenError:
            raise token_rejected("expired", "The access token has expired.") from None
        except JoseError:
            raise token_rejected("claims") from None
        try:
            return AccessTokenClaims.model_validate(claims)
        except ValidationError:
            raise token_rejected("claims") from None


def principal_of(claims: AccessTokenClaims) -> Principal:
    """The principal every RPC carries, as agreed with the services (see DESIGN.md).

    Raises ``InvalidToken`` when a claim does not fit the principal's shape (an
    id outside the identifier pattern): a signed token can still carry it.
    """
    try:
        return claims.principal()
    except ValidationError:
        raise token_rejected("claims") from None
