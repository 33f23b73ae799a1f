"""Single sign-on as its tests drive it: the mock provider's process (a fixture the SSO test
modules import), a person at the provider, and what a refused sign-in must leave as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from auth_support import AuthClient
from sqlalchemy import func, select

from agentbus_auth.models import sessions, sso_identities, users
from agentbus_shared.testing.oidc import OidcProviderServer


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProviderServer]:
    """oidc-provider-mock on a free port, for the module."""
    with OidcProviderServer(tmp_path_factory.mktemp("oidc") / "data") as server:
        yield server


def person(provider: OidcProviderServer, client: AuthClient, **claims: Any) -> tuple[str, str]:
    """A person at the provider (verified email unless ``claims`` say otherwise): sub, email."""
    email = claims.pop("email", None) or client.new_email("sso")
    sub = f"sub-{email}"
    provider.set_user(
        sub, **({"email_verified": True, "name": "Ada Lovelace"} | claims), email=email
    )
    return sub, email


async def counts(client: AuthClient) -> tuple[int, int, int]:
    """Accounts, linked identities and sessions: what a refusal must leave as it was."""
    async with client.parts.db.session() as session:
        return (
            await session.scalar(select(func.count()).select_from(users)) or 0,
            await session.scalar(select(func.count()).select_from(sso_identities)) or 0,
            await session.scalar(select(func.count()).select_from(sessions)) or 0,
        )
