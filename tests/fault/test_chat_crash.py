"""kill -9 of chat while runs are in flight: every stream ends with an ``error`` frame, and a
plain ``POST /chat`` is answered 503 ``run_lost``.

Chat publishes frames fire-and-forget; a chat process that dies sends no terminal frame. The
gateway asks chat ``stream.status`` after ``GATEWAY_TUNING__SSE_RUN_CHECK`` seconds of silence; the
restarted chat finds nobody runs the stream any more, records the run ``interrupted``, and the
gateway ends the stream with ``error {code: run_lost}`` — long before the 300 s idle timeout.
A plain ``POST /chat`` is watched the same way while it waits for its reply, and is answered
503 ``run_lost`` long before its 120 s timeout — also one that waited in the dead replica for
a run slot (chat runs as many runs as there are streams + one here), which no replica knows
any more.
Afterwards chat serves again, and usage is recorded once per completed run, never twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from fault_support import STREAMS, FaultStack, ready_status, sign_up

from agentbus_shared.testing.waiting import eventually, in_thread

pytestmark = [pytest.mark.fault, pytest.mark.slow]


async def _stream(
    client: httpx.AsyncClient, headers: dict[str, str], message: str, frames: list[dict[str, Any]]
) -> float:
    """Read one chat stream to its end; return how long it took."""
    started = time.monotonic()
    async with client.stream(
        "POST", "/api/v1/chat/stream", json={"message": message}, headers=headers
    ) as response:
        assert response.status_code == 200, await response.aread()
        event = "message"
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                frames.append({"event": event, "data": json.loads(line.partition(":")[2])})
    return time.monotonic() - started


@pytest.mark.timeout(180)
async def test_streams_in_flight_end_with_an_error_frame_when_chat_dies(
    faults: FaultStack,
) -> None:
    stack = faults.stack
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60) as client:
        owner = await sign_up(client, "chat@example.com", "Chatty")
        tenant, bearer = owner.tenant_id, owner.headers

        frames: list[list[dict[str, Any]]] = [[] for _ in range(STREAMS)]
        streams = [
            asyncio.create_task(
                _stream(client, bearer, f"Tell me a long story, number {i}.", frames[i])
            )
            for i in range(STREAMS)
        ]
        await eventually(
            lambda: all(any(f["event"] == "delta" for f in got) for got in frames),
            what="every stream is under way",
            timeout=60,
        )
        # The streams hold all slots but one: one plain run takes it, the other waits for it.
        plain_run, queued_run = (
            asyncio.create_task(
                client.post("/api/v1/chat", json={"message": message}, headers=bearer)
            )
            for message in ("A long story, please.", "Another long story, please.")
        )
        running = (
            f"SELECT count(*) FROM chat.runs WHERE tenant_id = '{tenant}' AND status = 'running'"
        )
        await eventually(
            in_thread(lambda: faults.stack.psql(running) == [[str(STREAMS + 1)]]),
            what="the plain run is under way too",
            timeout=60,
        )
        assert not any(task.done() for task in [*streams, plain_run, queued_run]), (
            "a run finished first"
        )
        old_pid = faults.stack.kill("chat")
        killed_at = time.monotonic()

        async with asyncio.timeout(60):  # never a hang
            await asyncio.gather(*streams)
            lost = [await plain_run, await queued_run]
        ended_after = time.monotonic() - killed_at
        for answer in lost:
            assert answer.status_code == 503, answer.text
            assert answer.json()["code"] == "run_lost"
            assert answer.headers["retry-after"] == "1"
        for got in frames:
            assert got[-1]["event"] == "error", got[-1]
            assert got[-1]["data"]["code"] == "run_lost", got[-1]
            assert [f["event"] for f in got].count("error") == 1
        assert ended_after < 45, ended_after

        new_pid = await asyncio.to_thread(faults.stack.wait_restarted, "chat", old_pid)
        assert new_pid != old_pid

        # The lost runs are recorded as interrupted, none stays running.
        rows = faults.stack.psql(
            f"SELECT status, count(*) FROM chat.runs WHERE tenant_id = '{tenant}' GROUP BY status"
        )
        assert rows == [["interrupted", str(STREAMS + 1)]], rows

        # Chat serves again: a streamed run and a plain one complete.
        after: list[dict[str, Any]] = []
        await _stream(client, bearer, "Hello again", after)
        assert after[-1]["event"] == "final", after[-1]
        plain = await client.post("/api/v1/chat", json={"message": "Hi"}, headers=bearer)
        assert plain.status_code == 200, plain.text

    # Usage: once per completed run (two), never for a lost one, never twice.
    completed = {
        row[0]
        for row in faults.stack.psql(
            f"SELECT id FROM chat.runs WHERE tenant_id = '{tenant}' AND status = 'completed'"
        )
    }
    assert len(completed) == 2

    def usage_recorded() -> bool:
        rows = faults.stack.psql(
            f"SELECT event_id FROM billing.usage_records WHERE tenant_id = '{tenant}'"
        )
        return sorted(r[0] for r in rows) == sorted(completed)

    await eventually(
        in_thread(usage_recorded), what="billing recorded the usage of each completed run once"
    )
    assert ready_status(faults.service_url("chat")) == 200
