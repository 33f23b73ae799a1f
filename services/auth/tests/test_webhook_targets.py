"""Where a tenant's webhook may point, checked with the host resolved: only public addresses
(also inside 6to4, Teredo and NAT64 forms), allowed ports, names that are not numbers in
disguise, stored in canonical form; a hanging or failing lookup is refused in time, alike."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest
from auth_support import AuthClient

from agentbus_auth.errors import InvalidWebhookUrl
from agentbus_auth.tenants.webhooks import RESOLVE_TIMEOUT, Resolver, WebhookTargets
from agentbus_shared.settings import ServiceTuning


def resolver(answers: dict[str, list[str]]) -> Resolver:
    """A resolver answering from ``answers`` (an unknown name does not resolve)."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return answers[host]

    return resolve


DNS = {
    "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "rebind.example.com": ["93.184.215.14", "10.0.0.5"],
    "mapped.example.com": ["::ffff:169.254.169.254"],
    "nothing.example.com": [],
}


async def test_a_named_host_is_accepted_only_when_every_address_is_public() -> None:
    targets = WebhookTargets(allow_http=False, resolve=resolver(DNS))
    assert await targets.check("https://hooks.example.com/x") == "https://hooks.example.com/x"
    for host in ("rebind.example.com", "mapped.example.com", "nothing.example.com", "nx.test"):
        with pytest.raises(InvalidWebhookUrl):
            await targets.check(f"https://{host}/x")


async def test_a_name_that_does_not_resolve_is_refused_as_one_that_is_not_public() -> None:
    targets = WebhookTargets(allow_http=False, resolve=resolver(DNS))
    messages = set()
    for host in ("rebind.example.com", "nothing.example.com", "nx.test", "10.0.0.1"):
        with pytest.raises(InvalidWebhookUrl) as refused:
            await targets.check(f"https://{host}/x")
        messages.add((refused.value.message, repr(refused.value.details)))
    assert len(messages) == 1
    assert "resolve" not in repr(messages)


async def test_a_host_whose_resolver_hangs_is_refused_before_the_gateway_gives_up(
    client: AuthClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await client.register()

    async def hang(*args: object, **kwargs: object) -> list[Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", hang)
    started = time.monotonic()
    refused = await client.error(
        "tenants.settings.put",
        {"webhook_url": "https://slow.example.com/hook"},
        token=owner.access_token,
    )
    assert (refused.status, refused.code) == (422, "invalid_webhook_url")
    assert RESOLVE_TIMEOUT <= time.monotonic() - started < ServiceTuning().rpc_timeout


async def test_the_host_is_stored_in_canonical_ascii_form_on_an_allowed_port() -> None:
    targets = WebhookTargets(
        allow_http=False, resolve=resolver({**DNS, "xn--bcher-kva.example": ["93.184.215.14"]})
    )
    assert (
        await targets.check("https://BÜCHER.example/h?x=1") == "https://xn--bcher-kva.example/h?x=1"
    )
    assert (
        await targets.check("https://Hooks.Example.com:8443/x")
        == "https://hooks.example.com:8443/x"
    )
    assert await targets.check("https://[2002:5db8:d70e::1]/x") == "https://[2002:5db8:d70e::1]/x"
    for port in (0, 80, 25, 6379, 65535):
        with pytest.raises(InvalidWebhookUrl):
            await targets.check(f"https://hooks.example.com:{port}/x")


async def test_http_is_accepted_in_development_only() -> None:
    development = WebhookTargets(allow_http=True, resolve=resolver(DNS))
    assert await development.check("http://hooks.example.com/x")
    with pytest.raises(InvalidWebhookUrl):
        await development.check("http://127.0.0.1:8080/x")
    with pytest.raises(InvalidWebhookUrl):
        await WebhookTargets(allow_http=False, resolve=resolver(DNS)).check(
            "http://hooks.example.com"
        )
