"""Live == snapshot against a real kube-apiserver: the demo and the healthy cluster, loaded into the
server, give the same report live as from their snapshot files, and as from a ``k8sdoctor
snapshot`` taken from the server.

Each side is judged as of the fixture's capture time. The server also holds objects it makes
itself (its bootstrap RBAC roles, the ``kubernetes`` Service's namespace objects): the file side
gets those too, read from the server, so both describe the same cluster. Metrics are not stored
objects and no server of ours serves them; they are left out of the file side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8sdoctor import run
from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.snapshot import CAPTURED_AT, LISTED_KINDS, SnapshotSource
from k8sdoctor.cluster.state import Scope
from tests.conftest import RunCli
from tests.e2e.conftest import LoadedCluster
from tests.e2e.loader import NOT_STORED


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs between any two runs: when and from where."""
    # clusterTimeSource says where "now" came from: the capture time of a file, or the clock.
    metadata = {k: v for k, v in report["metadata"].items()
                if k not in ("generatedAt", "source", "clusterTimeSource")}
    return {**report, "metadata": metadata}


def key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj["metadata"]
    return obj["kind"], meta.get("namespace") or "", meta["name"]


def file_side_snapshot(cluster: LoadedCluster, path: Path) -> Path:
    """The fixture's own objects (as the file has them, not as the server returns them), the
    objects the server made itself, the kinds the server serves, and the capture time."""
    live = LiveSource(str(cluster.kubeconfig()), clock=cluster.clock()).load(
        set(KNOWN_KINDS), Scope())
    fixture_keys = {key(o) for o in cluster.objects}
    server_made = [o for kind in sorted(live.state.kinds) for o in live.state.objects(kind)
                   if key(o) not in fixture_keys]
    listed = sorted(k for k in KNOWN_KINDS if live.state.has_kind(k))
    document = {
        "apiVersion": "v1", "kind": "List",
        "metadata": {"annotations": {CAPTURED_AT: cluster.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                     LISTED_KINDS: ",".join(listed)}},
        "items": [o for o in cluster.objects if o["kind"] not in NOT_STORED] + server_made,
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def analyze_live(cluster: LoadedCluster) -> dict[str, Any]:
    # No kubelet serves logs here, and a snapshot holds none: compare without crash logs.
    source = LiveSource(str(cluster.kubeconfig()), clock=cluster.clock())
    return run.analyze(source, Scope(), ["all"], logs=False).to_dict()


def analyze_file(path: Path) -> dict[str, Any]:
    return run.analyze(SnapshotSource(str(path)), Scope(), ["all"]).to_dict()


def describe(report: dict[str, Any]) -> list[str]:
    return sorted(f"{f['severity']} {f['analyzer']} {f['kind']}/{f['namespace']}/{f['name']} "
                  f"{f['reason']}: {f['message']}" for f in report["findings"])


@pytest.mark.parametrize("name", ["demo", "healthy"])
def test_live_matches_the_snapshot_file(name: str, request: pytest.FixtureRequest,
                                        tmp_path: Path) -> None:
    cluster: LoadedCluster = request.getfixturevalue(f"{name}_cluster")

    live = analyze_live(cluster)
    offline = analyze_file(file_side_snapshot(cluster, tmp_path / "file-side.yaml"))

    assert describe(live) == describe(offline)
    assert comparable(live) == comparable(offline)
    assert not live["errors"]
    assert live["metadata"]["source"] == "context e2e"


@pytest.mark.parametrize("name", ["demo", "healthy"])
def test_live_matches_a_snapshot_taken_from_the_server(
        name: str, request: pytest.FixtureRequest, tmp_path: Path, run_cli: RunCli) -> None:
    cluster: LoadedCluster = request.getfixturevalue(f"{name}_cluster")
    taken = tmp_path / "taken.yaml"

    result = run_cli(["snapshot", "-o", str(taken), "--kubeconfig", str(cluster.kubeconfig())])
    assert result.code == 0, result.stderr
    # Judged as of the fixture's capture time, as the live run is; nothing else is changed.
    document = yaml.safe_load(taken.read_text(encoding="utf-8"))
    document["metadata"]["annotations"][CAPTURED_AT] = cluster.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    taken.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    from_cli = run_cli(["analyze", "--snapshot", str(taken), "-a", "all", "-o", "json"])

    assert from_cli.code == 0, from_cli.stderr
    assert comparable(json.loads(from_cli.stdout)) == comparable(analyze_live(cluster))


def test_the_demo_is_as_broken_live_as_on_file(demo_cluster: LoadedCluster,
                                               run_cli: RunCli) -> None:
    live = analyze_live(demo_cluster)
    demo = run_cli(["analyze", "--demo", "-a", "all", "-o", "json"])
    bundled = json.loads(demo.stdout)

    # The bundled demo also has metrics; without them only the resources analyzer differs. The
    # server warns about its own objects too (its IP repair loop, once, about the kubernetes
    # Service): warnings whose reason no fixture event has are the server's, not the demo's.
    fixture_reasons = {o.get("reason") for o in demo_cluster.objects if o["kind"] == "Event"}

    def without_metrics(report: dict[str, Any]) -> list[str]:
        return describe({"findings": [
            f for f in report["findings"] if f["analyzer"] != "resources"
            and (f["analyzer"] != "events" or f["reason"] in fixture_reasons)]})

    assert without_metrics(live) == without_metrics(bundled)
    assert len(live["findings"]) >= 30


def test_the_healthy_cluster_is_healthy_live(healthy_cluster: LoadedCluster) -> None:
    source = LiveSource(str(healthy_cluster.kubeconfig()), clock=healthy_cluster.clock())
    report = run.analyze(source, Scope(), logs=False).to_dict()

    assert report["findings"] == [], describe(report)
    assert report["summary"]["status"] == "Healthy"
