"""The benchmark's synthetic cluster gives the same findings, live and from a snapshot, as the
recorded ones: speed work on sources, state and analyzers must not change a single finding.

The cluster is ``benchmarks/synthetic`` at 500 pods with the start-up events of a busy cluster
(what ``benchmarks/scale.py`` serves), analyzed with every analyzer. The recorded findings in
``fixtures/benchmark/findings.json`` were made by the code before the speed work;
``K8SDOCTOR_UPDATE_GOLDEN=1`` rewrites them after a deliberate change to what analyzers report.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.snapshot import CAPTURED_AT, LISTED_KINDS, SnapshotSource
from k8sdoctor.cluster.state import Scope
from k8sdoctor.report.model import Report
from k8sdoctor.run import analyze
from tests.fakeapi import FakeApiServer, write_kubeconfig

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
GOLDEN = Path(__file__).parent / "fixtures" / "benchmark" / "findings.json"
UPDATE = os.environ.get("K8SDOCTOR_UPDATE_GOLDEN") == "1"
PODS = 500
TOKEN = "benchmark-token"


@pytest.fixture(scope="module")
def cluster() -> tuple[dict[str, list[dict[str, Any]]], datetime]:
    """The objects by kind, and the moment the synthetic cluster is captured at."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from synthetic import NOW, build
        from synthetic.history import startup_events
    finally:
        sys.path.remove(str(BENCHMARKS))
    built = build(PODS)
    startup_events(built)
    # in the order the API server lists them, so that both paths read the same sequence
    return {kind: sorted(items, key=lambda o: (o["metadata"].get("namespace", ""),
                                               o["metadata"]["name"]))
            for kind, items in built.objects.items()}, NOW


def _findings(report: Report) -> list[dict[str, Any]]:
    return [finding.to_dict() for finding in report.findings]


def _check(report: Report) -> None:
    assert not report.errors
    found = _findings(report)
    if UPDATE:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    recorded = json.loads(GOLDEN.read_text())
    assert [f["id"] for f in found] == [f["id"] for f in recorded]
    assert found == recorded


def test_snapshot_findings_are_the_recorded_ones(
    cluster: tuple[dict[str, list[dict[str, Any]]], datetime], tmp_path: Path
) -> None:
    objects, now = cluster
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps({
        "apiVersion": "v1", "kind": "List",
        "metadata": {"annotations": {CAPTURED_AT: now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                     LISTED_KINDS: ",".join(sorted(KNOWN_KINDS))}},
        "items": [obj for kind in sorted(objects) for obj in objects[kind]],
    }))
    _check(analyze(SnapshotSource(str(snapshot)), Scope(), ["all"]))


def test_live_findings_are_the_recorded_ones(
    cluster: tuple[dict[str, list[dict[str, Any]]], datetime], tmp_path: Path
) -> None:
    objects, now = cluster
    served = [obj for kind in sorted(objects) for obj in objects[kind]]
    with FakeApiServer(served, token=TOKEN, not_served=(), keep_bodies=False) as api:
        config = write_kubeconfig(tmp_path / "config", api.url, user={"token": TOKEN})
        with LiveSource(str(config), clock=lambda: now) as source:
            # crash logs are a live-only stage after the analyzers (tested on their own)
            _check(analyze(source, Scope(), ["all"], logs=False))
