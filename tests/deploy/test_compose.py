"""deploy/compose.yml, .env.example and the observability stack, against the code and the spec."""

from __future__ import annotations

import importlib
import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml
from prometheus_client import REGISTRY

from agentbus_shared.contracts.streams import STRIPE_WEBHOOKS
from agentbus_shared.settings_catalog import Kind

from . import derive
from .natsbus import password_variables

COMPOSE_FILE = derive.DEPLOY / "compose.yml"
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
ENV_EXAMPLE = derive.ROOT / ".env.example"
OBSERVABILITY = derive.DEPLOY / "observability"
DASHBOARDS = OBSERVABILITY / "grafana" / "dashboards"
# Metrics that come from outside the code: prometheus-nats-exporter (-varz, -jsz) and the
# collector's span metrics.
EXTERNAL_METRIC_PREFIXES = ("gnatsd_", "jetstream_", "traces_")


def documented_variables() -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.M))


def interpolated(text: str) -> dict[str, str]:
    """``${NAME…}`` references in compose: name → the modifier (``:?``, ``:-`` or empty)."""
    return {m[0]: m[1] for m in re.findall(r"\$\{([A-Z][A-Z0-9_]*)(:[?-])?", text)}


def test_compose_file_follows_the_compose_specification() -> None:
    schema = json.loads(
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text()
    )
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(COMPOSE), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])


def test_every_mounted_file_exists() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_FILE.parent / source).exists(), f"{name} mounts missing {source}"


@pytest.mark.parametrize("service", derive.services(), ids=lambda s: s.name)
def test_every_service_runs_in_compose_with_its_own_bus_user(
    service: derive.ServiceManifest,
) -> None:
    assert service.name in SERVICES, (
        f"deploy/compose.yml has no service {service.name}: add one like auth's "
        "(build target, HTTP_PORT, NATS_USER/NATS_PASSWORD, healthcheck)"
    )
    spec = SERVICES[service.name]
    env = spec["environment"]
    assert spec["build"]["target"] == service.name
    assert env["HTTP_PORT"] == str(service.default_port)
    assert env["NATS_USER"] == service.name
    assert interpolated(env["NATS_PASSWORD"]) == {f"NATS_{service.name.upper()}_PASSWORD": ":?"}
    for url in ("NATS_URL", "DATABASE_URL", "REDIS_URL"):
        assert url in env
    assert spec["restart"] == "unless-stopped"
    assert spec["read_only"] is True
    assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    if service.metrics_port:
        assert env[f"{service.name.upper()}_METRICS_PORT"] == str(service.metrics_port)
        published = " ".join(str(p) for p in spec.get("ports", []))
        assert f":{service.metrics_port}" not in published, "metrics are never published"
    probe = " ".join(spec["healthcheck"]["test"])
    assert f"127.0.0.1:{service.default_port}/health/ready" in probe
    assert "backend" in spec["networks"]


def test_only_the_gateway_is_published_and_it_waits_for_every_service() -> None:
    published = {name for name, s in SERVICES.items() if s.get("ports")}
    assert published == {derive.GATEWAY, "grafana"}
    waits_for = set(SERVICES[derive.GATEWAY]["depends_on"])
    backends = {s for s in derive.service_names() if s != derive.GATEWAY}
    assert backends <= waits_for
    assert all(
        SERVICES[s]["depends_on"][s2]["condition"] == "service_healthy"
        for s in [derive.GATEWAY]
        for s2 in backends
    )
    assert "edge" not in {n for b in backends for n in SERVICES[b]["networks"]}
    assert COMPOSE["networks"]["backend"]["internal"] is True


def test_engines_are_the_real_ones_with_health_checks_and_volumes() -> None:
    assert SERVICES["nats"]["image"].startswith("nats:2.")
    assert SERVICES["postgres"]["image"].startswith("postgres:16")
    assert SERVICES["redis"]["image"].startswith("redis:7")
    for engine in ("nats", "postgres", "redis"):
        assert SERVICES[engine]["healthcheck"]["test"], engine
        assert any(
            v.endswith(("/data", "/var/lib/postgresql/data")) for v in SERVICES[engine]["volumes"]
        )
    assert "js-enabled-only" in " ".join(SERVICES["nats"]["healthcheck"]["test"])


def test_test_override_swaps_only_the_engines_images() -> None:
    """tests/deploy/compose.test.yml brings this file up where no registry is reachable: it may
    replace what cannot be pulled (the engines' images) and nothing else."""
    override = yaml.safe_load((derive.ROOT / "tests" / "deploy" / "compose.test.yml").read_text())
    assert set(override) == {"services"}
    assert {name: set(spec) for name, spec in override["services"].items()} == {
        engine: {"image"} for engine in ("nats", "postgres", "redis")
    }


def test_nats_gets_every_password_its_accounts_need() -> None:
    env = SERVICES["nats"]["environment"]
    assert set(password_variables()) <= set(env), (
        "deploy/compose.yml: give the nats service every password accounts.conf reads"
    )


def test_migrations_and_streams_run_once_before_the_services_as_the_ops_user() -> None:
    job = SERVICES["migrate"]
    assert job["build"]["target"] == "ops"
    assert job["restart"] == "no"
    command = " ".join(job["command"])
    assert "agentbus migrate" in command
    assert "agentbus streams apply" in command
    assert job["environment"]["NATS_USER"] == "ops"


# ------------------------------------------------------------------ .env.example
def test_every_operator_setting_is_in_env_example() -> None:
    missing = sorted({s.env for s in derive.operator_settings()} - documented_variables())
    assert not missing, (
        f".env.example does not document {missing}: add each with a comment saying what it "
        "does (commented out with its default, or REQUIRED)"
    )


def test_env_example_holds_only_operator_settings() -> None:
    named = {name: derive.all_settings().get(name) for name in documented_variables()}
    others = sorted(n for n, s in named.items() if s is not None and s.kind is not Kind.OPERATOR)
    assert not others, (
        f".env.example names {others}, which compose or Kubernetes set for each process or "
        "which are tuning knobs: docs/settings.md documents them, .env.example does not"
    )


def test_every_variable_compose_requires_is_in_env_example() -> None:
    used = interpolated(COMPOSE_FILE.read_text())
    missing = sorted(set(used) - documented_variables())
    assert not missing, f"compose.yml reads {missing} that .env.example does not document"
    required = {name for name, modifier in used.items() if modifier == ":?"}
    blank_required = set(re.findall(r"^([A-Z][A-Z0-9_]*)=$", ENV_EXAMPLE.read_text(), re.M))
    assert required <= blank_required, "required secrets stay blank in .env.example"


def test_env_example_names_nothing_unknown() -> None:
    known = set(derive.all_settings()) | set(interpolated(COMPOSE_FILE.read_text()))
    stale = sorted(documented_variables() - known)
    assert not stale, f".env.example documents {stale}, which nothing reads"


# ------------------------------------------------------------------ observability
def test_observability_runs_only_with_its_profile() -> None:
    for name in ("otel-collector", "prometheus", "grafana", "nats-exporter", "jaeger"):
        assert SERVICES[name]["profiles"] == ["observability"], name
    for name in ["nats", "postgres", "redis", "migrate", *derive.service_names()]:
        assert "profiles" not in SERVICES[name], name


def test_prometheus_scrapes_every_service() -> None:
    config = yaml.safe_load((OBSERVABILITY / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for group in job["static_configs"]
        for target in group["targets"]
    }
    for service in derive.services():
        assert f"{service.name}:{service.scrape_port}" in targets, (
            f"deploy/observability/prometheus.yml does not scrape {service.name}"
        )
    assert "gateway:8000" not in targets, "the gateway's public port serves no metrics"
    assert {"nats-exporter:7777", "otel-collector:8889"} <= targets


def _dashboard_queries() -> list[tuple[str, str]]:
    queries = []
    for path in DASHBOARDS.glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            queries.extend((panel["title"], t["expr"]) for t in panel.get("targets", []))
    return queries


def _code_metrics() -> set[str]:
    for service in derive.services():
        importlib.import_module(f"{service.module}.app")
    # Every sample name each registered metric exposes (…_total, …_bucket, …).
    return set(REGISTRY._names_to_collectors)


def test_dashboard_queries_only_metrics_that_exist() -> None:
    code = _code_metrics()
    queried = 0
    for title, expr in _dashboard_queries():
        for name in set(re.findall(r"\b((?:agentbus|gnatsd|jetstream|traces)_[a-z0-9_]+)\b", expr)):
            queried += 1
            if name.startswith(EXTERNAL_METRIC_PREFIXES):
                continue
            assert name in code, f"panel {title!r} queries {name}, which no code defines"
    assert queried >= 10


def test_dashboard_shows_gateway_red_bus_throughput_and_webhook_lag() -> None:
    exprs = " ".join(expr for _, expr in _dashboard_queries())
    assert "agentbus_http_requests_total" in exprs  # the gateway's requests and errors
    assert "agentbus_http_request_seconds_bucket" in exprs  # and their duration
    assert "agentbus_rpc_handled_total" in exprs
    assert "agentbus_events_published_total" in exprs
    assert f'stream_name="{STRIPE_WEBHOOKS.name}"' in exprs
    assert "jetstream_consumer_num_pending" in exprs


def test_grafana_is_provisioned_from_the_repository() -> None:
    provisioning = OBSERVABILITY / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "datasources.yml").read_text())
    uids = {d["uid"] for d in datasources["datasources"]}
    for path in DASHBOARDS.glob("*.json"):
        for panel in json.loads(path.read_text())["panels"]:
            if "datasource" in panel:
                assert panel["datasource"]["uid"] in uids
    provider = yaml.safe_load((provisioning / "dashboards" / "dashboards.yml").read_text())
    mounted = {v.split(":")[1] for v in SERVICES["grafana"]["volumes"]}
    assert provider["providers"][0]["options"]["path"] in mounted


def test_collector_pipelines_use_only_defined_components() -> None:
    config = yaml.safe_load((OBSERVABILITY / "otel-collector.yaml").read_text())
    defined = {
        kind: set(config.get(kind, {}))
        for kind in ("receivers", "processors", "exporters", "connectors")
    }
    for name, pipeline in config["service"]["pipelines"].items():
        for receiver in pipeline["receivers"]:
            assert receiver in defined["receivers"] | defined["connectors"], (name, receiver)
        for processor in pipeline.get("processors", []):
            assert processor in defined["processors"], (name, processor)
        for exporter in pipeline["exporters"]:
            assert exporter in defined["exporters"] | defined["connectors"], (name, exporter)
    assert "4318" in config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]


def test_services_send_traces_to_the_collector_when_told() -> None:
    assert "OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318" in ENV_EXAMPLE.read_text()
