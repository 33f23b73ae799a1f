"""The public HTTP routes (API.md), declared as data next to each service's contract.

The gateway turns every :class:`Route` into an endpoint through one generic
path: authenticate as ``access`` says, check ``scopes``, rate-limit with
``rate_group``, merge path parameters, query and body into one payload,
request ``rpc.<service>.v1.<operation>`` and answer with the reply's data and
status (or ``status`` here). Routes that need more than forwarding (SSE,
Stripe intake, JWKS) are the gateway's own and do not appear here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

Access = Literal["public", "user", "principal"]
"""``public``: no token; ``user``: a user's access token; ``principal``: a user or a service account."""

RateGroup = Literal["strict", "anonymous", "authenticated", "operator"]
"""``strict``: login, register, password and MFA flows; ``anonymous``: other public routes."""


@dataclass(frozen=True)
class Route:
    method: Literal["GET", "POST", "PATCH", "PUT", "DELETE"]
    path: str
    service: str
    operation: str
    summary: str
    access: Access = "principal"
    scopes: tuple[str, ...] = ()
    body: type[BaseModel] | None = None
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
    watch: str | None = None
    """An operation of the same service that tells whether the request's run still runs.
    The gateway names the run (``run_ref`` in the payload) and, while the reply is pending,
    asks ``watch`` with ``{"stream_id": run_ref}`` after every ``GATEWAY_SSE_RUN_CHECK``
    seconds; a run found interrupted (its replica died) is answered 503 ``run_lost`` at once
    instead of after the whole timeout."""

    @property
    def subject(self) -> str:
        return f"rpc.{self.service}.v1.{self.operation}"
