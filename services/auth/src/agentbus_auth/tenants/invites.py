"""Invite tokens and the caps on invites.

A token is derived from the invite's id with the code key and stored only as a
hash: the mailer derives it again for the invited mailbox, nobody else sees it.
"""

from __future__ import annotations

from agentbus_auth.crypto import CodeKey

INVITES_PER_DAY = 50
"""Invites one tenant may send in 24 hours: a team's onboarding, not a mail campaign."""

PENDING_INVITES = 100
"""Invites of one tenant that may wait for an answer at once."""


def invite_token(key: CodeKey, invite_id: str) -> str:
    """The bearer token of ``invite_id``: only the invite mail carries it."""
    return key.token("invite", invite_id, "inv")
