"""The checked-in AsyncAPI and OpenAPI documents are what the code generates today."""

from __future__ import annotations

import json

import pytest
from contract_support import ROOT, load_generator

pytestmark = [pytest.mark.contract, pytest.mark.timeout(300)]

generator = load_generator()


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
