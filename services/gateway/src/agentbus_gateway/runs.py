"""Asking a service whether a run it was given still runs.

Both waits on a run (a streamed chat run, a plain ``POST /chat`` waiting for
its reply) use this to find out that the replica running it is gone: such a
run never sends its last frame or its reply.
"""

from __future__ import annotations

from pydantic import ValidationError

from agentbus_gateway.guard import Admission
from agentbus_shared.bus import RpcClient
from agentbus_shared.contracts.chat import StreamRef, StreamStatus
from agentbus_shared.errors import AgentbusError
from agentbus_shared.logging import get_logger

log = get_logger(__name__)

NOT_FOUND = "not_found"
"""No replica holds the run and none recorded it: not delivered yet, or lost undelivered."""


async def run_status(
    rpc: RpcClient,
    service: str,
    operation: str,
    run_id: str,
    admission: Admission,
    *,
    timeout: float,
) -> str | None:
    """The status ``service`` reports for ``run_id`` through ``operation`` (a
    ``StreamRef`` → ``StreamStatus`` operation); :data:`NOT_FOUND` when it knows no such
    run; None while it cannot tell (the service busy, restarting or away): ask again later."""
    try:
        reply = await rpc.call(
            service,
            operation,
            StreamRef(stream_id=run_id),
            principal=admission.principal,
            meta=admission.meta,
            timeout=timeout,
        )
        return StreamStatus.model_validate(reply.data).status
    except (AgentbusError, ValidationError) as exc:
        if isinstance(exc, AgentbusError) and exc.status == 404:
            return NOT_FOUND
        log.info("run.status_unknown", run_id=run_id, error=type(exc).__name__)
        return None
