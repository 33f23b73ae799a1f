"""The public HTTP routes (API.md), declared as data next to each service's contract.

The gateway turns every :class:`Route` into an endpoint through one generic
path: authenticate as ``access`` says, check ``scopes``, rate-limit with
``rate_group``, merge path parameters, query and body into one payload,
request ``rpc.<service>.v1.<operation>`` and answer with the reply's data and
status (or ``status`` here). Routes that need more than forwarding (SSE,
Stripe intake, JWKS) are the gateway's own and do not appear here. Each service
declares its routes through a :class:`RouteTable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypedDict, Unpack, get_args

from pydantic import BaseModel

Access = Literal["public", "user", "principal"]
"""``public``: no token; ``user``: a user's access token; ``principal``: a user or a service account."""

RateGroup = Literal["strict", "anonymous", "authenticated", "operator"]
"""``strict``: login, register, password and MFA flows; ``anonymous``: other public routes."""

GatewayRateGroup = Literal["edge", "webhooks"]
"""Rate groups of the gateway's own routes: ``edge`` health, readiness and JWKS; ``webhooks``
the Stripe intake."""

RATE_GROUPS: tuple[str, ...] = (*get_args(RateGroup), *get_args(GatewayRateGroup))
"""Every rate group the gateway's quotas (``GATEWAY_TUNING__RATE_LIMITS``) know."""

Method = Literal["GET", "POST", "PATCH", "PUT", "DELETE"]


@dataclass(frozen=True)
class Route:
    method: Method
    path: str
    service: str
    operation: str
    summary: str
    access: Access = "principal"
    scopes: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
    optional_body: bool = False
    """The body may be left out: the operation then gets an empty payload (the body model's
    defaults), as clients that predate the body send it."""
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    rate_group: RateGroup = "authenticated"
    timeout: float | None = None
    form_body: bool = False
    """Also accept ``application/x-www-form-urlencoded`` (OAuth token endpoint)."""
    tags: tuple[str, ...] = ()
    extra_statuses: tuple[int, ...] = ()
    """Success statuses besides ``status`` the operation may answer (e.g. 202 for an MFA challenge)."""
    extra_errors: tuple[int, ...] = ()
    """Error statuses besides the ones every forwarded route may answer (e.g. 402 for a plan
    that does not include the request)."""
    ends_session: bool = False
    """Success ends the caller's session: the gateway refuses its access tokens from then on,
    without waiting for the revocation event (logout)."""
    starts_chat_run: bool = False
    """The request runs an agent in chat and waits for its reply: the gateway names the run
    and answers 503 ``run_lost`` as soon as the run's replica is found lost."""
    changes_tenant_status: bool = False
    """Success changes a tenant's lifecycle status (an operator's suspend, reactivate or
    deprovision): the gateway applies the answer's ``id`` and ``status`` before it answers, so
    the tenant's very next request meets the change, without waiting for the event."""
    feature: str | None = None
    """A feature (``contracts.features.Feature``) the caller's tenant must have: the gateway
    refuses the route with 403 ``feature_not_in_plan`` otherwise, from the ENTITLEMENTS bucket."""

    @property
    def subject(self) -> str:
        return f"rpc.{self.service}.v1.{self.operation}"


class RouteOptions(TypedDict, total=False):
    """The optional fields of a :class:`Route`, as a :class:`RouteTable` method takes them."""

    access: Access
    scopes: tuple[str, ...]
    body: type[BaseModel] | None
    optional_body: bool
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    rate_group: RateGroup
    timeout: float | None
    form_body: bool
    extra_statuses: tuple[int, ...]
    extra_errors: tuple[int, ...]
    ends_session: bool
    starts_chat_run: bool
    changes_tenant_status: bool
    feature: str | None


@dataclass(frozen=True)
class RouteTable:
    """Declares one service's routes under a common path prefix and tags:
    ``routes.post("/register", Operation.REGISTER, "Create a tenant", status=201)``."""

    service: str
    prefix: str
    tags: tuple[str, ...]

    def get(
        self, path: str, operation: str, summary: str, **options: Unpack[RouteOptions]
    ) -> Route:
        return self.route("GET", path, operation, summary, **options)

    def post(
        self, path: str, operation: str, summary: str, **options: Unpack[RouteOptions]
    ) -> Route:
        return self.route("POST", path, operation, summary, **options)

    def patch(
        self, path: str, operation: str, summary: str, **options: Unpack[RouteOptions]
    ) -> Route:
        return self.route("PATCH", path, operation, summary, **options)

    def delete(
        self, path: str, operation: str, summary: str, **options: Unpack[RouteOptions]
    ) -> Route:
        return self.route("DELETE", path, operation, summary, **options)

    def put(
        self, path: str, operation: str, summary: str, **options: Unpack[RouteOptions]
    ) -> Route:
        return self.route("PUT", path, operation, summary, **options)

    def route(
        self,
        method: Method,
        path: str,
        operation: str,
        summary: str,
        **options: Unpack[RouteOptions],
    ) -> Route:
        """The route ``method`` ``prefix + path`` forwarded to ``operation`` of the service."""
        return Route(
            method=method,
            path=f"{self.prefix}{path}",
            service=self.service,
            operation=operation,
            summary=summary,
            tags=self.tags,
            **options,
        )
