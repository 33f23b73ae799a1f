"""The password policy: long enough, not common, not made of the account's own name or email.

Following NIST SP 800-63B: a minimum length and a blocklist instead of
composition rules. The blocklist (``data/common-passwords.txt``, shipped in the
repository) is checked case-insensitively, and also against the word left
after stripping the digits, symbols and leet substitutions people wrap around
a common password ("Password1234!" is "password").
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from agentbus_auth.errors import WeakPassword

_LEET = str.maketrans(
    {"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s", "5": "s"}
)
_WRAPPING = re.compile(r"^[^a-z]*(?P<core>[a-z](?:.*[a-z])?)[^a-z]*$")
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "0123456789" * 3,
    "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
)


@functools.cache
def common_passwords() -> frozenset[str]:
    text = (
        resources.files("agentbus_auth.passwords") / "data" / "common-passwords.txt"
    ).read_text()
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line and not line.startswith("#")
    )


class PasswordPolicy:
    def __init__(self, *, min_length: int = 12, max_length: int = 1024) -> None:
        self.min_length = min_length
        self.max_length = max_length

    def enforce(
        self,
        password: str,
        *,
        email: str | None = None,
        display_name: str | None = None,
        field: str = "password",
    ) -> None:
        """Raise ``WeakPassword`` (422, with every reason) unless the policy accepts ``password``."""
        problems = self.problems(password, email=email, display_name=display_name)
        if problems:
            raise WeakPassword(problems, field=field)

    def problems(
        self, password: str, *, email: str | None = None, display_name: str | None = None
    ) -> list[str]:
        """Why ``password`` is refused (empty when it is acceptable)."""
        if len(password) < self.min_length:
            return [f"Use at least {self.min_length} characters."]
        if len(password) > self.max_length:
            return [f"Use at most {self.max_length} characters."]
        reasons = []
        if self._is_common(password):
            reasons.append("This password is too common (it appears in lists of leaked passwords).")
        elif self._is_repetitive(password):
            reasons.append("Avoid repeated characters and keyboard or alphabet sequences.")
        if self._contains_identity(password, email=email, display_name=display_name):
            reasons.append("Do not use your email address or name in the password.")
        return reasons

    @staticmethod
    def _is_common(password: str) -> bool:
        blocklist = common_passwords()
        lowered = password.lower()
        if lowered in blocklist:
            return True
        match = _WRAPPING.match(lowered)
        if match is None:
            return False
        core = match.group("core")
        return any(
            candidate in blocklist or _repeats_of_common(candidate, blocklist)
            for candidate in (core, core.translate(_LEET))
        )

    @staticmethod
    def _is_repetitive(password: str) -> bool:
        lowered = password.lower()
        if len(set(lowered)) <= 3:
            return True
        for period in range(1, len(lowered) // 2 + 1):
            if (
                len(lowered) % period == 0
                and lowered[:period] * (len(lowered) // period) == lowered
            ):
                return True
        return any(lowered in seq or lowered in seq[::-1] for seq in _SEQUENCES)

    @staticmethod
    def _contains_identity(password: str, *, email: str | None, display_name: str | None) -> bool:
        lowered = password.lower()
        parts: list[str] = []
        if email:
            local = email.lower().split("@", 1)[0]
            parts.append(local)
            parts.extend(re.split(r"[._+\-]", local))
        if display_name:
            parts.append(display_name.lower().replace(" ", ""))
            parts.extend(display_name.lower().split())
        return any(len(part) >= 4 and part in lowered for part in parts)


def _repeats_of_common(core: str, blocklist: frozenset[str]) -> bool:
    """``passwordpassword`` and ``dragondragon`` are as weak as their half."""
    for period in range(4, len(core) // 2 + 1):
        if len(core) % period == 0 and core[:period] * (len(core) // period) == core:
            return core[:period] in blocklist
    return False
