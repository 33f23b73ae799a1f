"""Roles and the scopes they grant; who may change whose role."""

from __future__ import annotations

from agentbus_shared.contracts.common import Role, Scope

_VIEWER = frozenset(
    {Scope.CONVERSATIONS_READ, Scope.MEMBERS_READ, Scope.TENANT_READ, Scope.BILLING_READ}
)
_MEMBER = _VIEWER | {Scope.CONVERSATIONS_WRITE, Scope.CONVERSATIONS_DELETE}
_ADMIN = _MEMBER | {Scope.MEMBERS_MANAGE, Scope.SERVICE_ACCOUNTS_MANAGE, Scope.BILLING_MANAGE}

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.VIEWER: _VIEWER,
    Role.MEMBER: _MEMBER,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _ADMIN,
}
"""Owners and admins hold the same scopes; only an owner may grant, change or remove ``owner``."""

SERVICE_ACCOUNT_FORBIDDEN = frozenset({Scope.PLATFORM_OPERATE})
"""Scopes a service account can never hold, whoever creates it."""


class Grants:
    """Turns a membership into scopes; ``platform:operate`` only for the configured operators."""

    def __init__(self, operator_emails: frozenset[str]) -> None:
        self._operators = operator_emails

    def is_operator(self, email: str, *, email_verified: bool) -> bool:
        # A verified address only: anyone could register an operator's email before they do.
        return email_verified and email.lower() in self._operators

    def scopes(self, role: Role | str, *, email: str, email_verified: bool) -> list[str]:
        granted = set(ROLE_SCOPES[Role(role)])
        if self.is_operator(email, email_verified=email_verified):
            granted.add(Scope.PLATFORM_OPERATE)
        return sorted(str(s) for s in granted)
