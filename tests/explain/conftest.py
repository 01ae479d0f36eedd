"""Shared fixtures for the explain tests: the three-causes cluster and its findings."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from k8sdoctor.analysis.engine import run_analyzers
from k8sdoctor.analysis.finding import Finding
from k8sdoctor.analysis.registry import Analyzer
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import ClusterState, Scope

FIXTURES = Path(__file__).parent.parent / "fixtures" / "explain"
THREE_CAUSES = FIXTURES / "three-causes.yaml"
"""30 pods of 3 Deployments failing for 3 causes; the Deployments and Services follow."""


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
