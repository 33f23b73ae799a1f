"""Access tokens: Ed25519 JWTs with exactly the claims of API.md, and their verification.

The gateway verifies tokens on its own with the published JWKS; the verifier
here checks the same things (signature by a published key, ``iss``, ``aud``,
``exp``/``nbf`` with a small leeway) and is what the tests and benchmarks of
this service use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from agentbus_auth.keys.service import ALGORITHM, KeyRing
from agentbus_shared.contracts.auth import AccessTokenClaims
from agentbus_shared.errors import Unauthorized
from agentbus_shared.ids import new_id


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int
    """Unix time of ``exp``."""
    scope: str


class AccessTokens:
    def __init__(self, keyring: KeyRing, *, issuer: str, audience: str, ttl: int) -> None:
        self._keyring = keyring
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl

    def issue(
        self,
        *,
        subject: str,
        tenant_id: str,
        session_id: str | None,
        scopes: list[str],
        roles: list[str],
        typ: Literal["user", "service_account"] = "user",
        now: int | None = None,
    ) -> IssuedToken:
        issued_at = int(time.time()) if now is None else now
        claims = AccessTokenClaims(
            sub=subject,
            tid=tenant_id,
            sid=session_id,
            scope=" ".join(scopes),
            roles=roles,
            iss=self.issuer,
            aud=self.audience,
            iat=issued_at,
            nbf=issued_at,
            exp=issued_at + self.ttl,
            jti=new_id("at"),
            typ=typ,
        )
        token = self._keyring.sign(claims.model_dump(exclude_none=True))
        return IssuedToken(token=token, expires_at=claims.exp, scope=claims.scope)


class InvalidAccessToken(Unauthorized):
    code = "invalid_token"
    default_message = "The access token is not valid."


class AccessTokenVerifier:
    """Verifies access tokens against a JWKS, as a resource server does."""

    def __init__(
        self, jwks: list[dict[str, Any]], *, issuer: str, audience: str, leeway: int = 30
    ) -> None:
        self._keys = KeySet.import_key_set({"keys": jwks})
        self._registry = JWTClaimsRegistry(
            leeway=leeway,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            nbf={"essential": True},
            sub={"essential": True},
        )

    def verify(self, token: str) -> AccessTokenClaims:
        try:
            decoded = jwt.decode(token, self._keys, algorithms=[ALGORITHM])
            self._registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise InvalidAccessToken(details={"reason": type(exc).__name__}) from None
        if decoded.header.get("kid") is None:
            raise InvalidAccessToken(details={"reason": "missing kid"})
        return AccessTokenClaims.model_validate(decoded.claims)
