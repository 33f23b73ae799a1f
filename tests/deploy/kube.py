"""Rendering the kustomize overlays, and a small evaluator of NetworkPolicy semantics.

The evaluator follows the NetworkPolicy rules that matter here: a pod is
isolated for a direction once any policy selecting it names that direction;
then a connection needs a rule whose peer (pod selector, namespace selector,
both, or an IP block) and port both match; a connection between two pods
needs the source's egress and the destination's ingress.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any

import yaml

from .derive import DEPLOY

K8S = DEPLOY / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
KUBERNETES_VERSION = "1.32"
Doc = dict[str, Any]


def kubectl() -> str:
    """``$KUBECTL``, else the one ``scripts/ensure-kubectl.sh`` unpacked, else ``kubectl``."""
    fetched = DEPLOY.parent / "var" / "tools" / "root" / "usr" / "bin" / "kubectl"
    found = (
        os.environ.get("KUBECTL")
        or (str(fetched) if fetched.exists() else None)
        or shutil.which("kubectl")
    )
    if not found:
        raise AssertionError(
            "kubectl is needed to render deploy/k8s (kubectl kustomize): `task pytest` fetches "
            "it with scripts/ensure-kubectl.sh; or set KUBECTL=/path/to/kubectl"
        )
    return found


@functools.cache
def render(overlay: str) -> tuple[Doc, ...]:
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def find(docs: tuple[Doc, ...], kind: str, name: str | None = None) -> list[Doc]:
    return [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(doc: Doc) -> Doc:
    return doc["spec"]["template"]["spec"]  # type: ignore[no-any-return]


def container_env(container: Doc) -> dict[str, Doc]:
    return {e["name"]: e for e in container.get("env", [])}


# ------------------------------------------------------------------ network policies
@dataclass(frozen=True)
class Peer:
    name: str
    namespace: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    ip: str | None = None

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def pod(name: str, namespace: str, labels: dict[str, str]) -> Peer:
    return Peer(name, namespace, tuple(sorted(labels.items())))


def address(name: str, ip: str) -> Peer:
    return Peer(name, ip=ip)


def selects(selector: Doc | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


@dataclass
class Network:
    namespace: str
    policies: list[Doc]
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def _ns_labels(self, namespace: str) -> dict[str, str]:
        return {
            "kubernetes.io/metadata.name": namespace,
            **self.namespace_labels.get(namespace, {}),
        }

    def _selecting(self, target: Peer, direction: str) -> list[Doc]:
        if target.namespace != self.namespace:
            return []
        return [
            p
            for p in self.policies
            if direction in p["spec"].get("policyTypes", ["Ingress"])
            and selects(p["spec"]["podSelector"], target.label_map)
        ]

    def _peer_matches(self, rule_peer: Doc, other: Peer) -> bool:
        if "ipBlock" in rule_peer:
            if other.ip is None:
                return False
            ip = ipaddress.ip_address(other.ip)
            block = rule_peer["ipBlock"]
            if ip not in ipaddress.ip_network(block["cidr"]):
                return False
            return not any(ip in ipaddress.ip_network(e) for e in block.get("except", []))
        if other.ip is not None:
            return False
        namespace_selector = rule_peer.get("namespaceSelector")
        pod_selector = rule_peer.get("podSelector")
        if namespace_selector is None:
            in_namespace = other.namespace == self.namespace
        else:
            in_namespace = selects(namespace_selector, self._ns_labels(other.namespace or ""))
        if not in_namespace:
            return False
        return pod_selector is None or selects(pod_selector, other.label_map)

    def _allowed(self, target: Peer, other: Peer, port: int, direction: str) -> bool:
        policies = self._selecting(target, direction)
        if not policies:
            return True
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        for policy in policies:
            for rule in policy["spec"].get(key) or []:
                peers = rule.get(peers_key)
                ports = rule.get("ports")
                peer_ok = not peers or any(self._peer_matches(p, other) for p in peers)
                port_ok = not ports or any(p.get("port") in (None, port) for p in ports)
                if peer_ok and port_ok:
                    return True
        return False

    def can_connect(self, source: Peer, destination: Peer, port: int) -> bool:
        egress = source.ip is not None or self._allowed(source, destination, port, "Egress")
        ingress = destination.ip is not None or self._allowed(destination, source, port, "Ingress")
        return egress and ingress
