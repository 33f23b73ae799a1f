"""The bus: one thin layer over FastStream's ``NatsBroker`` for RPC, events, streams and consumers."""

from agentbus_shared.bus.broker import make_broker
from agentbus_shared.bus.consumers import DurableConsumer, RetryPolicy
from agentbus_shared.bus.events import EventPublisher
from agentbus_shared.bus.rpc import (
    CallerPrincipal,
    IncomingMessage,
    Meta,
    OperationAccess,
    OptionalPrincipal,
    Reply,
    RpcClient,
    RpcReply,
    RpcRouter,
)
from agentbus_shared.bus.streams import apply_buckets, apply_streams, bind

__all__ = [
    "CallerPrincipal",
    "DurableConsumer",
    "EventPublisher",
    "IncomingMessage",
    "Meta",
    "OperationAccess",
    "OptionalPrincipal",
    "Reply",
    "RetryPolicy",
    "RpcClient",
    "RpcReply",
    "RpcRouter",
    "apply_buckets",
    "apply_streams",
    "bind",
    "make_broker",
]
