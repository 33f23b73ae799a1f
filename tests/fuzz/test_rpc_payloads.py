"""Malformed requests straight to every RPC subject: an error envelope each time, never a crash.

Every ``rpc.<service>.v1.<operation>`` the contracts name (and every process's ping) gets a
table of hand-made defects (not JSON, invalid UTF-8, deep nesting, NUL characters, huge
strings, wrong types, a forged or malformed principal header...) and bodies generated from a
fixed seed (random bytes, random JSON, the operation's own fields with wrong values). Every
request must be answered within the timeout by a client-error envelope (4xx) — data only where
the operation ignores the defect (it takes no body, or no principal) — and afterwards every
process is the same one, ready, and answering ping.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import nats
import pytest
from fuzz_support import (
    assert_still_whole,
    contract_subjects,
    reply_problem,
    service_pids,
)

from agentbus_shared.apidocs import RpcSignature, rpc_signatures
from agentbus_shared.bus import headers
from agentbus_shared.testing.checkout import api_docs_generator
from agentbus_shared.testing.stack import Stack

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(300)]

TIMEOUT = 10.0
"""Seconds an answer may take (the RPC layer itself answers in milliseconds)."""
CONCURRENCY = 24
SEED = 8
GENERATED_PER_OPERATION = 6

EVERY_SCOPE = [
    "conversations:read",
    "conversations:write",
    "conversations:delete",
    "billing:read",
    "billing:manage",
    "members:read",
    "members:manage",
    "service_accounts:manage",
    "tenant:read",
    "platform:operate",
]
FORGED = json.dumps(
    {
        "kind": "user",
        "subject": "usr_01JFUZZ0000000000000000000",
        "tenant_id": "t_01JFUZZ0000000000000000000",
        "roles": ["owner"],
        "scopes": EVERY_SCOPE,
    }
)
"""A well-formed principal of nobody: services answer for an empty tenant or refuse."""


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes
    headers: dict[str, str]
    decodable: bool
    """Valid JSON without NUL: an operation that takes no body may ignore it."""
    principal_ok: bool = True
    """The principal header (if any) is well formed: an operation may act on it."""
    may_be_valid: bool = False
    """It may happen to be a valid body (``{}``, generated fields): the operation may succeed."""


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def hand_cases() -> list[Case]:
    huge = "x" * 400_000
    undecodable = [
        ("not JSON", b"not json{", {}),
        ("not JSON, labelled JSON", b'{"a": ', {"content-type": "application/json"}),
        ("invalid UTF-8", b"\xff\xfe\xfd", {}),
        ("invalid UTF-8 labelled text", b"\xff\xfe", {"content-type": "text/plain"}),
        ("invalid UTF-8 inside a string", b'{"email": "\xc3\x28"}', {}),
        ("deep nesting", b"[" * 50_000 + b"]" * 50_000, {}),
        ("deep objects", _nested(200), {"content-type": "application/json"}),
        ("NUL escaped", b'{"email": "a\\u0000@example.com", "message": "\\u0000"}', {}),
        ("NUL in a key", b'{"\\u0000": 1}', {}),
        ("NUL raw", b'{"message": "\x00"}', {}),
        ("unpaired surrogate", b'{"message": "\\ud800", "code": "\\udfff"}', {}),
        ("truncated", b'{"message": "hello', {}),
        ("trailing garbage", b"{} {}", {}),
    ]
    decodable: list[tuple[str, Any]] = [
        ("empty body", b""),
        ("JSON null", None),
        ("JSON array", [1, "two", None]),
        ("JSON number", 42),
        ("JSON string", "hello"),
        ("JSON true", True),
        ("empty object", {}),
        ("unknown field", {"unknown": "field", "admin": True}),
        ("huge strings", {"email": huge, "message": huge[:100_000], "q": huge[:50_000]}),
        ("huge number", {"limit": 10**400, "message": 1e308}),
        ("wrong types", {"email": 1, "password": [], "message": {}, "limit": "x", "code": 7}),
        ("nested junk", {"message": {"a": [{"b": [[[]]]}]}, "cursor": [{"x": None}]}),
        (
            "other scripts' digits",
            {"code": "\u0661\u0662\u0663\u0664\u0665\u0666", "limit": "٣", "challenge_token": "٣"},
        ),
    ]
    cases = [Case(name, body, hdrs, decodable=False) for name, body, hdrs in undecodable]
    for name, value in decodable:
        body = value if isinstance(value, bytes) else json.dumps(value).encode()
        cases.append(Case(name, body, {}, True, may_be_valid=value in (b"", {})))
    principals = [
        ("principal not JSON", "nope", False),
        ("principal empty object", "{}", False),
        ("principal with wildcards", '{"subject": "*", "tenant_id": ">"}', False),
        ("principal path tricks", '{"subject": "../..", "tenant_id": "t_1/../x"}', False),
        (
            "principal of an unknown kind",
            '{"kind": "root", "subject": "u_1", "tenant_id": "t_1"}',
            False,
        ),
        (
            "principal with extra fields",
            '{"subject": "u_1", "tenant_id": "t_1", "admin": 1}',
            False,
        ),
        ("principal huge", json.dumps({"subject": "u_" + "A" * 60_000, "tenant_id": "t_1"}), False),
        ("forged principal of nobody", FORGED, True),
    ]
    for name, header, well_formed in principals:
        cases.append(
            Case(
                name,
                b"{}",
                {headers.PRINCIPAL: header},
                decodable=True,
                principal_ok=well_formed,
                may_be_valid=well_formed,
            )
        )
    return cases


def _junk_json(rng: random.Random, depth: int = 0) -> Any:
    kinds = ["int", "float", "str", "bool", "null"] + (["list", "dict"] if depth < 4 else [])
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice([0, -1, 2**63, -(2**64), rng.randint(-1000, 1000)])
    if kind == "float":
        return rng.choice([0.5, -1e300, 1e-300, rng.random()])
    if kind == "str":
        alphabet = "aZ09 _-.@/\\\"'<>{}[]$%é中🙂\u202e\ufeff٣"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "list":
        return [_junk_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {str(_junk_json(rng, 4)): _junk_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def generated_cases(signature: RpcSignature, rng: random.Random) -> Iterator[Case]:
    """Random bytes, random JSON, and the operation's own fields with random values."""
    fields = list(signature.request.model_fields) if signature.request else []
    for n in range(GENERATED_PER_OPERATION):
        if n % 3 == 0:
            body = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
            try:
                json.loads(body)
                decodable = b"\x00" not in body
            except ValueError:
                decodable = False
            yield Case(f"random bytes #{n}", body, {}, decodable=decodable)
        elif n % 3 == 1 or not fields:
            value = _junk_json(rng)
            yield Case(f"random JSON #{n}", json.dumps(value).encode(), {}, True, may_be_valid=True)
        else:
            value = {name: _junk_json(rng) for name in fields if rng.random() < 0.8}
            body = json.dumps(value).encode()
            yield Case(f"own fields, random values #{n}", body, {}, True, may_be_valid=True)


def takes_principal(signature: RpcSignature, runtimes: dict[str, Any]) -> bool:
    """Whether the handler reads the caller's principal (a malformed header is then refused)."""
    handler = runtimes[signature.service].rpc_router.handlers[signature.operation]
    return any("Principal" in str(p) for p in handler.__annotations__.values())


async def _send_all(
    nats_url: str, requests: list[tuple[str, Case, bool]]
) -> list[tuple[str, str, str]]:
    client = await nats.connect(nats_url, max_reconnect_attempts=3)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(subject: str, case: Case, success_allowed: bool) -> tuple[str, str, str] | None:
        async with gate:
            try:
                reply = await client.request(
                    subject, case.body, timeout=TIMEOUT, headers=case.headers or None
                )
            except Exception as exc:
                return subject, case.name, f"no answer: {exc!r}"
        problem = reply_problem(reply.data, success_allowed=success_allowed)
        return (subject, case.name, problem) if problem else None

    try:
        outcomes = await asyncio.gather(*(one(*request) for request in requests))
    finally:
        await client.close()
    return [outcome for outcome in outcomes if outcome]


def test_every_rpc_subject_answers_malformed_requests_with_client_errors(
    fuzz_stack: Stack,
) -> None:
    runtimes = api_docs_generator().build_runtimes()
    signatures: dict[str, RpcSignature] = {}
    for runtime in runtimes.values():
        signatures.update(rpc_signatures(runtime.rpc_router))
    # The list comes from the contracts; the running code must serve exactly that list.
    assert set(signatures) == contract_subjects()

    pids = service_pids(fuzz_stack)
    rng = random.Random(SEED)
    fixed = hand_cases()
    requests: list[tuple[str, Case, bool]] = []
    for subject in sorted(signatures):
        signature = signatures[subject]
        ignores_body = signature.request is None
        reads_principal = takes_principal(signature, runtimes)
        cases = [*fixed, *generated_cases(signature, rng)]
        # The body defects again with a well-formed principal: they reach the operation itself.
        cases += [
            Case(
                f"{c.name}, as nobody",
                c.body,
                {headers.PRINCIPAL: FORGED},
                c.decodable,
                may_be_valid=c.may_be_valid,
            )
            for c in cases
            if not c.headers
        ]
        for case in cases:
            success_allowed = (
                case.decodable
                and (ignores_body or case.may_be_valid)
                and (case.principal_ok or not reads_principal)
            )
            requests.append((subject, case, success_allowed))

    problems = asyncio.run(_send_all(fuzz_stack.state["urls"]["NATS_URL"], requests))

    assert not problems, f"{len(problems)} of {len(requests)} requests:\n" + "\n".join(
        f"{subject} [{case}]: {problem}" for subject, case, problem in problems[:40]
    )
    assert_still_whole(fuzz_stack, pids)
