"""deploy/k8s: every overlay renders with ``kubectl kustomize``, validates against the Kubernetes
schemas, and covers every service, setting and rule the code and DESIGN.md call for."""

from __future__ import annotations

import re
import secrets
from typing import Any

import kubernetes_validate
import pytest
from pydantic import ValidationError

from agentbus_shared import cli
from agentbus_shared.settings_catalog import settings_class

from . import derive
from .kube import (
    KUBERNETES_VERSION,
    OVERLAYS,
    Doc,
    Network,
    address,
    container_env,
    find,
    one,
    pod,
    pod_spec,
    render,
)
from .natsbus import ACCOUNTS_CONF, password_variables

SERVICES = derive.services()
SETTINGS_ENV = derive.DEPLOY / "k8s" / "base" / "config" / "settings.env"
FIRST_DEPLOY = derive.ROOT / "docs" / "runbooks" / "first-deploy.md"
CNPG = "postgresql.cnpg.io/v1"
WORKLOADS = ("Deployment", "StatefulSet", "Job")
AUTOSCALED = ("gateway", "chat", "billing")
PRIVATE_IP = "10.20.30.40"
PUBLIC_IP = "203.0.113.10"


def _namespace_name(overlay: str) -> str:
    return next(d for d in render(overlay) if d["kind"] == "Namespace")["metadata"]["name"]


def deployment(overlay: str, service: str) -> Doc:
    return one(render(overlay), "Deployment", service)


def main_container(doc: Doc) -> Doc:
    return pod_spec(doc)["containers"][0]  # type: ignore[no-any-return]


# ------------------------------------------------------------------ rendering and schemas
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_into_its_own_namespace(overlay: str) -> None:
    docs = render(overlay)
    namespace = _namespace_name(overlay)
    for doc in docs:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == namespace, (doc["kind"], doc["metadata"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_manifests_validate_against_the_kubernetes_schemas(overlay: str) -> None:
    failures = []
    for doc in render(overlay):
        if doc["apiVersion"] == CNPG:
            continue  # custom resources: test_cloudnativepg_resources_are_well_formed
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            failures.append(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError:
            failures.append(f"{doc['kind']} {doc['apiVersion']}: no schema (unknown kind?)")
    assert not failures, "\n".join(failures)


def _check_fields(doc: Doc, required: dict[str, type | tuple[type, ...]]) -> list[str]:
    problems = []
    for dotted, kind in required.items():
        value: Any = doc
        for part in dotted.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, kind):
            problems.append(f"{doc['kind']}/{doc['metadata']['name']}: {dotted} must be {kind}")
    return problems


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_cloudnativepg_resources_are_well_formed(overlay: str) -> None:
    docs = render(overlay)
    custom = [d for d in docs if d["apiVersion"] == CNPG]
    assert {d["kind"] for d in custom} <= {"Cluster", "ScheduledBackup"}
    cluster = one(docs, "Cluster", "agentbus-db")
    problems = _check_fields(
        cluster,
        {
            "spec.instances": int,
            "spec.imageName": str,
            "spec.storage.size": str,
            "spec.bootstrap.initdb.database": str,
            "spec.bootstrap.initdb.owner": str,
        },
    )
    assert not problems, problems
    assert re.search(r":16\.\d+$", cluster["spec"]["imageName"]), "PostgreSQL 16, as compose"
    assert set(cluster["spec"]) <= {
        "instances",
        "imageName",
        "primaryUpdateStrategy",
        "bootstrap",
        "postgresql",
        "storage",
        "resources",
        "inheritedMetadata",
        "affinity",
        "backup",
        "monitoring",
    }, "unexpected Cluster fields: check them against the CloudNativePG API"
    for backup in find(docs, "ScheduledBackup"):
        assert backup["spec"]["cluster"]["name"] == "agentbus-db"
        assert len(backup["spec"]["schedule"].split()) == 6, "CloudNativePG cron has seconds"


def test_production_postgres_is_replicated_and_backed_up() -> None:
    cluster = one(render("prod"), "Cluster", "agentbus-db")["spec"]
    assert cluster["instances"] >= 3
    store = cluster["backup"]["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    assert store["s3Credentials"]["secretAccessKey"]["name"]
    assert cluster["affinity"]["podAntiAffinityType"] == "required"
    assert find(render("prod"), "ScheduledBackup")


# ------------------------------------------------------------------ services
@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_service_has_a_deployment_with_probes_and_resources(
    overlay: str, service: derive.ServiceManifest
) -> None:
    found = find(render(overlay), "Deployment", service.name)
    assert found, (
        f"no Deployment for service {service.name}: add deploy/k8s/base/services/"
        f"{service.name}.yaml (like auth.yaml) and list it in deploy/k8s/base/kustomization.yaml"
    )
    container = main_container(found[0])
    assert container["image"].split("/")[-1].split(":")[0] == f"agentbus-{service.name}"
    port = service.default_port
    assert container["ports"][0]["containerPort"] == port
    assert container_env(container)["HTTP_PORT"]["value"] == str(port)
    assert container_env(container)["NATS_USER"]["value"] == service.name
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] in ("http", port)
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    service_doc = one(render(overlay), "Service", service.name)
    assert service_doc["spec"]["ports"][0]["port"] == port
    assert one(render(overlay), "PodDisruptionBudget", service.name)
    policy = one(render(overlay), "NetworkPolicy", service.name)
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_meet_the_restricted_security_standard(overlay: str) -> None:
    for doc in render(overlay):
        if doc["kind"] not in WORKLOADS:
            continue
        spec = pod_spec(doc)
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec.get("automountServiceAccountToken") is False, where
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= set(container["resources"]["limits"]), where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_gateway_chat_and_billing_scale_on_load(overlay: str) -> None:
    for name in AUTOSCALED:
        hpa = one(render(overlay), "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"] >= 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_as_a_job_per_service_and_streams_are_applied_once(overlay: str) -> None:
    docs = render(overlay)
    for service in derive.services():
        if not service.schema:
            continue
        jobs = [
            j for j in find(docs, "Job") if main_container(j)["args"] == ["migrate", service.name]
        ]
        assert len(jobs) == 1, (
            f"no migration Job for {service.name}: add one to deploy/k8s/base/jobs.yaml"
        )
        env = container_env(main_container(jobs[0]))
        assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "agentbus-db-app"
        assert main_container(jobs[0])["image"].split("/")[-1].startswith("agentbus-ops")
    streams = [j for j in find(docs, "Job") if main_container(j)["args"] == ["streams", "apply"]]
    assert len(streams) == 1
    assert container_env(main_container(streams[0]))["NATS_USER"]["value"] == "ops"


# ------------------------------------------------------------------ settings
def documented_settings() -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", SETTINGS_ENV.read_text(), re.M))


def test_every_operator_setting_is_in_the_configmap() -> None:
    missing = sorted({s.env for s in derive.operator_settings()} - documented_settings())
    assert not missing, (
        f"deploy/k8s/base/config/settings.env does not list {missing}: add each operator "
        "setting (or '# NAME=default'); for a secret, a comment naming its Secret, and reference "
        "it from that Secret in the service's Deployment"
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_configmap_names_nothing_unknown(overlay: str) -> None:
    configmap = one(render(overlay), "ConfigMap", _settings_configmap(overlay))["data"]
    stale = sorted((documented_settings() | set(configmap)) - set(derive.all_settings()))
    assert not stale, f"the {overlay} settings ConfigMap names {stale}, which nothing reads"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_secret_setting_comes_from_a_secret(
    overlay: str, service: derive.ServiceManifest
) -> None:
    env = container_env(main_container(deployment(overlay, service.name)))
    configmap = one(render(overlay), "ConfigMap", _settings_configmap(overlay))["data"]
    from_secrets = {n for n, e in env.items() if "secretKeyRef" in e.get("valueFrom", {})}
    for setting in derive.service_settings(service.name):
        if not setting.secret:
            continue
        if setting.env == "DATABASE_URL" and not service.schema:
            continue  # a service without a schema never connects to PostgreSQL
        if setting.env == "REDIS_URL" and not service.needs_redis:
            continue  # nor one without needs_redis to Redis
        assert setting.env not in configmap, f"{setting.env} is a secret: not in the ConfigMap"
        assert setting.env in env, (
            f"Deployment {service.name} does not set secret {setting.env}: add an env entry "
            "with valueFrom.secretKeyRef (and list the Secret in docs/runbooks/first-deploy.md)"
        )
        entry = env[setting.env]
        if "valueFrom" not in entry:
            references = set(re.findall(r"\$\(([A-Z0-9_]+)\)", entry["value"]))
            assert references and references <= from_secrets, (
                f"{setting.env} in {service.name} holds a literal secret"
            )


def _settings_configmap(overlay: str) -> str:
    names = [
        d["metadata"]["name"]
        for d in find(render(overlay), "ConfigMap")
        if d["metadata"]["name"].startswith("agentbus-settings")
    ]
    assert len(names) == 1
    return names[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_configmap_and_deployment_values_load_as_the_service_settings(
    overlay: str, service: derive.ServiceManifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in derive.all_settings():
        monkeypatch.delenv(name, raising=False)
    configmap = one(render(overlay), "ConfigMap", _settings_configmap(overlay))["data"]
    for key, value in configmap.items():
        monkeypatch.setenv(key, value)
    for name, entry in container_env(main_container(deployment(overlay, service.name))).items():
        if "value" in entry and "$(" not in entry["value"]:
            monkeypatch.setenv(name, entry["value"])
    # Stand-ins for what the Secrets hold in a real cluster: distinct random keys, as production
    # refuses short, repetitive or shared ones.
    for setting in derive.service_settings(service.name):
        if setting.secret:
            monkeypatch.setenv(setting.env, f"p{secrets.token_hex(24)}")
    monkeypatch.setenv("DATABASE_URL", "postgresql://agentbus:probe@agentbus-db-rw:5432/agentbus")
    monkeypatch.setenv("REDIS_URL", "redis://:probe@redis:6379/0")
    try:
        settings = settings_class(service)(_env_file=None)  # type: ignore[call-arg]
    except ValidationError as exc:
        pytest.fail(f"{overlay} ConfigMap/Deployment values do not load for {service.name}: {exc}")
    assert settings.http_port == service.default_port
    assert settings.nats_user == service.name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ops_jobs_load_their_settings_with_only_what_the_job_is_given(
    overlay: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = render(overlay)
    configmap = one(docs, "ConfigMap", _settings_configmap(overlay))["data"]
    commands = {"migrate": cli.SchemaCommandSettings, "streams": cli.BusCommandSettings}
    jobs = [j for j in find(docs, "Job") if pod_spec(j)["containers"][0]["args"][0] in commands]
    assert jobs
    for job in jobs:
        for name in derive.all_settings():
            monkeypatch.delenv(name, raising=False)
        for key, value in configmap.items():
            monkeypatch.setenv(key, value)
        container = pod_spec(job)["containers"][0]
        for name, entry in container_env(container).items():
            # A Secret's value stands in as a random password, inside a URL where one is one.
            stand_in = f"p{secrets.token_hex(24)}"
            if name == "DATABASE_URL":
                stand_in = f"postgresql://agentbus:{stand_in}@agentbus-db-rw:5432/agentbus"
            monkeypatch.setenv(name, entry.get("value", stand_in))
        command_settings = commands[container["args"][0]]
        try:
            command_settings(_env_file=None)  # type: ignore[call-arg]
        except ValidationError as exc:
            pytest.fail(f"{overlay} Job {job['metadata']['name']} does not load: {exc}")


# ------------------------------------------------------------------ secrets
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_is_committed_and_every_one_used_is_documented(overlay: str) -> None:
    docs = render(overlay)
    assert not find(docs, "Secret"), "Secrets are created in the cluster, never committed"
    text = str(docs)
    names = set(re.findall(r"'secretKeyRef': \{'name': '([^']+)'", text))
    names |= set(re.findall(r"'secretName': '([^']+)'", text))
    names |= set(re.findall(r"'name': '([^']+)', 'key': '[^']+'\}", text))
    runbook = FIRST_DEPLOY.read_text()
    undocumented = sorted(n for n in names if f"`{n}`" not in runbook)
    assert not undocumented, f"docs/runbooks/first-deploy.md must say how to create {undocumented}"


# ------------------------------------------------------------------ NATS
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nats_is_a_three_node_jetstream_cluster_with_the_shared_permissions(overlay: str) -> None:
    docs = render(overlay)
    nats = one(docs, "StatefulSet", "nats")
    assert nats["spec"]["replicas"] == 3
    assert nats["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    config = next(
        d for d in find(docs, "ConfigMap") if d["metadata"]["name"].startswith("nats-config")
    )
    assert config["data"]["accounts.conf"] == ACCOUNTS_CONF.read_text()
    conf = config["data"]["nats.conf"]
    assert "include accounts.conf" in conf
    routes = re.findall(r"nats://(nats-\d)\.nats-headless:6222", conf)
    assert routes == ["nats-0", "nats-1", "nats-2"]
    env = container_env(main_container(nats))
    for variable in password_variables():
        assert "secretKeyRef" in env[variable]["valueFrom"], variable
    settings = one(docs, "ConfigMap", _settings_configmap(overlay))["data"]
    assert settings["NATS_STREAM_REPLICAS"] == "3"


def test_production_bus_speaks_tls_and_services_trust_its_ca() -> None:
    docs = render("prod")
    settings = one(docs, "ConfigMap", _settings_configmap("prod"))["data"]
    assert settings["NATS_URL"].startswith("tls://")
    ca_file = settings["NATS_TLS_CA_FILE"]
    for doc in [*find(docs, "Deployment"), *find(docs, "Job")]:
        mounts = {m["mountPath"] for m in main_container(doc)["volumeMounts"]}
        assert ca_file.rsplit("/", 1)[0] in mounts, doc["metadata"]["name"]
    config = next(
        d for d in find(docs, "ConfigMap") if d["metadata"]["name"].startswith("nats-config")
    )
    assert config["data"]["nats.conf"].count("tls {") == 2, "TLS for clients and routes"


# ------------------------------------------------------------------ network
def _network(overlay: str) -> tuple[Network, dict[str, Any]]:
    docs = render(overlay)
    namespace = _namespace_name(overlay)
    network = Network(namespace, find(docs, "NetworkPolicy"))
    peers: dict[str, Any] = {}
    for doc in docs:
        if doc["kind"] in WORKLOADS:
            labels = doc["spec"]["template"]["metadata"]["labels"]
            peers[doc["metadata"]["name"]] = pod(doc["metadata"]["name"], namespace, labels)
    peers["postgres"] = pod(
        "postgres",
        namespace,
        {"cnpg.io/cluster": "agentbus-db", "app.kubernetes.io/name": "postgres"},
    )
    peers["ingress-controller"] = pod("ingress", "ingress-nginx", {"app": "ingress-nginx"})
    peers["prometheus"] = pod("prometheus", "monitoring", {"app": "prometheus"})
    peers["dns"] = pod("dns", "kube-system", {"k8s-app": "kube-dns"})
    peers["stranger"] = pod("stranger", "default", {"app.kubernetes.io/component": "service"})
    peers["private-ip"] = address("private", PRIVATE_IP)
    peers["internet"] = address("internet", PUBLIC_IP)
    return network, peers


ENGINE_PORTS = {"nats": 4222, "redis": 6379, "postgres": 5432, "dns": 53}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_services_reach_only_nats_redis_and_their_database(
    overlay: str, service: derive.ServiceManifest
) -> None:
    network, peers = _network(overlay)
    source = peers[service.name]
    allowed = (
        {"nats", "dns"}
        | ({"redis"} if service.needs_redis else set())
        | ({"postgres"} if service.schema else set())
    )
    for engine, port in ENGINE_PORTS.items():
        reached = network.can_connect(source, peers[engine], port)
        assert reached == (engine in allowed), f"{service.name} -> {engine}:{port}: {reached}"
    for other in SERVICES:
        if other.name != service.name:
            assert not network.can_connect(source, peers[other.name], other.default_port), (
                f"{service.name} reaches {other.name} directly; services talk over NATS only"
            )
    assert not network.can_connect(source, peers["private-ip"], 443)
    assert not network.can_connect(source, peers["stranger"], 8000)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_is_reachable_from_the_ingress(overlay: str) -> None:
    network, peers = _network(overlay)
    ingress = one(render(overlay), "Ingress", "gateway")
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {derive.GATEWAY}
    for service in SERVICES:
        reached = network.can_connect(
            peers["ingress-controller"], peers[service.name], service.default_port
        )
        assert reached == (service.name == derive.GATEWAY), service.name
        assert network.can_connect(peers["prometheus"], peers[service.name], service.scrape_port)
        assert not network.can_connect(peers["stranger"], peers[service.name], service.default_port)
        assert not network.can_connect(peers["stranger"], peers[service.name], service.scrape_port)
        if service.metrics_port:
            assert not network.can_connect(
                peers["ingress-controller"], peers[service.name], service.metrics_port
            ), f"the ingress reaches {service.name}'s metrics"
    for engine, port in ENGINE_PORTS.items():
        if engine != "dns":
            assert not network.can_connect(peers["ingress-controller"], peers[engine], port), engine
            assert not network.can_connect(peers["stranger"], peers[engine], port), engine


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_prometheus_scrapes_each_service_where_its_metrics_listen(
    overlay: str, service: derive.ServiceManifest
) -> None:
    docs = render(overlay)
    workload = deployment(overlay, service.name)
    annotations = workload["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(service.scrape_port)
    container = main_container(workload)
    ports = {p["containerPort"] for p in container["ports"]}
    assert service.scrape_port in ports
    if service.metrics_port:
        env = container_env(container)
        assert env[f"{service.name.upper()}_METRICS_PORT"]["value"] == str(service.metrics_port)
        metrics = one(docs, "Service", f"{service.name}-metrics")
        assert [p["port"] for p in metrics["spec"]["ports"]] == [service.metrics_port]
        public = one(docs, "Service", service.name)
        assert service.metrics_port not in [p["port"] for p in public["spec"]["ports"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_jobs_reach_the_database_and_nats_and_nats_nodes_reach_each_other(overlay: str) -> None:
    network, peers = _network(overlay)
    for name, peer in peers.items():
        if name.startswith("migrate-") or name == "agentbus-streams":
            assert network.can_connect(peer, peers["postgres"], 5432)
            assert network.can_connect(peer, peers["nats"], 4222)
            assert not network.can_connect(peer, peers["redis"], 6379)
            assert not network.can_connect(peer, peers["internet"], 443)
    assert network.can_connect(peers["nats"], peers["nats"], 6222)
    for name, peer in peers.items():
        if name != "nats":
            assert not network.can_connect(peer, peers["nats"], 6222), f"{name} reaches the routes"
