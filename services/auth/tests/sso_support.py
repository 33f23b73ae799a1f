"""Single sign-on as its tests drive it: the mock provider's process (a fixture the SSO test
modules import), a person at the provider, and what a refused sign-in must leave as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from auth_support import AuthClient
from sqlalchemy import func, select

from agentbus_auth.models import memberships, outbox, sessions, sso_identities, tenants, users
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


class Footprint(NamedTuple):
    """How many of each thing a sign-in can create there are: a refusal leaves them as they were."""

    users: int
    identities: int
    sessions: int
    tenants: int
    memberships: int
    outbox: int


async def counts(client: AuthClient) -> Footprint:
    """Accounts, linked identities, sessions, tenants, memberships and queued events."""
    tables = (users, sso_identities, sessions, tenants, memberships, outbox.table)
    async with client.parts.db.session() as session:
        return Footprint(
            *[await session.scalar(select(func.count()).select_from(t)) or 0 for t in tables]
        )
