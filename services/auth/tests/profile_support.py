"""The self-service profile as its tests read it: the caller's profile, and a new session of
the same account (which an email change or disabling must end)."""

from __future__ import annotations

from typing import Any

from auth_support import Account, AuthClient


async def profile(client: AuthClient, account: Account) -> dict[str, Any]:
    """The profile of ``account`` as ``users.me`` answers it."""
    return dict((await client.call("users.me", token=account.access_token)).data)


async def new_session(client: AuthClient, account: Account) -> dict[str, Any]:
    """The tokens of a new session of ``account``, signed in with its password."""
    return dict((await client.login(account.email, account.password)).data)
