"""Generated AsyncAPI documents and RPC signatures, read from a service as built."""

from __future__ import annotations

import json
from typing import get_args

from agentbus_shared.apidocs import (
    Publication,
    asyncapi_document,
    event_publications,
    render,
    rpc_signatures,
)
from agentbus_shared.bus import CallerPrincipal, Meta, Reply
from agentbus_shared.contracts.auth import LoginCommand, MfaChallenge, TokenPair
from agentbus_shared.contracts.common import Page, Role
from agentbus_shared.contracts.events import make_event, parse_event, registered_events
from agentbus_shared.contracts.tenants import MemberChanged, TenantCreated
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.settings import ServiceSettings


def runtime_with_login() -> ServiceRuntime:
    runtime = ServiceRuntime("auth", ServiceSettings(), configure_process=False)

    @runtime.rpc_router.operation("login", description="Log in.")
    async def login(cmd: LoginCommand, meta: Meta) -> TokenPair | Reply[MfaChallenge]:
        raise NotImplementedError

    @runtime.rpc_router.operation("sessions.list")
    async def sessions(principal: CallerPrincipal) -> Page[TokenPair]:
        raise NotImplementedError

    return runtime


def test_rpc_signatures_read_the_body_and_reply_from_the_handler() -> None:
    signatures = rpc_signatures(runtime_with_login().rpc_router)
    login = signatures["rpc.auth.v1.login"]
    assert login.request is LoginCommand
    assert login.reply == TokenPair | MfaChallenge
    listed = signatures["rpc.auth.v1.sessions.list"]
    assert (listed.request, listed.reply) == (None, Page[TokenPair])
    assert signatures["rpc.auth.v1.ping"].request is None


def test_the_document_lists_requests_replies_and_publications() -> None:
    document = asyncapi_document(
        runtime_with_login(),
        title="Agentbus auth",
        version="1",
        publications=[
            *event_publications("auth"),
            Publication("auth.extra.{x}", dict[str, str], "extra", "something else"),
        ],
    )
    operations = document["operations"]
    login = operations["rpc.auth.v1.login"]
    assert login["action"] == "receive"
    reply = document["components"]["messages"]["rpc.auth.v1.login:ReplyMessage"]["payload"]
    success, failure = reply["oneOf"]
    assert {s["$ref"] for s in success["properties"]["data"]["anyOf"]} == {
        "#/components/schemas/TokenPair",
        "#/components/schemas/MfaChallenge",
    }
    assert failure["properties"]["error"] == {"$ref": "#/components/schemas/ErrorBody"}
    sent = {name for name, op in operations.items() if op["action"] == "send"}
    assert {TenantCreated.cloud_type(), "extra"} <= sent
    assert document["servers"]["development"]["host"] == "localhost:4222"


def test_rendering_is_stable() -> None:
    text = render({"b": 1, "a": {"d": 2, "c": 3}})
    assert text == json.dumps({"a": {"c": 3, "d": 2}, "b": 1}, indent=2) + "\n"


def test_a_member_removal_event_reaches_consumers_without_a_role() -> None:
    removed = MemberChanged(tenant_id="t_1", user_id="u_1", role=None, changed_by="u_2")
    raw = make_event(removed, tenant_id="t_1").to_bytes()
    assert "role" not in json.loads(raw)["data"]
    assert parse_event(raw, MemberChanged).data.role is None
    changed = make_event(removed.model_copy(update={"role": Role.ADMIN}), tenant_id="t_1")
    assert parse_event(changed.to_bytes(), MemberChanged).data.role is Role.ADMIN


def test_every_optional_event_field_has_a_default() -> None:
    """Envelopes leave out None fields, so an optional field without a default cannot be read."""
    required_optional = [
        f"{cloud_type}.{name}"
        for cloud_type, data in registered_events().items()
        for name, field in data.model_fields.items()
        if field.is_required() and type(None) in get_args(field.annotation)
    ]
    assert not required_optional
