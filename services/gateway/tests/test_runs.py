"""The run-lost policy: the one rule a waiting request and a silent stream share."""

from __future__ import annotations

from typing import cast

import pytest

from agentbus_gateway.guard import Admission
from agentbus_gateway.runs import RunWatch
from agentbus_shared.bus import RpcClient, RpcReply
from agentbus_shared.contracts.chat import StreamRef
from agentbus_shared.contracts.common import RequestMeta
from agentbus_shared.errors import AgentbusError, NotFound, ServiceUnavailable

GONE = NotFound("no such run")
AWAY = ServiceUnavailable("chat is restarting")


class ChatStatus:
    """Answers ``stream.status`` with ``answers`` in turn: a run status, or an error."""

    def __init__(self, answers: list[str | AgentbusError]) -> None:
        self._answers = answers

    async def call(self, service: str, operation: str, payload: StreamRef, **_: object) -> RpcReply:
        answer = self._answers.pop(0)
        if isinstance(answer, AgentbusError):
            raise answer
        return RpcReply({"stream_id": payload.stream_id, "status": answer})


def watch(*answers: str | AgentbusError) -> RunWatch:
    admission = Admission(principal=None, meta=RequestMeta(), rate_headers={})
    rpc = cast(RpcClient, ChatStatus(list(answers)))
    return RunWatch(rpc, admission, "run_0123456789", run_check=1, rpc_timeout=5)


@pytest.mark.parametrize(
    ("answers", "lost"),
    [
        (["interrupted"], [True]),
        (["running", "running", "running", "running"], [False, False, False, False]),
        ([GONE, GONE, GONE], [False, False, True]),
        (["completed", "failed", "cancelled"], [False, False, True]),
        ([GONE, "running", GONE, GONE], [False, False, False, False]),
        ([GONE, AWAY, GONE, AWAY, GONE], [False, False, False, False, True]),
    ],
    ids=[
        "interrupted-at-once",
        "running-never",
        "missing-three-checks-in-a-row",
        "finished-yet-awaited-three-checks-in-a-row",
        "running-starts-the-count-again",
        "cannot-tell-leaves-the-count",
    ],
)
async def test_a_run_is_lost_by_one_rule(
    answers: list[str | AgentbusError], lost: list[bool]
) -> None:
    run = watch(*answers)
    assert [await run.lost() for _ in answers] == lost


async def test_a_silent_stream_whose_run_is_lost_ends_with_run_lost() -> None:
    run = watch("running", "interrupted")
    assert await run.silence() is None
    ending = await run.silence()
    assert ending is not None
    assert ending.event == "error"
    assert ending.data["code"] == "run_lost"
