"""Invite tokens: derived from the invite's id with the code key, stored only as a hash."""

from __future__ import annotations

from agentbus_auth.crypto import CodeKey


def invite_token(key: CodeKey, invite_id: str) -> str:
    """The bearer token of ``invite_id``: the admin sees it once, the mailer derives it again."""
    return key.token("invite", invite_id, "inv")
