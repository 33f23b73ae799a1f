"""Types every service speaks: the caller's principal, request metadata, pages, scopes, roles."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from agentbus_shared.errors import Forbidden, Unauthorized

_PASSWORD = StringConstraints(min_length=1, max_length=1024)
_ONE_TIME_CODE = StringConstraints(min_length=4, max_length=64)
Password = Annotated[str, _PASSWORD, Field(repr=False)]
"""A password as a field: plain ``str`` so it crosses the bus intact (``SecretStr`` would
serialise to stars), yet never in a repr or log line."""
OneTimeCode = Annotated[str, _ONE_TIME_CODE, Field(repr=False)]
"""A mailed, TOTP or recovery code as a field (never in a repr or log line)."""
OptionalPassword = Annotated[Annotated[str, _PASSWORD] | None, Field(repr=False)]
"""A :data:`Password` a request may leave out (``repr`` is not carried into a union's member)."""
OptionalOneTimeCode = Annotated[Annotated[str, _ONE_TIME_CODE] | None, Field(repr=False)]
"""A :data:`OneTimeCode` a request may leave out."""

T = TypeVar("T")


class Contract(BaseModel):
    """Base of every message body: unknown fields are rejected, so typos fail loudly."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(StrEnum):
    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    CONVERSATIONS_DELETE = "conversations:delete"
    BILLING_READ = "billing:read"
    BILLING_MANAGE = "billing:manage"
    MEMBERS_READ = "members:read"
    MEMBERS_MANAGE = "members:manage"
    SERVICE_ACCOUNTS_MANAGE = "service_accounts:manage"
    TENANT_READ = "tenant:read"
    PLATFORM_OPERATE = "platform:operate"


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


PrincipalKind = Literal["user", "service_account"]

ID_PATTERN = r"^[a-z]{1,8}_[A-Za-z0-9]{1,64}$"
"""A prefixed identifier (``usr_01J…``, ``t_01J…``; see :mod:`agentbus_shared.ids`): safe as a
subject token and a key, so a forged header cannot carry dots, wildcards or path tricks."""


class Principal(Contract):
    """Who is calling, as verified by the gateway from the access token.

    Travels with every RPC in the ``ab-principal`` header. Services authorize on
    it and scope every repository query by ``tenant_id``.
    """

    kind: PrincipalKind = "user"
    subject: str = Field(
        pattern=ID_PATTERN,
        description="user id, or service account id for kind=service_account",
    )
    tenant_id: str = Field(pattern=ID_PATTERN)
    roles: tuple[str, ...] = ()
    scopes: frozenset[str] = frozenset()
    session_id: str | None = Field(None, pattern=ID_PATTERN)
    token_id: str | None = Field(None, pattern=ID_PATTERN)

    @property
    def user_id(self) -> str:
        """The user behind the call; refuses service accounts where a person is needed."""
        if self.kind != "user":
            raise Forbidden("This operation needs a user, not a service account.")
        return self.subject

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    def require(self, *scopes: str) -> None:
        missing = [s for s in scopes if s not in self.scopes]
        if missing:
            raise Forbidden(
                "Missing scope: " + " ".join(missing), details={"missing_scopes": missing}
            )


def require_principal(principal: Principal | None) -> Principal:
    if principal is None:
        raise Unauthorized()
    return principal


class RequestMeta(Contract):
    """Where a request came from, for audit, throttling and log correlation."""

    request_id: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None


class PageQuery(Contract):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=512)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class Empty(Contract):
    """A request or reply without fields."""


class Ping(Contract):
    service: str
    instance: str
    ok: bool = True
