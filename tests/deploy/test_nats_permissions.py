"""The deployed bus security, proven on a real nats-server started from the deployed config.

``deploy/k8s/base/nats/accounts.conf`` is generated from the code
(:mod:`agentbus_shared.bus.permissions`: every public route's subject, every stream and
bucket, the core flows, every call a service makes to another and every durable consumer it
declares); the first test fails when the checked-in file is stale. The others prove each rule
with logins, from what the code says independently of the generator where they can.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import nats
import nats.js.errors
import pytest
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api

from agentbus_shared.bus import permissions, uses
from agentbus_shared.bus.consumers import DurableConsumer
from agentbus_shared.bus.permissions import (
    DEFAULT_INBOX_PREFIX,
    ReplyWindow,
    deployed_accounts,
    password_variable,
    transitional_accounts,
)
from agentbus_shared.bus.streams import apply_buckets, apply_streams
from agentbus_shared.contracts import subjects
from agentbus_shared.contracts.streams import BUCKETS, STREAMS, STRIPE_WEBHOOKS, streams_owned_by
from agentbus_shared.servers import find_binary

from . import derive
from .natsbus import (
    ACCOUNTS_CONF,
    COMPOSE_CONF,
    K8S_CONF,
    SecuredNats,
    Session,
    login,
    make_passwords,
    users,
)

SERVICES = derive.service_names()
BACKENDS = [s for s in SERVICES if s != derive.GATEWAY]
FIX = "grant it in agentbus_shared.bus.permissions and run scripts/generate_nats_accounts.py"


@pytest.fixture(scope="module")
def passwords() -> dict[str, str]:
    return make_passwords()


@contextmanager
def running_nats(
    directory: Path, passwords: dict[str, str], accounts: str | None = None
) -> Iterator[SecuredNats]:
    """nats-server from the compose configuration with the checked-in ``accounts.conf``, or
    ``accounts``."""
    saved = {k: os.environ.get(k) for k in passwords}
    os.environ.update(passwords)
    server = SecuredNats(directory, passwords, accounts)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def secured_nats(
    tmp_path_factory: pytest.TempPathFactory, passwords: dict[str, str]
) -> Iterator[SecuredNats]:
    with running_nats(tmp_path_factory.mktemp("secured-nats"), passwords) as server:
        yield server


async def _logins(
    server: SecuredNats, passwords: dict[str, str], names: dict[str, tuple[str, str | None]]
) -> dict[str, Session]:
    """A session per name: (user, inbox prefix; None for the user's own)."""
    return {
        name: await login(server.url, user, passwords[password_variable(user)], prefix)
        for name, (user, prefix) in names.items()
    }


@pytest.fixture
async def as_user(
    secured_nats: SecuredNats, passwords: dict[str, str]
) -> AsyncIterator[dict[str, Session]]:
    sessions: dict[str, Session] = {}
    for user in users():
        if user == "sys":
            continue
        sessions[user] = await login(secured_nats.url, user, passwords[password_variable(user)])
    ops = sessions["ops"].client.jetstream()
    await apply_streams(ops, STREAMS)
    await apply_buckets(ops, BUCKETS)
    try:
        yield sessions
    finally:
        for session in sessions.values():
            await session.close()


# ------------------------------------------------------------------ the config itself
def test_deployed_bus_permissions_are_generated_from_the_code() -> None:
    assert ACCOUNTS_CONF.read_text() == deployed_accounts(), (
        f"{ACCOUNTS_CONF.relative_to(derive.ROOT)} is stale: "
        "run `uv run python scripts/generate_nats_accounts.py`"
    )


def test_every_service_has_a_bus_user() -> None:
    missing = sorted(set(SERVICES) - set(users()))
    assert not missing, f"services without a NATS user: {missing}; {FIX}"
    assert "ops" in users()


@pytest.mark.parametrize("config", [COMPOSE_CONF, K8S_CONF], ids=["compose", "kubernetes"])
def test_nats_config_parses(config: Path, tmp_path: Path, passwords: dict[str, str]) -> None:
    (tmp_path / "nats.conf").write_text(config.read_text())
    (tmp_path / "accounts.conf").write_text(ACCOUNTS_CONF.read_text())
    result = subprocess.run(
        [str(find_binary("nats-server")), "-t", "-c", str(tmp_path / "nats.conf")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **passwords, "POD_NAME": "nats-0"},
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_nats_refuses_to_start_without_its_passwords(tmp_path: Path) -> None:
    (tmp_path / "nats.conf").write_text(COMPOSE_CONF.read_text())
    (tmp_path / "accounts.conf").write_text(ACCOUNTS_CONF.read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    result = subprocess.run(
        [str(find_binary("nats-server")), "-t", "-c", str(tmp_path / "nats.conf")],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode != 0
    assert "PASSWORD" in result.stderr + result.stdout


# ------------------------------------------------------------------ logging in
async def test_anonymous_and_wrong_password_logins_are_refused(secured_nats: SecuredNats) -> None:
    for options in (
        {},
        {"user": "gateway", "password": "wrong"},
        {"user": "nobody", "password": "x"},
    ):
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(
                secured_nats.url, allow_reconnect=False, connect_timeout=2, **options
            )


# ------------------------------------------------------------------ rpc
async def test_only_the_gateway_may_call_public_operations(as_user: dict[str, Session]) -> None:
    public = sorted(derive.public_subjects())
    assert await as_user["gateway"].denied_publishes(public) == set()
    for user in [*BACKENDS, "ops"]:
        allowed = set(public) - await as_user[user].denied_publishes(public)
        assert not allowed, f"{user} may publish public operations {sorted(allowed)}"


async def test_each_service_serves_only_its_own_operations(as_user: dict[str, Session]) -> None:
    own = {s: f"rpc.{s}.v1.>" for s in SERVICES}
    for user in [*SERVICES, "ops"]:
        denied = await as_user[user].denied_subscriptions(list(own.values()))
        expected = {subject for service, subject in own.items() if service != user}
        assert denied == expected, f"{user}: may serve {sorted(set(own.values()) - denied)}"


async def test_a_request_from_the_gateway_reaches_the_service_and_its_reply_comes_back(
    as_user: dict[str, Session],
) -> None:
    async def answer(msg: Msg) -> None:
        await msg.respond(b'{"data": {"ok": true}}')

    for service in BACKENDS:
        client = as_user[service].client
        subscription = await client.subscribe(f"rpc.{service}.v1.>", queue=service, cb=answer)
        await client.flush()
        # A first request right after connecting may see no responders (FIELD-NOTES): flush first.
        await as_user["gateway"].client.flush()
        reply = await as_user["gateway"].client.request(
            subjects.rpc(service, "ping"), b"{}", timeout=2
        )
        assert reply.data == b'{"data": {"ok": true}}'
        await subscription.unsubscribe()


async def test_every_call_a_service_makes_to_another_is_allowed(
    as_user: dict[str, Session],
) -> None:
    calls = [
        call for s in derive.services() if s.name != derive.GATEWAY for call in derive.rpc_calls(s)
    ]
    for call in calls:
        denied = await as_user[call.caller].denied_publishes([call.subject])
        assert not denied, (
            f"{call.where}: {call.caller} calls {call.subject}, which the bus forbids; {FIX}"
        )


async def test_no_service_reads_another_services_replies(as_user: dict[str, Session]) -> None:
    # Replies carry token pairs and client secrets: chat, which runs model tools, must not read
    # auth's or the gateway's. Each service reads only _INBOX_<service>.> and answers a request
    # only on its own reply subject (allow_responses).
    inboxes = {s: subjects.inbox_of(s) for s in SERVICES}
    wide = ["_INBOX.>", "_INBOX.probe", ">"]
    for user in SERVICES:
        others = {subject for service, subject in inboxes.items() if service != user}
        denied = await as_user[user].denied_subscriptions([*inboxes.values(), *wide])
        assert denied == others | set(wide), f"{user} may read {set(wide) | others - denied}"
        replies = [f"{subjects.inbox_prefix(s)}.probe" for s in SERVICES] + ["_INBOX.probe"]
        assert await as_user[user].denied_publishes(replies) == set(replies), user


async def test_a_backend_answers_a_call_from_another_backend_on_its_own_inbox(
    as_user: dict[str, Session],
) -> None:
    async def answer(msg: Msg) -> None:
        await msg.respond(b'{"data": {}}')

    call = next(c for s in derive.services() for c in derive.rpc_calls(s) if c.caller == "chat")
    subscription = await as_user[call.service].client.subscribe(call.subject, cb=answer)
    await as_user[call.service].client.flush()
    reply = await as_user["chat"].client.request(call.subject, b"{}", timeout=2)
    assert reply.subject.startswith(f"{subjects.inbox_prefix('chat')}.")
    assert reply.data == b'{"data": {}}'
    await subscription.unsubscribe()
    assert not as_user[call.service].denied and not as_user["chat"].denied


def test_call_scanner_reads_literal_and_contract_names() -> None:
    source = (
        "async def f(runtime):\n"
        "    await runtime.rpc.request('billing', billing.Operation.SUMMARY_GET, {}, X)\n"
        "    await self.rpc.call(billing.SERVICE, 'entitlements.get')\n"
        "    await cache.request('not', 'rpc')\n"
    )
    calls = derive.calls_in_source("chat", source, "x.py")
    assert [c.subject for c in calls] == [
        "rpc.billing.v1.summary.get",
        "rpc.billing.v1.entitlements.get",
    ]
    with pytest.raises(derive.UnresolvedCall, match=r"x.py:1"):
        derive.calls_in_source("chat", "rpc.call(target, op)", "x.py")


# ------------------------------------------------------------------ events and streams
async def test_each_service_publishes_only_its_own_events(as_user: dict[str, Session]) -> None:
    events = derive.event_subjects()
    for user in [*SERVICES, "ops"]:
        denied = await as_user[user].denied_publishes(list(events))
        allowed = set(events) - denied
        expected = {subject for subject, owner in events.items() if owner == user}
        assert allowed == expected, (
            f"{user} may publish {sorted(allowed)}, expected exactly {sorted(expected)}"
        )


async def test_an_owner_event_is_stored_in_its_stream(as_user: dict[str, Session]) -> None:
    for subject, owner in derive.event_subjects().items():
        ack = (
            await as_user[owner]
            .client.jetstream()
            .publish(subject, b"{}", headers={"Nats-Msg-Id": subject}, timeout=2)
        )
        assert ack.stream == f"{owner.upper()}_EVENTS"


async def test_only_the_gateway_writes_stripe_webhooks(as_user: dict[str, Session]) -> None:
    subject = subjects.stripe_webhook("invoice.paid")
    ack = (
        await as_user["gateway"]
        .client.jetstream()
        .publish(subject, b"{}", headers={"Nats-Msg-Id": "evt_probe"}, timeout=2)
    )
    assert ack.stream == STRIPE_WEBHOOKS.name
    for user in [*BACKENDS, "ops"]:
        assert await as_user[user].denied_publishes([subject]) == {subject}, user


async def test_only_chat_publishes_stream_frames_and_only_the_gateway_reads_them(
    as_user: dict[str, Session],
) -> None:
    frames = subjects.chat_stream("s_probe")
    for user in [*SERVICES, "ops"]:
        denied = await as_user[user].denied_publishes([frames])
        assert (frames not in denied) == (user == "chat"), user
        denied = await as_user[user].denied_subscriptions(["streams.chat.>"])
        assert (not denied) == (user == derive.GATEWAY), user


async def test_each_service_dead_letters_only_its_own_messages(
    as_user: dict[str, Session],
) -> None:
    dead = {s: subjects.dead_letter(s, "probe") for s in SERVICES}
    for user in SERVICES:
        allowed = set(dead.values()) - await as_user[user].denied_publishes(list(dead.values()))
        assert allowed == {dead[user]}, user


async def test_only_the_bucket_owner_writes_it(as_user: dict[str, Session]) -> None:
    for bucket in BUCKETS:
        key = f"$KV.{bucket.name}.t_probe"
        for user in [*SERVICES, "ops"]:
            denied = await as_user[user].denied_publishes([key])
            assert (not denied) == (user == bucket.owner), f"{user} and bucket {bucket.name}"


async def test_services_cannot_delete_or_purge_streams_but_operators_can_manage_them(
    as_user: dict[str, Session],
) -> None:
    for user in SERVICES:
        js = as_user[user].client.jetstream(timeout=0.5)
        with pytest.raises(NatsTimeout):
            await js.delete_stream(STRIPE_WEBHOOKS.name)
        with pytest.raises(NatsTimeout):
            await js.purge_stream(f"{user.upper()}_EVENTS" if user != "gateway" else "AUTH_EVENTS")
    ops = as_user["ops"].client.jetstream()
    info = await ops.stream_info(STRIPE_WEBHOOKS.name)
    assert info.config.deny_delete
    results = await apply_streams(ops, STREAMS)
    assert {r.change for r in results} == {"unchanged"}


@pytest.mark.parametrize(
    ("password", "accepted"), [("p0123abcd", True), ("1k", False), ("9-x", False)]
)
def test_nats_passwords_must_start_with_a_letter(
    password: str, accepted: bool, tmp_path: Path, passwords: dict[str, str]
) -> None:
    # Why the runbook generates "p<hex>": nats-server parses a variable's value as config.
    (tmp_path / "nats.conf").write_text(COMPOSE_CONF.read_text())
    (tmp_path / "accounts.conf").write_text(ACCOUNTS_CONF.read_text())
    result = subprocess.run(
        [str(find_binary("nats-server")), "-t", "-c", str(tmp_path / "nats.conf")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **passwords, "NATS_SYS_PASSWORD": password},
    )
    assert (result.returncode == 0) == accepted, result.stderr


# ------------------------------------------------------------------ core flows
async def test_the_gateway_may_relay_billing_events_and_chat_may_reach_its_runs(
    as_user: dict[str, Session],
) -> None:
    billing_events = subjects.event("billing", "t_probe", ">")
    runs = [subjects.chat_run_alive("s_probe"), subjects.chat_run_cancel("s_probe")]
    for user in [*SERVICES, "ops"]:
        denied = await as_user[user].denied_subscriptions([billing_events])
        assert (not denied) == (user == derive.GATEWAY), f"{user} and {billing_events}"
        denied = await as_user[user].denied_subscriptions(runs)
        assert (not denied) == (user == "chat"), f"{user} subscribing to a run's subjects"
        denied = await as_user[user].denied_publishes(runs)
        assert (not denied) == (user == "chat"), f"{user} asking a run whether it is alive"


# ------------------------------------------------------------------ the JetStream API
def _others_stream_requests(user: str) -> list[str]:
    """JetStream API requests on streams ``user`` neither owns nor consumes."""
    consumed = {
        use.stream
        for service in derive.services()
        if service.name == user
        for use in uses.consumers(service)
    }
    foreign = [s.name for s in STREAMS if s.owner != user and s.name not in consumed]
    requests = ["$JS.API.STREAM.LIST", "$JS.API.STREAM.NAMES"]
    for stream in foreign:
        requests += [
            f"$JS.API.STREAM.INFO.{stream}",
            f"$JS.API.STREAM.UPDATE.{stream}",
            f"$JS.API.STREAM.MSG.GET.{stream}",
            f"$JS.API.DIRECT.GET.{stream}",
            f"$JS.API.CONSUMER.CREATE.{stream}",
            f"$JS.API.CONSUMER.CREATE.{stream}.probe.>",
            f"$JS.API.CONSUMER.LIST.{stream}",
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.probe",
            f"$JS.ACK.{stream}.probe.1.1.1.1.1",
        ]
    return requests


async def test_a_service_cannot_touch_another_services_stream_through_the_jetstream_api(
    as_user: dict[str, Session],
) -> None:
    for user in SERVICES:
        requests = _others_stream_requests(user)
        allowed = set(requests) - await as_user[user].denied_publishes(requests)
        assert not allowed, f"{user} may use the JetStream API on others' streams: {allowed}"


async def test_a_consumer_of_another_services_stream_reaches_only_its_own_durable(
    as_user: dict[str, Session],
) -> None:
    for service in derive.services():
        for use in uses.consumers(service):
            if next(s for s in STREAMS if s.name == use.stream).owner == service.name:
                continue
            own = f"$JS.API.CONSUMER.INFO.{use.stream}.{use.durable}"
            other = f"$JS.API.CONSUMER.DELETE.{use.stream}.{use.durable}"
            foreign = f"$JS.API.CONSUMER.INFO.{use.stream}.someone-else"
            denied = await as_user[service.name].denied_publishes([own, other, foreign])
            assert denied == {other, foreign}, f"{use.where}: {service.name} on {use.stream}"


async def test_a_consumer_of_another_services_stream_reads_only_its_own_filter(
    as_user: dict[str, Session],
) -> None:
    use = next(u for u in _foreign_consumers() if u.service == "billing")
    stream = next(s for s in STREAMS if s.name == use.stream)
    billing = as_user["billing"]
    js = billing.client.jetstream(timeout=0.5)
    wider = stream.subjects[0]
    attempts = {
        # The create subject names the wider filter: not granted.
        f"$JS.API.CONSUMER.CREATE.{use.stream}.{use.durable}.{wider}": api.ConsumerConfig(
            name=use.durable, durable_name=use.durable, filter_subject=wider
        ),
        # The forms without a filter in the subject: not granted at all.
        f"$JS.API.CONSUMER.DURABLE.CREATE.{use.stream}.{use.durable}": api.ConsumerConfig(
            durable_name=use.durable, filter_subject=wider
        ),
        f"$JS.API.CONSUMER.CREATE.{use.stream}.{use.durable}": api.ConsumerConfig(
            name=use.durable, durable_name=use.durable
        ),
    }
    for config in attempts.values():
        with pytest.raises(NatsTimeout):
            await js.add_consumer(use.stream, config)
    await billing.settle()
    assert {s for kind, s in billing.denied if kind == "publish"} >= {s.lower() for s in attempts}
    # The granted subject with a wider filter in the request: the server refuses it.
    smuggled = {
        "stream_name": use.stream,
        "config": {"name": use.durable, "durable_name": use.durable, "filter_subject": wider},
    }
    answer = await billing.client.request(
        f"$JS.API.CONSUMER.CREATE.{use.stream}.{use.durable}.{use.subject}",
        json.dumps(smuggled).encode(),
        timeout=2,
    )
    refusal = json.loads(answer.data)["error"]["description"]
    assert "did not match filtered subject" in refusal, answer.data
    with pytest.raises(nats.js.errors.NotFoundError):
        await js.consumer_info(use.stream, use.durable)


async def test_a_consumer_of_another_services_stream_reads_its_events(
    as_user: dict[str, Session],
) -> None:
    for use in _foreign_consumers():
        stream = next(s for s in STREAMS if s.name == use.stream)
        owner = as_user[stream.owner].client.jetstream(timeout=2)
        tenant = f"t_{use.durable.replace('-', '_')}"
        whole_stream = use.subject in stream.subjects  # the activity feed reads every event
        heard = (
            subjects.event(stream.owner, tenant, "probe.heard")
            if whole_stream
            else use.subject.replace("*", tenant, 1)
        )
        other = subjects.event(stream.owner, tenant, "probe.unheard")
        await owner.publish(other, b"{}", headers={"Nats-Msg-Id": other})
        await owner.publish(heard, b"{}", headers={"Nats-Msg-Id": heard})
        reader = as_user[use.service]
        js = reader.client.jetstream(timeout=2)
        consumer = DurableConsumer(use.service, use.durable, stream, use.subject)
        await consumer.ensure(js)
        pulled = await js.pull_subscribe_bind(
            use.durable,
            use.stream,
            inbox_prefix=f"{subjects.inbox_prefix(use.service)}.".encode(),
        )
        messages = await pulled.fetch(batch=100, timeout=2)
        assert heard in {m.subject for m in messages}, use.where
        assert (other in {m.subject for m in messages}) == whole_stream, use.where
        for message in messages:
            await message.ack()
        await reader.settle()
        assert not reader.denied, f"{use.where}: {reader.denied}"


def _foreign_consumers() -> list[uses.ConsumerUse]:
    """The durable consumers services declare on streams they do not own."""
    owners = {s.name: s.owner for s in STREAMS}
    return [
        use
        for service in derive.services()
        for use in uses.consumers(service)
        if owners[use.stream] != service.name
    ]


async def test_each_service_reaches_its_own_streams_and_consumers_through_the_api(
    as_user: dict[str, Session],
) -> None:
    for service in derive.services():
        js = as_user[service.name].client.jetstream(timeout=2)
        for stream in streams_owned_by(service.name):
            assert (await js.stream_info(stream.name)).config.name == stream.name
        for use in uses.consumers(service):
            stream = next(s for s in STREAMS if s.name == use.stream)
            consumer = DurableConsumer(use.service, use.durable, stream, use.subject)
            await js.add_consumer(use.stream, consumer.config())
            assert (await js.consumer_info(use.stream, use.durable)).name == use.durable
        assert not as_user[service.name].denied, as_user[service.name].denied


# ------------------------------------------------------------------ replies in time
def _with_reply_windows(expires: dict[str, float]) -> str:
    """The deployed users, with the given seconds to answer a request for some services."""
    users = [
        replace(user, allow_responses=ReplyWindow(expires[user.name]))
        if user.name in expires
        else user
        for user in permissions.bus_users()
    ]
    return permissions.render_accounts(users)


async def test_a_reply_later_than_the_reply_window_is_refused(
    tmp_path: Path, passwords: dict[str, str]
) -> None:
    # nats-server lets a service answer only within allow_responses' expires (two minutes when
    # none is given, shorter than a billing replay's 300 s). Waiting out the deployed window is
    # too slow for a test: with 1 s for billing and 10 s for auth, the same late answer is
    # refused from billing and accepted from auth, so the window is what decides.
    accounts = _with_reply_windows({"billing": 1.0, "auth": 10.0})
    with running_nats(tmp_path, passwords, accounts) as server:
        sessions = await _logins(
            server,
            passwords,
            {name: (name, None) for name in ("gateway", "billing", "auth")},
        )
        try:

            async def late(msg: Msg) -> None:
                await asyncio.sleep(1.5)
                await msg.respond(b"late")

            for service in ("billing", "auth"):
                await sessions[service].client.subscribe(f"rpc.{service}.v1.>", cb=late)
                await sessions[service].client.flush()
            gateway = sessions["gateway"].client
            await gateway.flush()
            auth_reply, billing_reply = await asyncio.gather(
                gateway.request(subjects.rpc("auth", "ping"), b"{}", timeout=4),
                gateway.request(subjects.rpc("billing", "ping"), b"{}", timeout=4),
                return_exceptions=True,
            )
            await sessions["billing"].settle()
            assert isinstance(auth_reply, Msg) and auth_reply.data == b"late"
            assert isinstance(billing_reply, NatsTimeout)
            inbox = f"{subjects.inbox_prefix('gateway')}.".lower()
            refused = [s for kind, s in sessions["billing"].denied if kind == "publish"]
            assert [s for s in refused if s.startswith(inbox)], sessions["billing"].errors
            assert not sessions["auth"].denied
        finally:
            for session in sessions.values():
                await session.close()


# ------------------------------------------------------------------ upgrading
async def test_old_and_new_pods_get_their_replies_under_the_transitional_config(
    tmp_path: Path, passwords: dict[str, str]
) -> None:
    # While the services roll from the release whose pods used _INBOX.>, an old pod (NATS's
    # default inbox) and a new one (_INBOX_<service>) each call and answer the other.
    old, new = DEFAULT_INBOX_PREFIX, None
    with running_nats(tmp_path, passwords, transitional_accounts()) as server:
        sessions = await _logins(
            server,
            passwords,
            {
                "old chat": ("chat", old),
                "new chat": ("chat", new),
                "old billing": ("billing", old),
                "new billing": ("billing", new),
            },
        )
        try:

            async def answer(msg: Msg) -> None:
                await msg.respond(b'{"data": {}}')

            subject = subjects.rpc("billing", "summary.get")
            for responder in ("old billing", "new billing"):
                client = sessions[responder].client
                subscription = await client.subscribe(subject, cb=answer)
                await client.flush()
                for caller in ("old chat", "new chat"):
                    await sessions[caller].client.flush()
                    reply = await sessions[caller].client.request(subject, b"{}", timeout=2)
                    assert reply.data == b'{"data": {}}', f"{caller} calling {responder}"
                await subscription.unsubscribe()
            for session in sessions.values():
                await session.settle()
                assert not session.denied, f"{session.user}: {session.errors}"
            others = [subjects.inbox_of(s) for s in SERVICES if s != "chat"]
            assert await sessions["old chat"].denied_subscriptions(others) == set(others)
        finally:
            for session in sessions.values():
                await session.close()


def test_the_transitional_config_is_never_the_checked_in_one() -> None:
    # The drift test holds the checked-in file to the final rights; the transitional file is
    # rendered for the roll only.
    assert ACCOUNTS_CONF.read_text() != transitional_accounts()
    assert '"_INBOX.>"' in transitional_accounts()
