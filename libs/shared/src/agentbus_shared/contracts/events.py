"""Domain events as CloudEvents 1.0 (structured JSON mode).

An event's data is a :class:`EventData` subclass that names its owning service
and type; :func:`make_event` wraps it in the envelope with a fresh id and time.
The subject it travels on is ``events.<service>.<tenant_id>.<type>`` and its
``Nats-Msg-Id`` is the event id, so a retried publish is stored once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from agentbus_shared.contracts import subjects
from agentbus_shared.ids import new_id

SPEC_VERSION = "1.0"
TYPE_PREFIX = "dev.agentbus"

_REGISTRY: dict[str, type[EventData]] = {}


class EventData(BaseModel):
    """Payload of one kind of domain event. Subclasses set ``service`` and ``event_type``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    service: ClassVar[str]
    event_type: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" in cls.__dict__:
            _REGISTRY[cls.cloud_type()] = cls

    @classmethod
    def cloud_type(cls) -> str:
        return f"{TYPE_PREFIX}.{cls.service}.{cls.event_type}"

    @classmethod
    def filter_subject(cls, tenant_id: str = "*") -> str:
        return subjects.events_of(cls.service, cls.event_type, tenant_id)


D = TypeVar("D", bound=BaseModel)
E = TypeVar("E", bound=EventData)


class CloudEvent(BaseModel, Generic[D]):
    """The CloudEvents 1.0 envelope. ``tenantid`` is our extension attribute."""

    model_config = ConfigDict(frozen=True)

    specversion: str = SPEC_VERSION
    id: str
    source: str
    type: str
    time: datetime
    subject: str | None = None
    tenantid: str
    datacontenttype: str = "application/json"
    data: D

    @property
    def nats_subject(self) -> str:
        service, event_type = _split_type(self.type)
        return subjects.event(service, self.tenantid, event_type)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def parse(cls, raw: bytes | str | dict[str, Any]) -> Self:
        if isinstance(raw, dict):
            return cls.model_validate(raw)
        return cls.model_validate_json(raw)


def make_event(
    data: E,
    *,
    tenant_id: str,
    subject: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent[E]:
    """Wrap ``data`` in a CloudEvent. Pass ``event_id`` to make a retried emit idempotent."""
    # Typed by the concrete class: a CloudEvent[EventData] would serialise ``data`` as {}.
    envelope: type[CloudEvent[E]] = CloudEvent[type(data)]  # type: ignore[misc,assignment]
    return envelope(
        id=event_id or new_id("evt"),
        source=f"agentbus/{data.service}",
        type=data.cloud_type(),
        time=time or datetime.now(UTC),
        subject=subject,
        tenantid=tenant_id,
        data=data,
    )


def event_class(cloud_type: str) -> type[EventData] | None:
    return _REGISTRY.get(cloud_type)


def registered_events() -> dict[str, type[EventData]]:
    return dict(_REGISTRY)


def parse_event(raw: bytes | str | dict[str, Any], data_type: type[D]) -> CloudEvent[D]:
    """Parse an envelope whose data must be ``data_type`` (raises ``ValidationError`` otherwise)."""
    return CloudEvent[data_type].parse(raw)  # type: ignore[valid-type]


def _split_type(cloud_type: str) -> tuple[str, str]:
    prefix = TYPE_PREFIX + "."
    if not cloud_type.startswith(prefix):
        raise ValueError(f"not an Agentbus event type: {cloud_type}")
    service, _, event_type = cloud_type[len(prefix) :].partition(".")
    return service, event_type


class EventRef(BaseModel):
    """Minimal view of any envelope: enough to route, dedupe and log it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    type: str
    tenantid: str
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
