"""The images built and run, and deploy/compose.yml up, with this machine's podman.

Every target of the Dockerfile and the engine stand-ins are built once per change of their inputs
(tests/deploy/containers.py; their sizes and build times are printed at the end of the run and
listed in deploy/README.md). Each image runs as uid 10001 on a read-only root with a tmpfs /tmp;
the ops image's CLI answers ``--help``; the compose stack comes up (migrations, streams, every
service healthy), the gateway's published port serves the web app built into its image, a user's
smoke journey passes through that port, and ``podman-compose down`` leaves nothing of the
project behind.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from agentbus_gateway.webapp import IMMUTABLE, content_security_policy, nonce_of
from agentbus_shared.testing.stack import (
    read_sse,
    signed_stripe_event,
    stripe_customer_created,
)
from agentbus_shared.testing.waiting import eventually_blocking

from . import containers, derive
from .compose_stack import ComposeStack, compose_stack

# Building every image on a fresh machine takes minutes; the module runs on one worker.
pytestmark = [pytest.mark.containers, pytest.mark.timeout(900)]

MAX_VENV_MB = 300
PASSWORD = "orchard-compass-velvet-58"
# What an image's interpreter finds: who it runs as, whether / and /tmp take writes, which
# services it holds (each one's app imports).
PROBE = """
import importlib, json, os
from agentbus_shared.manifest import discover
def writable(path):
    try:
        open(path, "w").close()
        return True
    except OSError:
        return False
print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(),
    "root_writable": writable("/opt/venv/probe"), "tmp_writable": writable("/tmp/probe"),
    "services": [importlib.import_module(m.module + ".app") and m.name for m in discover()],
}))
"""


@pytest.fixture(scope="module")
def images() -> containers.Images:
    return containers.build_images()


@pytest.fixture(scope="module")
def stack(
    images: containers.Images, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    yield from compose_stack(tmp_path_factory.mktemp("compose"), images)


def test_every_target_and_engine_stand_in_is_built_and_its_size_reported(
    images: containers.Images,
) -> None:
    assert list(images.targets) == list(containers.TARGETS)
    assert list(images.engines) == list(containers.ENGINES)
    assert len({image.tag for image in images.targets.values()}) == 1, "one version for all"
    report = json.loads(containers.REPORT.read_text())["report"]
    for image in images.all():
        assert image.name in report
    for name, image in images.targets.items():
        # What a target adds to its base is the venv (no uv, no sources, no build tools).
        base = images.engines["postgres"] if name == "ops" else images.base
        added = (image.size - base.size) / 1e6
        assert added < MAX_VENV_MB, f"{name} adds {added:.0f} MB to {base.name}"


@pytest.mark.parametrize("target", containers.TARGETS)
def test_image_runs_unprivileged_on_a_read_only_root(
    images: containers.Images, target: str
) -> None:
    found = json.loads(
        containers.run_image(images.targets[target], "-c", PROBE, entrypoint="python")
    )
    assert (found["uid"], found["gid"]) == (containers.USER_ID, containers.USER_ID)
    assert found["root_writable"] is False
    assert found["tmp_writable"] is True
    assert found["services"] == (derive.service_names() if target == "ops" else [target])


def test_ops_image_answers_help_with_the_operator_commands(images: containers.Images) -> None:
    # The image's entrypoint is the agentbus CLI and --help its default command.
    usage = containers.run_image(images.targets["ops"])
    for command in ("migrate", "streams", "db"):
        assert command in usage


# ------------------------------------------------------------------ compose
def test_compose_runs_every_service_unprivileged_on_a_read_only_root(stack: ComposeStack) -> None:
    for service in derive.service_names():
        name = stack.container(service)
        read_only = containers.podman(
            "inspect", "--format", "{{.HostConfig.ReadonlyRootfs}}", name
        ).strip()
        assert read_only == "true", service
        assert containers.podman("exec", name, "id", "-u").strip() == str(containers.USER_ID)


def test_gateway_image_serves_the_web_app_built_into_it(stack: ComposeStack) -> None:
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        page = client.get("/")
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        nonce = nonce_of(page.text)
        assert nonce, "index.html carries no style nonce"
        assert page.headers["content-security-policy"] == content_security_policy(nonce)
        scripts = re.findall(r'<script[^>]+src="(/assets/[^"]+\.js)"', page.text)
        assert scripts, f"index.html loads no hashed script:\n{page.text}"
        asset = client.get(scripts[0])
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == IMMUTABLE
        assert "javascript" in asset.headers["content-type"]


def test_smoke_journey_through_the_published_gateway(stack: ComposeStack) -> None:
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as client:
        tenant_id, headers = _register(client)
        _chat_stream_ends_in_one_final_answer(client, headers)
        event_id = f"evt_compose{int(time.time() * 1000)}"
        secret = stack.settings["STRIPE_WEBHOOK_SECRETS"].split(",")[0]
        body, signed = signed_stripe_event(stripe_customer_created(event_id, tenant_id), secret)
        accepted = client.post("/webhooks/stripe", content=body, headers=signed)
        assert accepted.status_code == 200, accepted.text

    def applied() -> bool:
        row = stack.psql(
            f"SELECT status, outcome FROM billing.stripe_events WHERE id = '{event_id}'"
        )
        return row == "processed|applied"

    eventually_blocking(applied, what="billing applied the webhook", timeout=60, interval=0.5)
    customer = stack.psql(f"SELECT count(*) FROM billing.customers WHERE tenant_id = '{tenant_id}'")
    assert customer == "1"


def test_compose_down_leaves_nothing_of_the_project(stack: ComposeStack) -> None:
    stack.down()
    assert stack.leftovers() == {"containers": [], "pods": [], "networks": [], "volumes": []}


def _register(client: httpx.Client) -> tuple[str, dict[str, str]]:
    reply = client.post(
        "/api/v1/auth/register",
        json={"email": "compose@example.com", "password": PASSWORD, "tenant_name": "Compose"},
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    return body["tenant"]["id"], {"Authorization": f"Bearer {body['tokens']['access_token']}"}


def _chat_stream_ends_in_one_final_answer(client: httpx.Client, headers: dict[str, str]) -> None:
    with client.stream(
        "POST", "/api/v1/chat/stream", json={"message": "What is (12 * 7) + 3?"}, headers=headers
    ) as reply:
        assert reply.status_code == 200, reply.read().decode()
        names = [frame.event for frame in read_sse(reply)]
    assert names[0] == "conversation", names
    assert "error" not in names
    assert names.count("final") == 1 and names[-1] == "final", names
