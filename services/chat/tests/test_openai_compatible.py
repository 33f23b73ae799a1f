"""The openai_compatible backend over HTTP, against a stand-in speaking Chat Completions streaming.

The stand-in is a real HTTP server on a free port: it answers
``POST /v1/chat/completions`` with ``stream: true`` as an OpenAI-compatible
server (vLLM, Ollama, llama.cpp) does — ``chat.completion.chunk`` events over
SSE, tool calls in deltas, a usage chunk when ``stream_options.include_usage``
is asked for, then ``[DONE]``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from chat_support import ChatClient, FakeBilling, entitlements, running
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agentbus_chat.settings import ChatSettings
from agentbus_shared.servers import free_port

MODEL = "standin-7b"
USAGE = {"prompt_tokens": 40, "completion_tokens": 5, "total_tokens": 45}


def _chunk(
    delta: dict[str, Any] | None, finish: str | None = None, usage: dict[str, int] | None = None
) -> str:
    body: dict[str, Any] = {
        "id": "chatcmpl-standin",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage is not None:
        body["usage"] = usage
    return f"data: {json.dumps(body)}\n\n"


class StandIn:
    """Plays a model that routes to research, calls the calculator, then answers."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def script(self, body: dict[str, Any]) -> list[str]:
        last = body["messages"][-1]
        tools = [t["function"]["name"] for t in body.get("tools", [])]
        if last["role"] == "user" and "transfer_to_research" in tools:
            return self._call("transfer_to_research", {})
        if last["role"] == "tool" and "calculator" in tools and "= 42" not in str(last["content"]):
            return self._call("calculator", {"expression": "6 * 7"})
        words = ["The ", "answer ", "is ", "42."]
        return (
            [_chunk({"role": "assistant", "content": ""})]
            + [_chunk({"content": w}) for w in words]
            + [_chunk({}, "stop")]
        )

    @staticmethod
    def _call(name: str, arguments: dict[str, Any]) -> list[str]:
        return [
            _chunk(
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": f"call_{name}",
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ],
                }
            ),
            _chunk(
                {"tool_calls": [{"index": 0, "function": {"arguments": json.dumps(arguments)}}]}
            ),
            _chunk({}, "tool_calls"),
        ]

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        if not body.get("stream"):
            return JSONResponse(
                {"error": {"message": "this stand-in only streams"}}, status_code=400
            )
        chunks = self.script(body)
        if body.get("stream_options", {}).get("include_usage"):
            chunks.append(_chunk(None, usage=USAGE))

        async def sse() -> AsyncIterator[str]:
            for chunk in chunks:
                yield chunk
            yield "data: [DONE]\n\n"

        return StreamingResponse(sse(), media_type="text/event-stream")


@pytest.fixture
async def standin() -> AsyncIterator[tuple[StandIn, str]]:
    fake = StandIn()
    port = free_port()
    app = Starlette(routes=[Route("/v1/chat/completions", fake.completions, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    yield fake, f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    await task


async def test_openai_compatible_server_drives_handoffs_tools_and_streamed_text_with_usage(
    settings: ChatSettings,
    billing: FakeBilling,
    client: ChatClient,
    standin: tuple[StandIn, str],
) -> None:
    fake, base_url = standin
    billing.plans["t_alpha"] = entitlements("t_alpha", messages=None)  # with the research agent
    configured = settings.model_copy(update={"model_base_url": base_url, "model_name": MODEL})
    assert configured.resolved_backend() == "openai_compatible"

    async with running(configured):
        stream = await client.stream("Please work out six times seven")

    assert stream.of("handoff")[0].data == {"from": "triage", "to": "research"}
    (call,) = stream.of("tool_call")
    assert (call.data["name"], call.data["arguments"]) == ("calculator", {"expression": "6 * 7"})
    assert stream.of("tool_result")[0].data["output"] == "6 * 7 = 42"
    assert stream.text == "The answer is 42."
    final = stream.terminal
    assert final.event == "final"
    assert final.data["output"] == "The answer is 42."
    assert final.data["agent"] == "research"
    assert final.data["usage"] == {
        "input_tokens": 3 * USAGE["prompt_tokens"],
        "output_tokens": 3 * USAGE["completion_tokens"],
    }
    assert len(fake.requests) == 3
    first = fake.requests[0]
    assert first["model"] == MODEL
    assert first["stream_options"] == {"include_usage": True}
    assert first["messages"][0]["role"] == "system"
    assert first["messages"][-1] == {"role": "user", "content": "Please work out six times seven"}
    assert {t["function"]["name"] for t in first["tools"]} == {
        "current_time",
        "transfer_to_support",
        "transfer_to_billing",
        "transfer_to_research",
    }


async def test_a_model_server_that_fails_ends_the_stream_with_an_error_frame(
    settings: ChatSettings, billing: FakeBilling, client: ChatClient
) -> None:
    configured = settings.model_copy(
        update={"model_base_url": f"http://127.0.0.1:{free_port()}/v1", "model_name": MODEL}
    ).tuned(model_timeout=2.0, model_max_retries=0)

    async with running(configured):
        stream = await client.stream("Hello!")

    assert stream.terminal.event == "error"
    assert stream.terminal.data["code"] == "model_unavailable"
