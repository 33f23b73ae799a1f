"""deploy/k8s scales out as the clustered design says: the rendered production overlay runs NATS
as three JetStream peers on separate machines with R3 streams, keeps quorum and a replica of
every service through node drains, starts services only on a migrated schema, and autoscales on
metrics the code exports (checked against the code, never against a hand-typed list)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic.script import ScriptDirectory
from prometheus_client import REGISTRY, generate_latest

from agentbus_shared import manifest, migrations
from agentbus_shared.testing.checkout import api_docs_generator

from . import derive
from .kube import K8S, Doc, container_env, find, one, pod_spec, render, selects

PROD = "prod"
ADAPTER_VALUES = K8S / "prometheus-adapter" / "values.yaml"
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
SETTINGS = "agentbus-settings"
NATS_EXPORTER_METRIC = "jetstream_consumer_num_pending"


def prod() -> tuple[Doc, ...]:
    return render(PROD)


def pod_labels(doc: Doc) -> dict[str, str]:
    return doc["spec"]["template"]["metadata"]["labels"]  # type: ignore[no-any-return]


def nats_conf() -> str:
    config = next(d for d in find(prod(), "ConfigMap") if d["metadata"]["name"].startswith("nats-"))
    return config["data"]["nats.conf"]  # type: ignore[no-any-return]


def hpa(name: str) -> Doc | None:
    found = find(prod(), "HorizontalPodAutoscaler", name)
    return found[0] if found else None


def least_replicas(service: str) -> int:
    """The fewest replicas a service runs in production: its HPA's floor, else its count."""
    autoscaler = hpa(service)
    if autoscaler:
        return int(autoscaler["spec"]["minReplicas"])
    return int(one(prod(), "Deployment", service)["spec"]["replicas"])


# ------------------------------------------------------------------ what the code says
@functools.cache
def runtimes() -> dict[str, Any]:
    """Every service's process as built, not connected."""
    return api_docs_generator().build_runtimes()  # type: ignore[no-any-return]


@functools.cache
def exported_metrics() -> frozenset[str]:
    """The names the services' processes expose on /metrics (counters with ``_total``)."""
    runtimes()
    text = generate_latest(REGISTRY).decode()
    return frozenset(re.findall(r"^# TYPE (\S+) ", text, re.M))


def schema_head(service: manifest.ServiceManifest) -> str:
    config = migrations.alembic_config(service, "postgresql://probe@localhost/probe")
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head, f"{service.name} has no migrations"
    return head


def adapter_rules() -> dict[str, dict[str, Any]]:
    """prometheus-adapter's rules by the metric name the HPAs ask for."""
    rules = yaml.safe_load(ADAPTER_VALUES.read_text())["rules"]
    return {
        rule["name"]["as"]: {**rule, "kind": kind}
        for kind in ("custom", "external")
        for rule in rules[kind]
    }


def cores(quantity: str) -> float:
    return int(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def series_metric(rule: dict[str, Any]) -> str:
    return rule["seriesQuery"].split("{", 1)[0]


# ------------------------------------------------------------------ NATS
def test_nats_is_three_jetstream_peers_on_their_own_volumes_routed_to_each_other() -> None:
    nats = one(prod(), "StatefulSet", "nats")
    replicas = nats["spec"]["replicas"]
    assert replicas == 3
    headless = one(prod(), "Service", nats["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True, "peers find each other unready"
    assert selects({"matchLabels": headless["spec"]["selector"]}, pod_labels(nats))
    conf = nats_conf()
    store_dir = re.search(r"store_dir:\s*(\S+)", conf)
    assert store_dir, "JetStream keeps its streams in files"
    claim = nats["spec"]["volumeClaimTemplates"][0]
    mounts = {m["name"]: m["mountPath"] for m in pod_spec(nats)["containers"][0]["volumeMounts"]}
    assert Path(store_dir.group(1)).is_relative_to(mounts[claim["metadata"]["name"]])
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert claim["spec"]["resources"]["requests"]["storage"]
    routes = re.findall(r"nats://(\S+):(\d+)", conf.split("cluster {", 1)[1])
    peers = [f"nats-{n}.{headless['metadata']['name']}" for n in range(replicas)]
    assert [host for host, _ in routes] == peers
    route_ports = {int(port) for _, port in routes}
    assert route_ports == {p["port"] for p in headless["spec"]["ports"] if p["name"] == "cluster"}


def test_a_node_drain_takes_one_nats_peer_never_the_quorum() -> None:
    nats = one(prod(), "StatefulSet", "nats")
    budget = one(prod(), "PodDisruptionBudget", "nats")
    assert selects(budget["spec"]["selector"], pod_labels(nats))
    replicas, unavailable = nats["spec"]["replicas"], budget["spec"]["maxUnavailable"]
    assert replicas - unavailable >= replicas // 2 + 1
    terms = pod_spec(nats)["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]
    assert any(
        t["topologyKey"] == HOSTNAME and selects(t["labelSelector"], pod_labels(nats))
        for t in terms
    ), "two NATS peers on one machine: losing it loses the quorum"
    zones = [c for c in pod_spec(nats)["topologySpreadConstraints"] if c["topologyKey"] == ZONE]
    assert zones and selects(zones[0]["labelSelector"], pod_labels(nats))


def test_every_service_and_the_streams_job_create_r3_streams() -> None:
    settings = next(
        d for d in find(prod(), "ConfigMap") if d["metadata"]["name"].startswith(SETTINGS)
    )
    replicas = one(prod(), "StatefulSet", "nats")["spec"]["replicas"]
    assert settings["data"]["NATS_STREAM_REPLICAS"] == str(replicas)
    streams = [
        j for j in find(prod(), "Job") if pod_spec(j)["containers"][0]["args"][:1] == ["streams"]
    ]
    for workload in [*find(prod(), "Deployment"), *streams]:
        container = pod_spec(workload)["containers"][0]
        sources = {s["configMapRef"]["name"] for s in container["envFrom"]}
        assert settings["metadata"]["name"] in sources, workload["metadata"]["name"]
        assert "NATS_STREAM_REPLICAS" not in container_env(container), "one value, the ConfigMap's"
    for service in derive.services():
        read = {s.env for s in derive.service_settings(service.name)}
        assert "NATS_STREAM_REPLICAS" in read, f"{service.name} creates its streams at R1"


# ------------------------------------------------------------------ services
@pytest.mark.parametrize("service", derive.service_names())
def test_a_node_drain_leaves_every_service_a_replica_on_another_machine(service: str) -> None:
    workloads = [*find(prod(), "Deployment"), *find(prod(), "StatefulSet")]
    deployment = one(prod(), "Deployment", service)
    budget = one(prod(), "PodDisruptionBudget", service)
    selected = [
        w["metadata"]["name"]
        for w in workloads
        if selects(budget["spec"]["selector"], pod_labels(w))
    ]
    assert selected == [service]
    assert budget["spec"]["minAvailable"] == 1
    assert least_replicas(service) >= 2, "one replica cannot keep one through a drain"
    spec = pod_spec(deployment)
    terms = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
    assert any(
        t["podAffinityTerm"]["topologyKey"] == HOSTNAME
        and selects(t["podAffinityTerm"]["labelSelector"], pod_labels(deployment))
        for t in terms
    )
    spread = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
    assert spread == {HOSTNAME, ZONE}
    assert all(
        c["whenUnsatisfiable"] == "ScheduleAnyway" for c in spec["topologySpreadConstraints"]
    )


@pytest.mark.parametrize("service", manifest.with_schema(), ids=lambda s: s.name)
def test_services_start_only_on_the_schema_revision_they_need(
    service: manifest.ServiceManifest,
) -> None:
    head = schema_head(service)
    assert re.fullmatch(rf"{service.schema}_\d{{4}}", head), (
        f"{head}: revisions are named <schema>_NNNN, so 'at this revision or later' compares as text"
    )
    spec = pod_spec(one(prod(), "Deployment", service.name))
    waits = [c for c in spec.get("initContainers", []) if c["name"] == "wait-for-schema"]
    assert waits, f"{service.name} starts before its schema is migrated"
    env = container_env(waits[0])
    assert env["SCHEMA"]["value"] == service.schema
    assert env["SCHEMA_REVISION"]["value"] == head, (
        f"deploy/k8s/base/services/{service.name}.yaml: SCHEMA_REVISION must be {head}"
    )
    assert "$SCHEMA.alembic_version" in " ".join(waits[0]["args"])
    migrate = next(
        j
        for j in find(prod(), "Job")
        if pod_spec(j)["containers"][0]["args"] == ["migrate", service.name]
    )
    job_env = container_env(pod_spec(migrate)["containers"][0])
    assert env["DATABASE_URL"] == job_env["DATABASE_URL"], (
        "the wait reads the database the job migrates"
    )
    assert (
        waits[0]["image"].rsplit(":", 1)[0]
        == pod_spec(migrate)["containers"][0]["image"].rsplit(":", 1)[0]
    )


def test_migration_and_stream_jobs_are_idempotent_and_gone_before_the_next_release() -> None:
    jobs = find(prod(), "Job")
    assert jobs
    for job in jobs:
        name = job["metadata"]["name"]
        assert "generateName" not in job["metadata"], name
        assert 0 < job["spec"]["ttlSecondsAfterFinished"] <= 600, (
            f"{name}: a finished Job must go before the next release applies a new template"
        )
        assert pod_spec(job)["restartPolicy"] == "OnFailure"
        assert pod_spec(job)["containers"][0]["args"][0] in {"migrate", "streams"}, "idempotent"
        assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"


# ------------------------------------------------------------------ autoscaling
def test_autoscaled_deployments_leave_their_count_to_the_autoscaler() -> None:
    """A count in the manifest would reset the autoscaler's on every apply (below its floor)."""
    for overlay in (PROD, "dev"):
        for autoscaler in find(render(overlay), "HorizontalPodAutoscaler"):
            target = autoscaler["spec"]["scaleTargetRef"]["name"]
            assert "replicas" not in one(render(overlay), "Deployment", target)["spec"], (
                f"{overlay}: Deployment {target} is autoscaled and must not set spec.replicas"
            )


def test_gateway_and_chat_scale_on_what_their_processes_count() -> None:
    rules = adapter_rules()
    for service in ("gateway", "chat"):
        autoscaler = hpa(service)
        assert autoscaler, service
        pods = [
            m["pods"]["metric"]["name"]
            for m in autoscaler["spec"]["metrics"]
            if m["type"] == "Pods"
        ]
        assert pods, f"{service} scales on CPU alone"
        for name in pods:
            assert rules[name]["kind"] == "custom"
            assert series_metric(rules[name]) in exported_metrics(), name
    gateway_rule = rules["agentbus_http_requests_per_second"]
    assert series_metric(gateway_rule) == "agentbus_http_requests_total"
    assert "rate(" in gateway_rule["metricsQuery"]


def test_billing_scales_on_the_lag_of_every_one_of_its_consumers() -> None:
    autoscaler = hpa("billing")
    assert autoscaler
    external = [
        m["external"]["metric"] for m in autoscaler["spec"]["metrics"] if m["type"] == "External"
    ]
    scaled_on = {
        (m["selector"]["matchLabels"]["stream_name"], m["selector"]["matchLabels"]["consumer_name"])
        for m in external
    }
    consumers = {(c.stream.name, c.name) for c in runtimes()["billing"].consumers}
    assert scaled_on == consumers
    rules = adapter_rules()
    for metric in external:
        rule = rules[metric["name"]]
        assert rule["kind"] == "external"
        assert series_metric(rule) == NATS_EXPORTER_METRIC
    exporter = next(
        c
        for c in pod_spec(one(prod(), "StatefulSet", "nats"))["containers"]
        if c["name"] == "exporter"
    )
    assert "-jsz=all" in exporter["args"], "the exporter reports consumers only with -jsz=all"


@pytest.mark.parametrize("name", ["gateway", "chat", "billing"])
def test_cpu_is_the_floor_of_every_autoscaler(name: str) -> None:
    autoscaler = hpa(name)
    assert autoscaler
    resources = [m["resource"] for m in autoscaler["spec"]["metrics"] if m["type"] == "Resource"]
    assert [r["name"] for r in resources] == ["cpu"]
    target = resources[0]["target"]
    assert target["type"] == "AverageValue", "in cores: a share of the request would lead"
    limit = pod_spec(one(prod(), "Deployment", name))["containers"][0]["resources"]["limits"]
    assert cores(target["averageValue"]) < cores(limit["cpu"])
