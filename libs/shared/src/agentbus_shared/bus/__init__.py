"""The bus: one thin layer over FastStream's ``NatsBroker`` for RPC, events, streams and consumers."""

from agentbus_shared.bus.broker import make_broker
from agentbus_shared.bus.consumers import DurableConsumer, RetryPolicy
from agentbus_shared.bus.events import EventPublisher
from agentbus_shared.bus.rpc import (
    Access,
    CallerPrincipal,
    IncomingMessage,
    Meta,
    OptionalPrincipal,
    Reply,
    RpcClient,
    RpcReply,
    RpcRouter,
)
from agentbus_shared.bus.streams import apply_buckets, apply_streams, bind

__all__ = [
    "Access",
    "CallerPrincipal",
    "DurableConsumer",
    "EventPublisher",
    "IncomingMessage",
    "Meta",
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
