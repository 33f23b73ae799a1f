"""The messages auth sends, as plain text. Secrets are filled in by the mailer, never carried."""

from __future__ import annotations

from dataclasses import dataclass
from string import Template


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


_TEMPLATES: dict[str, tuple[str, str]] = {
    "verify_email": (
        "Your $product verification code",
        """Hello $name,

Your code to verify this email address is:

    Code: $code

It expires in $expires_in. If you did not ask for it, you can ignore this message.
""",
    ),
    "password_reset": (
        "Reset your $product password",
        """Hello $name,

Someone (hopefully you) asked to reset the password of your $product account.
Your reset code is:

    Code: $code

It expires in $expires_in and works once. If you did not ask for it, ignore this
message: your password stays as it is.
""",
    ),
    "invite": (
        "You are invited to $tenant_name on $product",
        """Hello,

$inviter invited you to join $tenant_name on $product as $role.

Accept the invitation: $link

    Invite token: $token

The invitation expires on $expires_at and works once.
""",
    ),
    "security_alert": (
        "Security alert for your $product account",
        """Hello $name,

$what on your $product account ($when).

If this was you, there is nothing to do. If it was not, reset your password now
and review your sessions.
""",
    ),
}


def render(template: str, variables: dict[str, str]) -> Rendered:
    """Fill ``template``; unknown placeholders stay visible rather than failing the message."""
    subject, body = _TEMPLATES[template]
    return Rendered(
        subject=Template(subject).safe_substitute(variables),
        body=Template(body).safe_substitute(variables),
    )
