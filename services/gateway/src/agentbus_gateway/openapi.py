"""What the OpenAPI document says beyond what FastAPI infers: errors, auth, scopes, limits.

Every operation lists its success statuses with the route's response model,
the problem responses it can give (``application/problem+json``), whether it
needs a bearer token and which scopes, and its rate group.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from agentbus_gateway.browser_sessions import cookie_mode_parameters, document_cookie_mode
from agentbus_gateway.problems import PROBLEM_STATUSES, Problem
from agentbus_shared.contracts.http import Route
from agentbus_shared.errors import PROBLEM_CONTENT_TYPE

BEARER = "bearerAuth"
REF = "#/components/schemas/{model}"


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {
            "description": PROBLEM_STATUSES.get(status, "Error"),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
        }
        for status in statuses
    }


def error_statuses(*, authenticated: bool, has_input: bool) -> tuple[int, ...]:
    """The problems a forwarded route may answer. Public routes too answer 401 (wrong
    credentials or tokens in the body), 403 (no membership) and 409 (a state conflict)."""
    statuses = [400, 401, 403, 404, 409, 413, 429, 503, 504]
    if has_input:
        statuses.append(422)
    return tuple(sorted(statuses))


def security(authenticated: bool) -> list[dict[str, list[str]]]:
    return [{BEARER: []}] if authenticated else []


def operation_docs(route: Route) -> dict[str, Any]:
    """``responses``, ``description`` and ``openapi_extra`` for a forwarded route."""
    authenticated = route.access != "public"
    responses: dict[int | str, dict[str, Any]] = {}
    for status in (route.status, *route.extra_statuses):
        if status == 204:
            responses[status] = {"description": "Done; no content"}
        elif route.response is not None:
            responses[status] = {"model": route.response, "description": "Success"}
        else:
            done = "Accepted" if status == 202 else "Done"
            responses[status] = {"description": f"{done}; no content"}
    has_input = bool(route.body or route.query or "{" in route.path)
    responses.update(
        problem_responses(
            *error_statuses(authenticated=authenticated, has_input=has_input), *route.extra_errors
        )
    )
    lines = [f"Forwarded to `{route.subject}`.", f"Rate group: `{route.rate_group}`."]
    if route.access == "user":
        lines.append("Needs a user's access token (not a service account's).")
    elif route.access == "principal":
        lines.append("Needs an access token of a user or a service account.")
    if route.scopes:
        lines.append("Scopes: " + ", ".join(f"`{s}`" for s in route.scopes) + ".")
    if route.feature:
        lines.append(
            f"Needs the tenant's plan to include `{route.feature}` "
            "(403 `feature_not_in_plan` otherwise)."
        )
    extra: dict[str, Any] = {"security": security(authenticated), "x-rate-group": route.rate_group}
    if route.scopes:
        extra["x-scopes"] = list(route.scopes)
    if route.feature:
        extra["x-feature"] = route.feature
    cookie_mode = cookie_mode_parameters(route)
    if cookie_mode:
        extra["parameters"] = cookie_mode
    if route.form_body and route.body is not None:
        ref = {"schema": {"$ref": REF.format(model=route.body.__name__)}}
        extra["requestBody"] = {
            "required": True,
            "content": {"application/json": ref, "application/x-www-form-urlencoded": ref},
        }
    return {"responses": responses, "description": "\n\n".join(lines), "openapi_extra": extra}


def _link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation_id, "description": description, "parameters": parameters}


def _body_link(operation_id: str, description: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"operationId": operation_id, "description": description, "requestBody": body}


_CONVERSATION = "$response.body#/conversation_id"
_FIRST_ID = "$response.body#/items/0/id"
_FIRST_MEMBER = "$response.body#/items/0/user_id"

LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("chat.chat", "200"): {
        "GetConversation": _link(
            "chat.conversations.get",
            "The conversation the message went to.",
            conversation_id=_CONVERSATION,
        ),
        "ListMessages": _link(
            "chat.conversations.messages", "Its messages.", conversation_id=_CONVERSATION
        ),
        "RenameConversation": _link(
            "chat.conversations.update", "Rename it.", conversation_id=_CONVERSATION
        ),
        "DeleteConversation": _link(
            "chat.conversations.delete", "Delete it.", conversation_id=_CONVERSATION
        ),
        "ContinueConversation": _body_link(
            "chat.chat", "Send the next message to it.", {"conversation_id": _CONVERSATION}
        ),
    },
    ("chat.stream", "200"): {
        "CancelStream": _link(
            "chat.stream.cancel", "Stop the run.", stream_id="$response.header.X-Stream-ID"
        ),
    },
    ("chat.conversations.list", "200"): {
        "GetConversation": _link(
            "chat.conversations.get", "The first listed.", conversation_id=_FIRST_ID
        ),
        "DeleteConversation": _link(
            "chat.conversations.delete", "Delete it.", conversation_id=_FIRST_ID
        ),
    },
    ("auth.service_accounts.create", "201"): {
        "RevokeServiceAccount": _link(
            "auth.service_accounts.revoke", "Revoke it.", service_account_id="$response.body#/id"
        ),
        "IssueToken": _body_link(
            "auth.oauth.token",
            "A token with its credentials (client credentials grant).",
            {
                "grant_type": "client_credentials",
                "client_id": "$response.body#/client_id",
                "client_secret": "$response.body#/client_secret",
            },
        ),
    },
    ("auth.sessions.list", "200"): {
        "RevokeSession": _link(
            "auth.sessions.revoke", "End the first listed.", session_id=_FIRST_ID
        ),
    },
    ("auth.tenants.members.list", "200"): {
        "UpdateMember": _link(
            "auth.tenants.members.update", "Change its role.", user_id=_FIRST_MEMBER
        ),
        "RemoveMember": _link("auth.tenants.members.remove", "Remove it.", user_id=_FIRST_MEMBER),
    },
    ("auth.register", "201"): {
        "Refresh": _body_link(
            "auth.refresh",
            "New tokens for the new session.",
            {"refresh_token": "$response.body#/tokens/refresh_token"},
        ),
    },
    ("auth.login", "200"): {
        "Refresh": _body_link(
            "auth.refresh", "New tokens.", {"refresh_token": "$response.body#/refresh_token"}
        ),
    },
    ("auth.refresh", "200"): {
        "Refresh": _body_link(
            "auth.refresh",
            "Refresh again (the spent refresh token is refused from now on).",
            {"refresh_token": "$response.body#/refresh_token"},
        ),
    },
}
"""OpenAPI ``links``: how an answer's ids feed later requests (clients and stateful tests)."""


def add_links(document: dict[str, Any]) -> None:
    """Attach :data:`LINKS` to the operations the document has (an app may mount a subset)."""
    by_id = {
        operation.get("operationId"): operation
        for item in document.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict)
    }
    for (operation_id, status), links in LINKS.items():
        response = by_id.get(operation_id, {}).get("responses", {}).get(status)
        present = {name: link for name, link in links.items() if link["operationId"] in by_id}
        if response is not None and present:
            response["links"] = present


def install_openapi(app: FastAPI, extra_models: Iterable[type[BaseModel]]) -> None:
    """Generate the document once, with the problem model, the bearer scheme and ``extra_models``
    (bodies FastAPI does not see, such as form-or-JSON ones) in its components."""
    models: list[type[BaseModel]] = [Problem, *extra_models]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        _, definitions = models_json_schema(
            [(model, "validation") for model in models], ref_template=REF
        )
        for name, schema in definitions.get("$defs", {}).items():
            schemas.setdefault(name, schema)
        components.setdefault("securitySchemes", {})[BEARER] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from POST /api/v1/auth/token (Ed25519-signed JWT).",
        }
        add_links(document)
        document_cookie_mode(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
