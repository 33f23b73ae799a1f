"""Who may publish and subscribe what on the bus, derived from the contracts and the services' code.

One source for every NATS server Agentbus runs: the deployed ``accounts.conf`` (Compose and
Kubernetes) is rendered from here and checked in (a drift test compares them), and the dev
stack and the test fixtures render the same users and permissions for the servers they start.

Each service's rights come from what it declares and does:

- it serves ``rpc.<service>.v1.>`` and answers a request only on its reply subject, once,
  for as long as the longest caller waits (``allow_responses`` with :func:`reply_window`:
  nats-server's default, two minutes, is shorter than a billing replay); its own replies
  arrive on ``_INBOX_<service>.>``, the only inbox it may read; it calls exactly the other
  services' operations its source calls
  (``….rpc.call/request(<service>, <operation>)``); the gateway, the edge, publishes every
  ``rpc.*.v1.>``;
- it writes the streams it owns or is a writer of (:data:`~agentbus_shared.contracts.streams.STREAMS`),
  its own dead letters ``dlq.<service>.>``, and the buckets it owns;
- its core subscriptions and publications (:data:`~agentbus_shared.contracts.subjects.CORE_FLOWS`);
- the JetStream API only for its own streams and buckets (info, create, update, consumers,
  direct get) and for the durable consumers its source declares on others' streams
  (``DurableConsumer(service=…, name=…, stream=…, subject=…)``): created only with their own
  filter subject, pulled and acked.

The ``ops`` user (``agentbus streams apply``, operators) keeps the whole JetStream API and no
application subject (and NATS's default inbox ``_INBOX.>``). Passwords are
``$NATS_<USER>_PASSWORD`` environment variables of the server.

An upgrade from a release whose services read and wrote ``_INBOX.>`` goes through
:func:`transitional_accounts` (docs/runbooks/upgrade-bus-inboxes.md): the old and the new pods
both get their replies while the services roll, then the final file takes the old rights away.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from agentbus_shared import contracts, manifest
from agentbus_shared.bus.uses import consumers, rpc_calls
from agentbus_shared.contracts import streams as stream_contracts
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.http import Route
from agentbus_shared.contracts.streams import BUCKETS, STREAMS, BucketSpec, StreamSpec
from agentbus_shared.settings import ServiceTuning

GATEWAY = "gateway"
OPS = "ops"
SYS = "sys"
HARNESS = "harness"
"""The dev and test stacks' own user (every right) for tools and test code standing in for the
world outside the services; never in the deployed configuration."""

JS_API = "$JS.API"
DEFAULT_INBOX_PREFIX = "_INBOX"
"""nats-py's own inbox prefix, kept by ``ops`` and the harness (wide rights); a service connects
with its own (:func:`~agentbus_shared.contracts.subjects.inbox_prefix`)."""

PREVIOUS_INBOXES = f"{DEFAULT_INBOX_PREFIX}.>"
"""Where the previous release's services read their replies and answered requests: every
service subscribed to and published on it. Only the transitional configuration grants it."""

REPLY_MARGIN = 60.0
"""Seconds a service's answer may come after the longest wait for it: the caller has given up by
then, but an answer the server refuses is a permissions violation logged for nothing."""


@dataclass(frozen=True)
class ReplyWindow:
    """How a service may answer a request it received: ``max`` messages on the request's reply
    subject within ``expires`` seconds of receiving it (nats-server's ``allow_responses``)."""

    expires: float
    max: int = 1

    def render(self) -> str:
        return f'{{ max: {self.max}, expires: "{self.expires:g}s" }}'


def longest_reply_wait(routes: Iterable[Route] | None = None) -> float:
    """The longest any caller waits for an RPC reply: the longest public route's timeout (the
    gateway forwards ``POST /billing/events/replay`` with 300 s, ``POST /chat`` with 120 s) or
    the default RPC timeout every other call (chat's runs alive/cancel, calls between services)
    uses."""
    found = contracts.ROUTES if routes is None else routes
    default = ServiceTuning.model_fields["rpc_timeout"].default
    return max([float(default), *(float(r.timeout) for r in found if r.timeout)])


def reply_window(routes: Iterable[Route] | None = None) -> ReplyWindow:
    """One answer per request, allowed until :data:`REPLY_MARGIN` after the longest wait."""
    return ReplyWindow(expires=longest_reply_wait(routes) + REPLY_MARGIN)


@dataclass(frozen=True)
class BusUser:
    name: str
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()
    unrestricted: bool = False
    """No permissions block: every subject (the dev and test harness only)."""
    allow_responses: ReplyWindow | None = None
    """May answer each request it receives on the request's reply subject, within the window."""
    comment: str = ""

    @property
    def password_variable(self) -> str:
        return password_variable(self.name)


def password_variable(user: str) -> str:
    return f"NATS_{user.upper()}_PASSWORD"


def inbox_prefix_of(user: str) -> str:
    """The inbox prefix ``user`` connects with: ``_INBOX_<service>`` for a service, whose user
    may read no other inbox; NATS's default for ``ops`` and the harness."""
    return DEFAULT_INBOX_PREFIX if user in {OPS, HARNESS, SYS} else subjects.inbox_prefix(user)


# ------------------------------------------------------------------ JetStream rights
def stream_rights(stream: str) -> list[str]:
    """An owner's rights on its stream: read and apply it, manage and read its consumers."""
    api = JS_API
    return [
        f"{api}.STREAM.INFO.{stream}",
        f"{api}.STREAM.CREATE.{stream}",
        f"{api}.STREAM.UPDATE.{stream}",
        f"{api}.STREAM.MSG.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}.>",
        f"{api}.CONSUMER.*.{stream}",
        f"{api}.CONSUMER.*.{stream}.>",
        f"{api}.CONSUMER.MSG.NEXT.{stream}.*",
        f"{api}.CONSUMER.DURABLE.CREATE.{stream}.*",
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]


def consumer_rights(stream: str, durable: str, subject: str) -> list[str]:
    """One durable consumer on another service's stream: create it with its own filter subject
    only, inspect, pull and ack it.

    The create request's subject carries the filter (``CONSUMER.CREATE.<S>.<durable>.<filter>``)
    and the server refuses a config whose filter differs, so the grant holds the consumer to what
    it may read; the forms without a filter (``CONSUMER.CREATE.<S>.<durable>``,
    ``CONSUMER.DURABLE.CREATE.<S>.<durable>``) would let it read the whole stream. A wildcard in
    the filter only admits narrower filters.
    """
    api = JS_API
    return [
        f"{api}.CONSUMER.CREATE.{stream}.{durable}.{subject}",
        f"{api}.CONSUMER.INFO.{stream}.{durable}",
        f"{api}.CONSUMER.MSG.NEXT.{stream}.{durable}",
        f"$JS.ACK.{stream}.{durable}.>",
    ]


def bucket_reader_rights(bucket: BucketSpec) -> list[str]:
    stream = bucket.stream_name
    return [
        f"{JS_API}.STREAM.INFO.{stream}",
        f"{JS_API}.STREAM.MSG.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}",
        f"{JS_API}.DIRECT.GET.{stream}.>",
    ]


# ------------------------------------------------------------------ users
def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _written_streams(service: str) -> list[StreamSpec]:
    return [s for s in STREAMS if service in s.written_by]


def service_user(service: manifest.ServiceManifest) -> BusUser:
    name = service.name
    publish: list[str] = []
    subscribe: list[str] = [subjects.inbox_of(name), f"{subjects.rpc_prefix(name)}>"]
    if name == GATEWAY:
        publish.append("rpc.*.v1.>")
    else:
        publish += sorted({call.subject for call in rpc_calls(service)})
    for stream in _written_streams(name):
        publish += stream.subjects
    publish.append(subjects.dead_letters_of(name))
    for flow in subjects.CORE_FLOWS:
        if name in flow.publishers:
            publish.append(flow.subject)
        if name in flow.subscribers:
            subscribe.append(flow.subject)
    for stream in stream_contracts.streams_owned_by(name):
        publish += stream_rights(stream.name)
    for bucket in stream_contracts.buckets_owned_by(name):
        publish += [f"$KV.{bucket.name}.>", *stream_rights(bucket.stream_name)]
    for bucket in BUCKETS:
        if name in bucket.readers:
            publish += bucket_reader_rights(bucket)
    owned = {s.name for s in stream_contracts.streams_owned_by(name)}
    for use in consumers(service):
        if use.stream not in owned:
            publish += consumer_rights(use.stream, use.durable, use.subject)
    return BusUser(name, _unique(publish), _unique(subscribe), allow_responses=reply_window())


OPS_USER = BusUser(
    OPS,
    publish=(f"{JS_API}.>", "$JS.ACK.>", "$JS.FC.>"),
    subscribe=(f"{DEFAULT_INBOX_PREFIX}.>",),
    comment="`agentbus streams apply` and operators: the whole JetStream API, no application subject.",
)


def bus_users(services: Sequence[manifest.ServiceManifest] | None = None) -> list[BusUser]:
    """The users of the application account: one per service, then ``ops``."""
    found = manifest.discover() if services is None else list(services)
    return [*(service_user(s) for s in found), OPS_USER]


def with_previous_inboxes(user: BusUser) -> BusUser:
    """``user`` as well as the previous release's rights on ``_INBOX.>`` (a service; ``ops``
    has them already): while the services roll, an old pod reads its replies on ``_INBOX.…``
    and answers on it, a new pod on ``_INBOX_<service>.…``."""
    if user.allow_responses is None:
        return user
    return replace(
        user,
        publish=_unique([*user.publish, PREVIOUS_INBOXES]),
        subscribe=_unique([*user.subscribe, PREVIOUS_INBOXES]),
    )


# ------------------------------------------------------------------ rendering
_HEADER = """\
# Who may publish and subscribe what on the Agentbus bus (docs/adr/deploy-nats-permissions.md).
#
# GENERATED from the contracts and the services' code by agentbus_shared.bus.permissions:
# regenerate with `uv run python scripts/generate_nats_accounts.py`, never edit by hand
# (tests/deploy/test_nats_permissions.py fails when this file and the code disagree).
#
# One application account (AGENTBUS, JetStream enabled) with one user per service and one for
# operators; the system account (SYS) for monitoring. Passwords are environment variables, set
# from secrets. The same file is used by compose (deploy/nats/nats.conf) and Kubernetes; the dev
# stack and the test fixtures run nats-server with the same users and permissions.
"""

_TRANSITIONAL = """\
#
# TRANSITIONAL (`generate_nats_accounts.py --transitional`): every service also reads and writes
# the previous release's inboxes, _INBOX.>, so old and new pods get their replies while the
# services roll. Apply the final file as soon as the roll is done
# (docs/runbooks/upgrade-bus-inboxes.md); the drift test fails while this one is checked out.
"""


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)

    def add(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text)

    def subjects(self, depth: int, key: str, values: Sequence[str]) -> None:
        self.add(depth, f"{key}: [")
        for value in values:
            self.add(depth + 1, f'"{value}"')
        self.add(depth, "]")


def render_accounts(users: Sequence[BusUser], *, header: str = _HEADER) -> str:
    """``accounts.conf`` for ``users`` (the application account) and the system account."""
    out = _Writer()
    out.add(0, "accounts {")
    out.add(1, "AGENTBUS {")
    out.add(2, "jetstream: enabled")
    out.add(2, "users: [")
    for user in users:
        _render_user(out, user)
    out.add(2, "]")
    out.add(1, "}")
    out.add(1, "SYS {")
    out.add(2, f"users: [{{ user: {SYS}, password: ${password_variable(SYS)} }}]")
    out.add(1, "}")
    out.add(0, "}")
    out.add(0, "system_account: SYS")
    return header + "\n" + "\n".join(out.lines) + "\n"


def _render_user(out: _Writer, user: BusUser) -> None:
    out.add(3, "{")
    if user.comment:
        out.add(4, f"# {user.comment}")
    out.add(4, f"user: {user.name}")
    out.add(4, f"password: ${user.password_variable}")
    if not user.unrestricted:
        out.add(4, "permissions: {")
        out.add(5, "publish: {")
        out.subjects(6, "allow", user.publish)
        out.add(5, "}")
        out.add(5, "subscribe: {")
        out.subjects(6, "allow", user.subscribe)
        out.add(5, "}")
        if user.allow_responses is not None:
            out.add(5, f"allow_responses: {user.allow_responses.render()}")
        out.add(4, "}")
    out.add(3, "}")


def deployed_accounts() -> str:
    """The checked-in ``deploy/k8s/base/nats/accounts.conf``."""
    return render_accounts(bus_users())


def transitional_accounts() -> str:
    """The deployed users with the previous release's inbox rights, for the roll of an upgrade
    from a release whose services used ``_INBOX.>`` (docs/runbooks/upgrade-bus-inboxes.md)."""
    users = [with_previous_inboxes(user) for user in bus_users()]
    return render_accounts(users, header=_HEADER + _TRANSITIONAL)


def stack_users() -> list[BusUser]:
    """The deployed users plus the harness, for the servers the dev and test stacks start."""
    harness = BusUser(
        HARNESS,
        unrestricted=True,
        comment="dev and test stacks only: tools and test code standing in for the outside world",
    )
    return [*bus_users(), harness]


def password_variables(users: Sequence[BusUser]) -> list[str]:
    return [*(u.password_variable for u in users), password_variable(SYS)]


def new_passwords(users: Sequence[BusUser]) -> dict[str, str]:
    """A fresh password per user (and the system account), by ``NATS_<USER>_PASSWORD``.

    nats-server reads a variable's value as configuration: it must start with a letter, or
    ``1k`` is a number and ``9-x`` an error (docs/runbooks/first-deploy.md says so too).
    """
    return {name: "p" + secrets.token_hex(16) for name in password_variables(users)}


@dataclass(frozen=True)
class BusLogins:
    """How each user logs in to a NATS the dev or test stack started (no passwords: a server
    someone else runs, whose users we do not know)."""

    url: str
    """The server's address, without credentials."""
    passwords: dict[str, str] = field(default_factory=dict)
    """Password by user name."""

    @classmethod
    def of(cls, url: str, users: Sequence[BusUser], variables: Mapping[str, str]) -> BusLogins:
        return cls(url, {user.name: variables[user.password_variable] for user in users})

    def url_for(self, user: str) -> str:
        """The address with ``user``'s credentials in it (nats-py reads them from the URL)."""
        if user not in self.passwords:
            return self.url
        scheme, _, address = self.url.partition("://")
        return f"{scheme}://{quote(user)}:{quote(self.passwords[user], safe='')}@{address}"

    def login(self, user: str) -> dict[str, str]:
        """``ServiceSettings`` fields for logging in as ``user`` (with any ``nats_url``)."""
        if user not in self.passwords:
            return {}
        return {"nats_user": user, "nats_password": self.passwords[user]}

    def settings(self, user: str) -> dict[str, str]:
        """``ServiceSettings`` fields for a process logging in as ``user``."""
        return {"nats_url": self.url, **self.login(user)}

    def env(self, user: str) -> dict[str, str]:
        """The environment variables of a process logging in as ``user``."""
        return {key.upper(): value for key, value in self.settings(user).items()}
