"""The test fixtures' NATS runs the deployed bus users and permissions, and says when they bite.

Every test that starts a service on the shared ``nats_server`` fixture fails when the server
logged a permissions violation, so the whole suite exercises the deployed permissions; these
tests prove the fixture's server is the secured one and that a violation is seen.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import nats
import nats.errors
import pytest
from nats.aio.msg import Msg

from agentbus_shared.bus import apply_buckets, apply_streams
from agentbus_shared.bus.broker import without_credentials
from agentbus_shared.bus.permissions import (
    HARNESS,
    OPS,
    PREVIOUS_INBOXES,
    bus_users,
    deployed_accounts,
    inbox_prefix_of,
    render_accounts,
    reply_window,
    transitional_accounts,
)
from agentbus_shared.bus.uses import UnresolvedUse, calls_in_source, consumers_in_source
from agentbus_shared.contracts import ROUTES, subjects
from agentbus_shared.contracts import billing as billing_contract
from agentbus_shared.contracts.platform import TenantDeprovisionRequested
from agentbus_shared.contracts.streams import AUTH_EVENTS, BUCKETS, STREAMS
from agentbus_shared.contracts.tenants import TenantCreated
from agentbus_shared.runtime import ServiceRuntime
from agentbus_shared.servers import NatsServer
from agentbus_shared.settings import ServiceSettings, ServiceTuning
from agentbus_shared.testing.plugin import BusLogins, SharedServer


async def _connect(logins: BusLogins, user: str) -> nats.NATS:
    return await nats.connect(
        logins.url_for(user),
        allow_reconnect=False,
        connect_timeout=3,
        inbox_prefix=inbox_prefix_of(user),
    )


def _config(server: NatsServer | SharedServer) -> str:
    assert isinstance(server, NatsServer), "needs the test run's own nats-server"
    return server.config_path.read_text()


async def test_test_servers_run_the_deployed_users_and_permissions(
    nats_server: NatsServer | SharedServer, bus_logins: BusLogins
) -> None:
    config = _config(nats_server)
    deployed = render_accounts(bus_users())
    users = deployed[deployed.index("accounts {") : deployed.index("\n    ]\n  }\n  SYS {")]
    assert users in config, "the test server's users differ from the deployed ones"
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(bus_logins.url, allow_reconnect=False, connect_timeout=2)
    for user in [u.name for u in bus_users()]:
        client = await _connect(bus_logins, user)
        await client.close()


async def test_the_gateway_may_subscribe_to_billing_events_and_chat_to_its_runs(
    bus_logins: BusLogins,
) -> None:
    gateway = await _connect(bus_logins, "gateway")
    chat = await _connect(bus_logins, "chat")
    harness = await _connect(bus_logins, HARNESS)
    try:
        relayed = await gateway.subscribe(subjects.event("billing", "t_1", ">"))

        async def alive(msg: Msg) -> None:
            await msg.respond(b"yes")

        await chat.subscribe(subjects.chat_run_alive("s_1"), cb=alive)
        await gateway.flush()
        await chat.flush()
        await harness.publish(subjects.event("billing", "t_1", "invoice.changed"), b"{}")
        assert (await relayed.next_msg(timeout=2)).data == b"{}"
        answer = await chat.request(subjects.chat_run_alive("s_1"), b"", timeout=2)
        assert answer.data == b"yes"
    finally:
        for client in (gateway, chat, harness):
            await client.close()


@pytest.mark.bus_violations
async def test_a_service_cannot_touch_another_services_stream_through_the_jetstream_api(
    nats_server: NatsServer | SharedServer, bus_logins: BusLogins
) -> None:
    assert isinstance(nats_server, NatsServer), "needs the test run's own nats-server"
    ops = await _connect(bus_logins, "ops")
    chat = await _connect(bus_logins, "chat")
    try:
        await apply_streams(ops.jetstream(), STREAMS)
        await apply_buckets(ops.jetstream(), BUCKETS)
        js = chat.jetstream(timeout=0.5)
        with pytest.raises(nats.errors.TimeoutError):
            await js.stream_info(AUTH_EVENTS.name)
        with pytest.raises(nats.errors.TimeoutError):
            await js.delete_consumer(AUTH_EVENTS.name, "auth-mailer")
        await chat.flush()
        await asyncio.sleep(0.1)
    finally:
        for client in (ops, chat):
            await client.close()
    logged = "\n".join(nats_server.permission_violations())
    assert f'"$JS.API.STREAM.INFO.{AUTH_EVENTS.name}"' in logged
    assert f'"$JS.API.CONSUMER.DELETE.{AUTH_EVENTS.name}.auth-mailer"' in logged


def test_an_explicit_login_wins_over_credentials_in_the_url() -> None:
    assert (
        without_credentials("nats://harness:p1@127.0.0.1:4222,nats://h2:4222")
        == "nats://127.0.0.1:4222,nats://h2:4222"
    )


def test_consumers_and_calls_are_read_from_the_source() -> None:
    source = (
        "from agentbus_shared.contracts.streams import AUTH_EVENTS\n"
        "X = DurableConsumer(service='billing', name='tenant-created', stream=AUTH_EVENTS,"
        " subject='events.auth.*.tenant.created')\n"
        "async def f(self):\n"
        "    await self._rpc.request('billing', billing.Operation.SUMMARY_GET, {}, X)\n"
    )
    [consumer] = consumers_in_source(source, "x.py")
    assert (consumer.service, consumer.durable, consumer.stream, consumer.subject) == (
        "billing",
        "tenant-created",
        "AUTH_EVENTS",
        "events.auth.*.tenant.created",
    )
    [call] = calls_in_source("chat", source, "x.py")
    assert call.subject == "rpc.billing.v1.summary.get"


def test_a_consumers_filter_is_read_from_its_contract_event() -> None:
    declared = (
        "X = DurableConsumer(service='billing', name='tenant-created', stream=AUTH_EVENTS,"
        " subject={subject})\n"
    )
    [consumer] = consumers_in_source(declared.format(subject="TenantCreated.filter_subject()"), "x")
    assert consumer.subject == TenantCreated.filter_subject()
    for unknown in (
        "prefix + '.>'",
        "TenantCreated.filter_subject(tenant)",
        "Nope.filter_subject()",
    ):
        with pytest.raises(UnresolvedUse, match="subject="):
            consumers_in_source(declared.format(subject=unknown), "x.py")


def test_a_consumer_of_another_services_stream_is_granted_only_its_own_filter() -> None:
    [billing] = [u for u in bus_users() if u.name == "billing"]
    creates = {s for s in billing.publish if ".CONSUMER.CREATE.AUTH_EVENTS." in s}
    assert creates == {
        f"$JS.API.CONSUMER.CREATE.AUTH_EVENTS.tenant-created.{TenantCreated.filter_subject()}",
        "$JS.API.CONSUMER.CREATE.AUTH_EVENTS.billing-tenant-deprovision."
        f"{TenantDeprovisionRequested.filter_subject()}",
    }
    assert not [s for s in billing.publish if "DURABLE.CREATE.AUTH_EVENTS" in s]


async def test_services_answer_each_other_on_the_callers_own_inbox(
    nats_server: NatsServer | SharedServer, bus_logins: BusLogins
) -> None:
    # Replies (token pairs, client secrets) go to _INBOX_<caller>, which only the caller reads;
    # the answering service needs no publish right for them (allow_responses). The fixture fails
    # the test if the server logged a permissions violation.
    billing = ServiceRuntime("billing", _settings(bus_logins, "billing"), configure_process=False)
    chat = ServiceRuntime("chat", _settings(bus_logins, "chat"), configure_process=False)

    @billing.rpc_router.operation(billing_contract.Operation.SUMMARY_GET)
    async def summary() -> dict[str, str]:
        return {"plan": "free"}

    async with billing.lifespan(), chat.lifespan():
        assert chat.broker.connection._inbox_prefix == b"_INBOX_chat"
        reply = await chat.rpc.call(
            billing_contract.SERVICE, billing_contract.Operation.SUMMARY_GET
        )
    assert reply.data == {"plan": "free"}


def _settings(logins: BusLogins, service: str) -> ServiceSettings:
    return ServiceSettings(**logins.settings(service), environment="test")  # type: ignore[arg-type]


def _user_block(accounts: str, user: str) -> str:
    start = accounts.index(f"user: {user}\n")
    end = accounts.find("user: ", start + 1)
    return accounts[start : end if end != -1 else len(accounts)]


def test_a_service_may_answer_for_as_long_as_the_longest_route_waits() -> None:
    # nats-server's default (a bare allow_responses: true) refuses an answer after two minutes;
    # the gateway waits 300 s for POST /billing/events/replay and 120 s for POST /chat.
    replay = next(r for r in ROUTES if r.operation == billing_contract.Operation.EVENTS_REPLAY)
    longest = max(r.timeout for r in ROUTES if r.timeout is not None)
    assert replay.timeout is not None and longest >= replay.timeout >= 300
    waits = [longest, ServiceTuning.model_fields["rpc_timeout"].default]
    for user in bus_users():
        if user.name == OPS:
            assert user.allow_responses is None
            continue
        assert user.allow_responses is not None, user.name
        assert user.allow_responses.max == 1
        assert user.allow_responses.expires > max(waits), user.name
    deployed = deployed_accounts()
    assert "allow_responses: true" not in deployed
    window = f'allow_responses: {{ max: 1, expires: "{reply_window().expires:g}s" }}'
    assert deployed.count(window) == len(bus_users()) - 1


def test_a_route_that_waits_longer_widens_the_reply_window() -> None:
    replay = next(r for r in ROUTES if r.operation == billing_contract.Operation.EVENTS_REPLAY)
    slower = replace(replay, timeout=900.0)
    assert reply_window([*ROUTES, slower]).expires > 900.0
    assert reply_window().expires < 900.0


def test_the_transitional_config_grants_the_previous_and_the_new_inboxes() -> None:
    # While the services roll, an old pod reads and answers on _INBOX.>, a new one on
    # _INBOX_<service>.>; the final config (the checked-in one) has only the new.
    final, transitional = deployed_accounts(), transitional_accounts()
    for user in bus_users():
        if user.name == OPS:
            assert _user_block(final, OPS) == _user_block(transitional, OPS)
            continue
        before, during = _user_block(final, user.name), _user_block(transitional, user.name)
        assert f'"{PREVIOUS_INBOXES}"' not in before, user.name
        assert during.count(f'"{PREVIOUS_INBOXES}"') == 2, user.name
        own = f'"{subjects.inbox_of(user.name)}"'
        assert own in before and own in during, user.name
        assert "allow_responses: {" in during, user.name
        assert len(during.splitlines()) == len(before.splitlines()) + 2, user.name
