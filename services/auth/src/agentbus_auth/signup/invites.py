"""Platform signup invite tokens: derived from the invite's id with the code key and stored only as
a hash, so the mailer derives the token again for the invited mailbox and nobody else sees it."""

from __future__ import annotations

from urllib.parse import urlencode

from agentbus_auth.crypto import CodeKey


def signup_invite_token(key: CodeKey, invite_id: str) -> str:
    """The bearer token of the signup invite ``invite_id``: only its mail carries it."""
    return key.token("signup-invite", invite_id, "sgi")


def register_link(public_url: str, token: str, email: str) -> str:
    """The web app's register page with the invite and the invited email filled in."""
    return f"{public_url}/register?{urlencode({'invite': token, 'email': email})}"
