"""The checked-in AsyncAPI and OpenAPI documents are what the code generates today."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest

from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.events import registered_events
from agentbus_shared.testing.checkout import ROOT, api_docs_generator

pytestmark = [pytest.mark.contract, pytest.mark.timeout(300)]

generator = api_docs_generator()


@pytest.fixture(scope="module")
def documents() -> dict:  # type: ignore[type-arg]
    return generator.generate()


def test_checked_in_api_documents_match_the_code(documents: dict) -> None:  # type: ignore[type-arg]
    stale = generator.drifted(documents, ROOT)
    assert not stale, (
        f"{', '.join(map(str, stale))} differ from what the code generates: "
        f"run `{generator.COMMAND}` and commit the result"
    )


def test_every_service_documents_its_operations_and_publications(documents: dict) -> None:  # type: ignore[type-arg]
    for service in ("auth", "chat", "billing"):
        document = json.loads(documents[generator.Path(f"docs/asyncapi/{service}.json")])
        actions = {op["action"] for op in document["operations"].values()}
        assert actions == {"send", "receive"}, service
        replies = [op for op in document["operations"].values() if "reply" in op]
        assert replies, f"{service}: no RPC operation documents its reply"
    openapi = json.loads(documents[generator.Path("docs/openapi/gateway.json")])
    assert "/api/v1/auth/register" in openapi["paths"]


def test_generation_is_deterministic(documents: dict) -> None:  # type: ignore[type-arg]
    assert generator.generate() == documents


def test_every_consumer_reads_the_events_its_subject_carries(documents: dict) -> None:  # type: ignore[type-arg]
    """A durable consumer's handler model is the event type of its filter subject, and some
    service documents publishing that event."""
    by_name = {data.__name__: data for data in registered_events().values()}
    docs = {
        path.stem: json.loads(text)
        for path, text in documents.items()
        if path.parent.name == "asyncapi"
    }
    published = {
        channel["bindings"]["nats"]["subject"]
        for document in docs.values()
        for name, operation in document["operations"].items()
        if operation["action"] == "send"
        for channel in [document["channels"][name]]
    }
    consumed = 0
    for service, document in docs.items():
        for name, operation in document["operations"].items():
            channel = document["channels"][name]
            if operation["action"] != "receive" or name.startswith("rpc."):
                continue
            (message,) = channel["messages"].values()
            payload = document["components"]["messages"][message["$ref"].rsplit("/", 1)[-1]]
            model = unquote(payload["payload"].get("$ref", "").rsplit("/", 1)[-1])
            if not model.startswith("CloudEvent["):
                continue  # raw Stripe events: checked on the bus by test_bus_contracts
            data = by_name[model.removeprefix("CloudEvent[").removesuffix("]")]
            subject = channel["bindings"]["nats"]["subject"]
            assert subject == data.filter_subject(), (service, name, subject, data)
            owner_subject = subjects.events_of(data.service, data.event_type, "{tenant_id}")
            assert owner_subject in published, (service, name, "nobody publishes", data)
            consumed += 1
    assert consumed >= 4
