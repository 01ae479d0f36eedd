"""Service analyzer paths a data case cannot reach: kinds that were not listed, and ``-l``.

Data cases list every kind the analyzer declares; these build the state by hand to leave some out.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from k8sdoctor.analysis.engine import run_analyzers
from k8sdoctor.analysis.finding import Finding
from k8sdoctor.cluster.state import ClusterState, Scope
from k8sdoctor.testing import installed_analyzer

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def _service(selector: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop",
                     "uid": "3f1c9a52-7b1e-4c61-9d7a-2b8e5f0c1a11",
                     "creationTimestamp": "2026-11-01T08:00:00Z"},
        "spec": {"clusterIP": "10.96.41.7", "type": "ClusterIP", "selector": selector,
                 "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]},
    }


def _pod(ready: bool) -> dict[str, Any]:
    condition = {"type": "Ready", "status": "True" if ready else "False",
                 "lastTransitionTime": "2026-11-20T09:21:10Z"}
    if not ready:
        condition |= {"reason": "ContainersNotReady",
                      "message": "containers with unready status: [app]"}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-7d4b9c8f5-x2x7k", "namespace": "shop",
                     "uid": "6f0c2b1e-2a4d-4d8e-9f3a-1c2b3d4e5f60",
                     "creationTimestamp": "2026-11-20T09:20:00Z",
                     "labels": {"app": "web", "pod-template-hash": "7d4b9c8f5"}},
        "spec": {"containers": [{"name": "app", "image": "ghcr.io/example/web:2.4.1",
                                 "ports": [{"containerPort": 8080, "protocol": "TCP"}]}],
                 "nodeName": "worker-1"},
        "status": {"phase": "Running", "podIP": "10.244.1.17", "conditions": [condition]},
    }


_ENDPOINTS_NOT_READY = {
    "apiVersion": "v1", "kind": "Endpoints",
    "metadata": {"name": "web", "namespace": "shop", "uid": "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d",
                 "creationTimestamp": "2026-11-01T08:00:00Z"},
    "subsets": [{
        "notReadyAddresses": [{"ip": "10.244.1.17", "nodeName": "worker-1",
                               "targetRef": {"kind": "Pod", "name": "web-7d4b9c8f5-x2x7k",
                                             "namespace": "shop"}}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }],
}


def _run(objects: list[dict[str, Any]], listed: set[str], scope: Scope | None = None
         ) -> list[Finding]:
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    state = ClusterState(by_kind, now=NOW, listed_kinds=listed, scope=scope)
    findings, errors = run_analyzers(state, [installed_analyzer("service")])
    assert not errors
    return findings


def test_endpoints_are_the_fallback_when_endpointslices_were_not_listed() -> None:
    findings = _run([_service({"app": "web"}), _pod(False), _ENDPOINTS_NOT_READY],
                    listed={"Service", "Pod", "Endpoints"})
    assert [(f.reason, f.severity.value) for f in findings] == [("NoReadyEndpoints", "critical")]
    assert "Endpoints web: 0 ready, 1 not ready, 0 terminating" in findings[0].evidence


def test_pod_readiness_stands_in_when_no_endpoint_kind_was_listed() -> None:
    findings = _run([_service({"app": "web"}), _pod(False)], listed={"Service", "Pod"})
    assert [f.reason for f in findings] == ["NoReadyEndpoints"]
    assert "web-7d4b9c8f5-x2x7k" in findings[0].message


def test_nothing_is_said_about_endpoints_nobody_could_read() -> None:
    assert _run([_service({"app": "web"})], listed={"Service"}) == []


def test_a_label_selector_run_never_claims_the_selector_matches_no_pods() -> None:
    service = _service({"app": "web", "tier": "frontend"})
    everything = {"Service", "Pod", "EndpointSlice", "Endpoints", "Event", "Deployment",
                  "StatefulSet", "DaemonSet"}
    assert [f.reason for f in _run([service, _pod(True)], listed=everything)] == [
        "SelectorMatchesNoPods"
    ]
    # With -l the pod list is partial: only the fact that no endpoint exists is reported.
    scoped = _run([service, _pod(True)], listed=everything, scope=Scope(selector="team=shop"))
    assert [(f.reason, f.severity.value) for f in scoped] == [("NoEndpoints", "error")]
