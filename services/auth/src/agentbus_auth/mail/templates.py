"""The messages auth sends, as plain text. Secrets are filled in by the mailer, never carried.

Every value goes in on one line. Names another person chose (an invite's tenant and inviter,
the team of an admin's password reset)
stay out of subjects and appear in bodies quoted and labelled as theirs: an invite must not
read as a message from the product ("Agentbus Security: account suspended, verify at …"). The
answer to an access request leaves out the name given with it (anyone may ask for any email), and
so does the code for a new email address (any account may ask for any address: its own chosen
name would greet a stranger).
"""

from __future__ import annotations

import unicodedata
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
    "password_reset_by_admin": (
        "Your $product password was reset by your team",
        """Hello $name,

An administrator of one of your teams on $product reset the password of your
account and signed you out of that team:

    Team name: $tenant_name

Set a new password with this code on the "Forgot password" page:

    Code: $code

It expires in $expires_in and works once. Your current password keeps working
until you set a new one. If you do not expect this, ask the team's owners.
""",
    ),
    "password_reset_by_support": (
        "Your $product password was reset by support",
        """Hello $name,

$product support reset the password of your account and signed you out
everywhere.

Set a new password with this code on the "Forgot password" page:

    Code: $code

It expires in $expires_in and works once. Your current password keeps working
until you set a new one.
""",
    ),
    "invite": (
        "You are invited to join a team on $product",
        """Hello,

Someone invited you to join a team on $product as $role:

    Team name:  $tenant_name
    Invited by: $inviter

The names in quotes were chosen by the person who invited you; $product did
not check them. If you do not expect this invitation, ignore this message:
nothing happens unless you accept it.

Accept the invitation: $link

    Invite token: $token

The invitation expires on $expires_at and works once.
""",
    ),
    "email_change": (
        "Confirm your new $product email address",
        """Hello,

You asked to use this address for your $product account. Your code is:

    Code: $code

It expires in $expires_in and works once. If you did not ask for it, ignore this
message: the account keeps its current address.
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
    "signup_invite": (
        "Create your $product account",
        """Hello,

You can now create your $product account with this email address.

Create your account: $link

    Invite token: $token

The invitation works once, only for this email address, and expires on
$expires_at. If you did not ask for an account, ignore this message.
""",
    ),
    "signup_rejected": (
        "Your request for a $product account",
        """Hello,

Thank you for your interest in $product. We cannot offer you an account at
this time.

    Reason: $reason

You are welcome to ask again later.
""",
    ),
}


_CHOSEN_BY_OTHERS: dict[str, frozenset[str]] = {
    "invite": frozenset({"tenant_name", "inviter"}),
    "password_reset_by_admin": frozenset({"tenant_name"}),
}
"""Per template, the values another person typed (shown quoted)."""


def one_line(value: str) -> str:
    """``value`` without control or format characters (line breaks, bidi overrides), with
    its whitespace collapsed: it cannot start lines of its own in a message."""
    visible = "".join(" " if unicodedata.category(c).startswith("C") else c for c in value)
    return " ".join(visible.split())


def quoted(value: str) -> str:
    """A name someone else chose, on one line between double quotes."""
    return '"' + one_line(value).replace('"', "'") + '"'


def render(template: str, variables: dict[str, str]) -> Rendered:
    """Fill ``template``; unknown placeholders stay visible rather than failing the message."""
    subject, body = _TEMPLATES[template]
    chosen_by_others = _CHOSEN_BY_OTHERS.get(template, frozenset())
    values = {
        name: quoted(value) if name in chosen_by_others else one_line(value)
        for name, value in variables.items()
    }
    return Rendered(
        subject=Template(subject).safe_substitute(values),
        body=Template(body).safe_substitute(values),
    )
