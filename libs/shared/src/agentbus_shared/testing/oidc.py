"""An OpenID Connect provider for tests and development: ``oidc-provider-mock`` as a real process.

``OidcProviderServer`` runs it on a free port (nonce required, like a strict provider);
``set_user`` decides what the provider asserts about a person (``email``, ``email_verified``,
``name``...) and ``sign_in`` is that person pressing "Authorize" on the provider's page: it answers
where the provider sends the browser back (the callback URL with ``code`` and ``state``).
``provider_entry`` is the ``AUTH_SSO_PROVIDERS`` entry that points at it. The mock takes any
client secret and does not check PKCE: tests that prove those use a provider of their own
(``services/auth/tests/test_sso_id_tokens.py``).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx

from agentbus_shared.servers import ManagedServer, port_open

CLIENT_ID = "agentbus-tests"
CLIENT_SECRET = "mock-provider-accepts-any-secret"  # noqa: S105 - the mock takes any secret


class OidcProviderServer(ManagedServer):
    """``oidc-provider-mock`` on ``host:port``; its issuer is its URL."""

    name = "oidc-provider"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "oidc_provider_mock",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--require-nonce",
        ]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def ready(self) -> bool:
        if not port_open(self.host, self.port):
            return False
        try:
            return httpx.get(f"{self.url}/.well-known/openid-configuration").is_success
        except httpx.HTTPError:
            return False

    def provider_entry(self, **overrides: Any) -> dict[str, Any]:
        """An ``AUTH_SSO_PROVIDERS`` entry for this provider (``overrides`` replace fields)."""
        return {
            "id": "mock",
            "name": "Mock ID",
            "issuer": self.url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "auto_provision": True,
            **overrides,
        }

    def providers_setting(self, **overrides: Any) -> str:
        """``AUTH_SSO_PROVIDERS`` with this provider alone."""
        return json.dumps([self.provider_entry(**overrides)])

    def set_user(self, sub: str, **claims: Any) -> None:
        """What the provider asserts about ``sub`` from now on (replaces earlier claims)."""
        httpx.put(f"{self.url}/users/{sub}", json=claims).raise_for_status()

    async def sign_in(self, authorization_url: str, sub: str) -> str:
        """``sub`` authorizes the request at ``authorization_url``; where the provider redirects."""
        async with httpx.AsyncClient() as client:
            return _redirect(await client.post(authorization_url, data={"sub": sub}))


def _redirect(response: httpx.Response) -> str:
    if response.status_code != 302:
        raise AssertionError(
            f"the provider did not redirect: {response.status_code} {response.text}"
        )
    return response.headers["location"]
