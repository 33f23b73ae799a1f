"""Helpers of the fuzz suite: the operations and consumers the contracts declare, reply checks,
and the "still whole afterwards" check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nats
from pydantic import ValidationError

from agentbus_shared.contracts import AUTH_MODULES, activity, billing, chat, features, subjects
from agentbus_shared.errors import ErrorEnvelope
from agentbus_shared.testing.stack import Stack

SERVICES = ("auth", "chat", "billing")
OPERATOR = "ops@example.com"
WEBHOOK_SECRET = "fuzz-stripe-webhook-secret"


def contract_subjects() -> set[str]:
    """``rpc.<service>.v1.<operation>`` of every operation the contracts name, and every
    process's ``ping`` (the gateway's included)."""
    found = {subjects.rpc(name, "ping") for name in subjects.SERVICES}
    for contract in (*AUTH_MODULES, chat, billing, features, activity):
        operations = contract.Operation
        found |= {
            subjects.rpc(contract.SERVICE, value)
            for key, value in vars(operations).items()
            if key.isupper() and isinstance(value, str)
        }
    return found


def reply_problem(raw: bytes, *, success_allowed: bool) -> str | None:
    """What is wrong with an RPC reply to malformed input, or ``None``.

    It must be an envelope; an error must be a client error (4xx) with a valid body; data is
    accepted only where ``success_allowed`` (the operation ignores what was malformed).
    """
    try:
        envelope = json.loads(raw)
    except ValueError:
        return f"not JSON: {raw[:200]!r}"
    if not isinstance(envelope, dict):
        return f"not an envelope: {raw[:200]!r}"
    if "error" in envelope:
        try:
            error = ErrorEnvelope.model_validate(envelope).error
        except ValidationError as exc:
            return f"malformed error envelope {raw[:200]!r}: {exc}"
        if not 400 <= error.status < 500:
            return f"{error.status} {error.code}: {error.message}"
        return None
    if "data" in envelope and success_allowed:
        return None
    return f"answered without an error: {raw[:200]!r}"


def service_pids(stack: Stack) -> dict[str, int]:
    stack.refresh()
    return {name: int(info["pid"]) for name, info in stack.state["services"].items()}


async def pings(nats_url: str) -> dict[str, Any]:
    """Every process's ``ping`` over the bus."""
    client = await nats.connect(nats_url)
    try:
        answers = {}
        for name in subjects.SERVICES:
            reply = await client.request(subjects.rpc(name, "ping"), b"{}", timeout=5)
            answers[name] = json.loads(reply.data).get("data", {}).get("ok")
        return answers
    finally:
        await client.close()


def assert_still_whole(stack: Stack, pids_before: dict[str, int]) -> None:
    """No process died or was restarted, readiness is green, every process answers ping."""
    import asyncio

    assert service_pids(stack) == pids_before, "a service process was replaced"
    for name, pid in pids_before.items():
        assert Path(f"/proc/{pid}").exists(), f"{name} (pid {pid}) is gone"
    stack.wait_ready(timeout=30)
    answers = asyncio.run(pings(stack.state["urls"]["NATS_URL"]))
    assert answers == dict.fromkeys(subjects.SERVICES, True), answers
    for name in pids_before:
        crashed = [line for line in stack.log(name).splitlines() if "rpc.crashed" in line]
        assert not crashed, f"{name} crashed handling a request:\n" + "\n".join(crashed[:3])
