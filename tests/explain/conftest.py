"""Shared fixtures for the explain tests: the three-causes cluster and its findings."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from k8sdoctor.analysis.engine import run_analyzers
from k8sdoctor.analysis.finding import Finding
from k8sdoctor.analysis.registry import Analyzer
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import ClusterState, Scope
from k8sdoctor.explain.anonymize import PUBLIC_NAMES

FIXTURES = Path(__file__).parent.parent / "fixtures" / "explain"
THREE_CAUSES = FIXTURES / "three-causes.yaml"
"""30 pods of 3 Deployments failing for 3 causes; the Deployments and Services follow."""
IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?:/\d+)?")


def workload_analyzers() -> list[Analyzer]:
    """The analyzers whose findings the fixture exercises: pods, Deployments, Services."""
    return [
        importlib.import_module(f"k8sdoctor.analyzers.{name}").ANALYZER
        for name in ("deployment", "pod", "service")
    ]


def load_state(path: Path = THREE_CAUSES) -> ClusterState:
    return SnapshotSource(str(path)).load((), Scope()).state


def analyze(state: ClusterState) -> list[Finding]:
    findings, errors = run_analyzers(state, workload_analyzers())
    assert not errors
    return findings


@pytest.fixture(scope="session")
def three_causes_state() -> ClusterState:
    return load_state()


@pytest.fixture(scope="session")
def three_causes_findings(three_causes_state: ClusterState) -> list[Finding]:
    return analyze(three_causes_state)


PUBLIC_LABEL_KEYS = frozenset({
    "kubernetes.io/arch", "kubernetes.io/os", "topology.kubernetes.io/zone",
    "node.kubernetes.io/instance-type", "pod-template-hash",
    "endpointslice.kubernetes.io/managed-by",
})
"""Label keys whose values identify nobody (an architecture, a zone, a hash)."""


def identifiers(state: ClusterState) -> set[str]:
    """Every object name, namespace, label value, container name, image registry and IP address
    in ``state``: what must never be sent."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and IPV4.fullmatch(node):
            found.add(node)

    for kind in state.kinds:
        for obj in state.objects(kind):
            meta = obj["metadata"]
            found.add(meta["name"])
            found.add(meta.get("namespace") or meta["name"])
            found.update(value for key, value in (meta.get("labels") or {}).items()
                         if key not in PUBLIC_LABEL_KEYS)
            for container in (obj.get("spec") or {}).get("containers") or ():
                found.add(container["name"])
                registry = container["image"].split("/")[0]
                if "." in registry and registry not in ("docker.io", "registry.k8s.io"):
                    found.add(registry)
            walk(obj.get("status"))
            walk(obj.get("spec"))
            walk(obj.get("endpoints"))
    return {value for value in found if value not in PUBLIC_NAMES}


def leaked(identifiers: set[str], text: str) -> set[str]:
    """The identifiers that appear in ``text`` as whole words."""
    return {
        value for value in identifiers
        if re.search(rf"(?<![A-Za-z0-9-]){re.escape(value)}(?![A-Za-z0-9-])", text)
    }
