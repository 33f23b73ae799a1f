"""Recording an accepted run: its conversation (claimed, or created), the run row and the user's
message, in one transaction (none for a tenant whose chat data was deleted)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from agentbus_chat.conversations import repository as conversations
from agentbus_chat.conversations.repository import Owner
from agentbus_chat.conversations.service import title_from
from agentbus_chat.errors import ConversationBusy, ConversationNotFound, StreamExists
from agentbus_chat.models import processed_events
from agentbus_chat.runs import repository as runs
from agentbus_chat.runs.outcome import AcceptedRun
from agentbus_chat.runs.registry import LiveRun
from agentbus_shared.contracts.chat import ChatRequest
from agentbus_shared.contracts.common import Principal
from agentbus_shared.contracts.features import FeatureSet
from agentbus_shared.db import Database
from agentbus_shared.db.tenant_deletion import tenant_data_deleted
from agentbus_shared.errors import TenantSuspended


@dataclass(frozen=True)
class RunStart:
    """How an accepted run starts: on which replica, holding its conversation's lease how long,
    with which agent, within which of the tenant's features."""

    instance: str
    lease_seconds: float
    agent: str
    features: FeatureSet


async def record_start(
    db: Database, principal: Principal, request: ChatRequest, live: LiveRun, start: RunStart
) -> AcceptedRun:
    """The run recorded; ``ConversationNotFound``/``ConversationBusy`` for a conversation not the
    caller's or written into by another run, ``StreamExists`` for a stream id already taken,
    ``TenantSuspended`` for a tenant whose data was deleted (a request admitted just before)."""
    owner = Owner.of(principal)
    try:
        async with db.transaction() as session:
            if await tenant_data_deleted(session, processed_events, owner.tenant_id):
                raise TenantSuspended()
            if request.conversation_id:
                conversation_id = request.conversation_id
                claimed = await conversations.claim_lease(
                    session, owner, conversation_id, live.run_id, start.lease_seconds
                )
                if not claimed:
                    if await conversations.by_id(session, owner, conversation_id) is None:
                        raise ConversationNotFound()
                    raise ConversationBusy(retry_after=1)
            else:
                conversation_id = await conversations.create(
                    session,
                    owner,
                    title=title_from(request.message),
                    run_id=live.run_id,
                    lease_seconds=start.lease_seconds,
                )
            await runs.start(
                session,
                owner,
                run_id=live.run_id,
                conversation_id=conversation_id,
                stream_id=live.stream_id,
                agent=start.agent,
                instance=start.instance,
            )
            message_id = await conversations.add_message(
                session,
                owner,
                conversation_id,
                role="user",
                content=request.message,
                run_id=live.run_id,
            )
    except IntegrityError:
        raise StreamExists() from None
    return AcceptedRun(
        run_id=live.run_id,
        principal=principal,
        conversation_id=conversation_id,
        agent=start.agent,
        message=request.message,
        user_message_id=message_id,
        stream_id=live.stream_id,
        features=start.features,
    )
