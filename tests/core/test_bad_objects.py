"""One malformed object costs that object, never an analyzer: it is dropped where it enters the
state, with one error naming it, where it came from and the field at fault; the rest of the
cluster is analyzed as before. An analyzer that still raises on one object loses only that one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8sdoctor.analysis import Finding, Severity
from k8sdoctor.analysis.engine import run_analyzers
from k8sdoctor.analysis.registry import Analyzer
from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.state import ClusterState, Scope
from k8sdoctor.cluster.validate import ShapeError, check_object
from tests.conftest import RunCli
from tests.fakeapi import FakeApiServer
from tests.helpers import DEMO

DEMO_ITEMS: list[dict[str, Any]] = yaml.load(DEMO.read_text(encoding="utf-8"),
                                             Loader=yaml.CSafeLoader)["items"]


def _demo_with(tmp_path: Path, damage: dict[tuple[str, str], Any]) -> Path:
    """The demo as a JSON snapshot, with ``damage[(kind, name)](obj)`` applied to those objects."""
    items = json.loads(json.dumps(DEMO_ITEMS))
    for item in items:
        hurt = damage.get((item["kind"], item["metadata"]["name"]))
        if hurt:
            hurt(item)
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return path


def _report(run_cli: RunCli, path: Path, *args: str) -> dict[str, Any]:
    result = run_cli(["analyze", "--snapshot", str(path), "-a", "all", "-o", "json", *args])
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def _findings(report: dict[str, Any], skip_namespace: str | None = None) -> set[tuple]:
    return {(f["analyzer"], f["kind"], f["namespace"], f["name"], f["reason"], f["message"])
            for f in report["findings"] if f["namespace"] != skip_namespace}


def _first(kind: str, *, having: str = "") -> dict[str, Any]:
    return next(i for i in DEMO_ITEMS if i["kind"] == kind and having in json.dumps(i))


def _set_restart_count(pod: dict[str, Any]) -> None:
    pod["status"]["containerStatuses"][0]["restartCount"] = "seven"


def test_a_string_restart_count_costs_one_pod_not_the_pod_analyzer(run_cli: RunCli,
                                                                   tmp_path: Path) -> None:
    pod = _first("Pod", having="CrashLoopBackOff")
    name, namespace = pod["metadata"]["name"], pod["metadata"]["namespace"]
    baseline = _report(run_cli, DEMO)
    report = _report(run_cli, _demo_with(tmp_path, {("Pod", name): _set_restart_count}))

    assert report["errors"] == [{
        "stage": "fetch", "subject": "Pod",
        "message": f"dropped Pod {namespace}/{name} ({tmp_path / 'cluster.json'} item "
                   f"{DEMO_ITEMS.index(pod)}): status.containerStatuses[0].restartCount is a "
                   "string ('seven'), expected an integer",
    }]
    assert report["summary"]["complete"] is False
    # every other namespace is judged exactly as before; in the pod's own namespace, every
    # other pod still has its findings
    assert _findings(report, namespace) == _findings(baseline, namespace)
    others = {f for f in _findings(baseline) if f[0] == "pod" and f[2] == namespace
              and f[3] != name}
    assert others and others <= _findings(report)


@pytest.mark.parametrize(("damage", "field"), [
    (lambda d: d.update(status=[1, 2]), "status is a list, expected a mapping"),
    (lambda d: d["spec"].update(replicas="two"),
     "spec.replicas is a string ('two'), expected an integer"),
])
def test_a_malformed_deployment_costs_only_itself(run_cli: RunCli, tmp_path: Path, damage: Any,
                                                  field: str) -> None:
    broken = _first("Deployment", having="ProgressDeadlineExceeded")
    name, namespace = broken["metadata"]["name"], broken["metadata"]["namespace"]
    baseline = _report(run_cli, DEMO)
    report = _report(run_cli, _demo_with(tmp_path, {("Deployment", name): damage}))
    assert [e["message"] for e in report["errors"]] == [
        f"dropped Deployment {namespace}/{name} ({tmp_path / 'cluster.json'} item "
        f"{DEMO_ITEMS.index(broken)}): {field}"
    ]
    deployments = {f for f in _findings(baseline) if f[0] == "deployment" and f[3] != name}
    assert deployments and deployments <= _findings(report)
    assert _findings(report, namespace) == _findings(baseline, namespace)


def test_a_dropped_object_is_not_reported_missing(run_cli: RunCli, tmp_path: Path) -> None:
    # a ConfigMap that exists but is malformed must not become "ConfigMap not found" for the
    # pods that use it: its absence proves nothing
    def damage(config_map: dict[str, Any]) -> None:
        config_map["data"] = ["not", "a", "mapping"]

    report = _report(run_cli, _demo_with(tmp_path, {("ConfigMap", "ledger-config"): damage}))
    assert [e["subject"] for e in report["errors"]] == ["ConfigMap"]
    assert not [f for f in report["findings"] if f["reason"] == "ConfigMapNotFound"]
    assert any(f["reason"] == "ConfigMapNotFound" for f in _report(run_cli, _demo_with(
        tmp_path, {("ConfigMap", "ledger-config"): lambda c: c.update(kind="Gone")}))["findings"])


@pytest.mark.parametrize(("obj", "field", "problem"), [
    ({"kind": "Pod"}, "metadata", "is missing, expected a mapping"),
    ({"kind": "Pod", "metadata": {"namespace": "shop"}}, "metadata.name",
     "is missing, expected a non-empty string"),
    ({"metadata": {"name": "x"}}, "kind", "is missing, expected a non-empty string"),
    ({"kind": "Pod", "metadata": {"name": "x", "labels": {"app": 7}}}, "metadata.labels.app",
     "is an integer (7), expected a string"),
    ({"kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": [None]}},
     "spec.containers[0]", "is null"),
    ({"kind": "Node", "metadata": {"name": "n"}, "spec": {"unschedulable": "yes"}},
     "spec.unschedulable", "is a string ('yes'), expected a boolean"),
    ({"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": True}]}},
     "spec.ports[0].port", "is a boolean (True), expected an integer"),
])
def test_shape_errors_name_the_field(obj: dict[str, Any], field: str, problem: str) -> None:
    with pytest.raises(ShapeError) as caught:
        check_object(obj)
    assert (caught.value.field, caught.value.problem) == (field, problem)


def test_nulls_are_unset_and_unknown_fields_are_left_alone() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "x", "labels": None, "creationTimestamp": None},
           "spec": {"nodeName": None, "someFutureField": [1, {"a": None}]},
           "status": None}
    check_object(pod)
    assert pod == {"kind": "Pod", "metadata": {"name": "x"},
                   "spec": {"someFutureField": [1, {"a": None}]}}


def test_live_list_items_without_metadata_are_dropped_and_named(fake_api: FakeApiServer,
                                                                kubeconfig: Path) -> None:
    good = {"metadata": {"name": "web", "namespace": "shop", "uid": "u1",
                         "creationTimestamp": "2026-11-20T09:00:00Z"},
            "spec": {"containers": [{"name": "app", "image": "web:1"}]},
            "status": {"phase": "Running"}}
    body = {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
            "items": [{"spec": {"containers": []}}, good, "garbage"]}
    fake_api.inject("/api/v1/pods", None, body=json.dumps(body).encode())
    result = LiveSource(str(kubeconfig)).load({"Pod"}, Scope())
    assert [p["metadata"]["name"] for p in result.state.objects("Pod")] == ["web"]
    assert [(e.kind, e.message) for e in result.errors] == [
        ("Pod", "dropped a Pod without metadata (GET /api/v1/pods, item 0): metadata is "
                "missing, expected a mapping"),
        ("object", "dropped GET /api/v1/pods, item 2: the item is a string ('garbage'), "
                   "expected a mapping"),
    ]
    assert not result.state.read_whole("Pod")


# -- an analyzer that raises on one object --------------------------------------------------------


def _pods(*names: str) -> ClusterState:
    from datetime import datetime, timezone

    pods = [{"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": name, "namespace": "shop", "uid": f"uid-{name}"}}
            for name in names]
    return ClusterState({"Pod": pods}, now=datetime(2026, 11, 20, tzinfo=timezone.utc))


def _fussy(state: ClusterState) -> Iterator[Finding]:
    """Reports every pod, and has a bug on pods whose name starts with 'odd'."""
    for pod in state.objects("Pod"):
        if pod["metadata"]["name"].startswith("odd"):
            raise ValueError("cannot handle this pod")
        yield Finding.about(pod, severity=Severity.WARNING, reason="Seen", message="seen")


FUSSY = Analyzer(name="fussy", kinds=("Pod",), analyze=_fussy, doc="Reports every pod.")


def test_an_analyzer_raising_on_one_object_loses_only_that_object() -> None:
    findings, errors = run_analyzers(_pods("a", "odd-1", "b", "odd-2", "c"), [FUSSY])
    assert [f.name for f in findings] == ["a", "b", "c"]
    assert [(e.stage, e.subject, e.message) for e in errors] == [
        ("analyzer", "fussy", "skipped Pod shop/odd-1, which it could not handle: "
                              "ValueError: cannot handle this pod"),
        ("analyzer", "fussy", "skipped Pod shop/odd-2, which it could not handle: "
                              "ValueError: cannot handle this pod"),
    ]


def _broken(state: ClusterState) -> Iterator[Finding]:
    """Fails before it looks at any object."""
    raise RuntimeError("no object to blame")
    yield  # pragma: no cover


def test_an_analyzer_failing_on_no_object_in_particular_is_reported_whole() -> None:
    broken = Analyzer(name="broken", kinds=("Pod",), analyze=_broken, doc="Fails.")
    findings, errors = run_analyzers(_pods("a", "b"), [broken, FUSSY])
    assert [f.name for f in findings] == ["a", "b"]
    assert [(e.subject, e.message) for e in errors] == [
        ("broken", "RuntimeError: no object to blame")]
