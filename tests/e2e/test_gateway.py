"""The Gateway API on a real server: without its CRDs k8sdoctor lists none of its kinds and says
nothing about them; with them installed (and a CRD it does not read, ServiceMonitor, beside them)
it lists them and reports broken Gateways and HTTPRoutes as it does from a snapshot.

The objects come from the gateway analyzer's own cases, loaded through the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from k8sdoctor import run
from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.snapshot import CAPTURED_AT, LISTED_KINDS, SnapshotSource
from k8sdoctor.cluster.state import Scope, parse_time
from tests.e2e import loader
from tests.e2e.controlplane import ControlPlane
from tests.helpers import REPOSITORY

CASES = REPOSITORY / "tests" / "analyzers" / "cases" / "gateway.yaml"
CHOSEN = (  # cases whose objects have distinct names, so they can share one cluster
    "GatewayClass no controller answers for, and its Gateway, report only the class",
    "HTTPRoute attached to a Gateway that does not exist",
    "HTTPRoute backends whose Service or port does not exist",
)
GATEWAY_KINDS = {"GatewayClass", "Gateway", "HTTPRoute"}


def chosen_cases() -> list[dict[str, Any]]:
    cases = {c["name"]: c for c in yaml.safe_load(CASES.read_text(encoding="utf-8"))["cases"]}
    return [cases[name] for name in CHOSEN]


def case_objects(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    objects = [o for case in cases for o in case["objects"]]
    keys = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys)), "the chosen cases share object names"
    return objects


def finding_keys(report: dict[str, Any]) -> set[tuple[str, str | None, str, str]]:
    return {(f["kind"], f["namespace"], f["name"], f["reason"]) for f in report["findings"]}


def test_without_the_crds_no_gateway_kind_is_listed(scratch_plane: ControlPlane,
                                                    tmp_path: Path) -> None:
    kubeconfig = scratch_plane.kubeconfig(tmp_path / "kubeconfig")
    offset = scratch_plane.audit_offset()

    result = LiveSource(str(kubeconfig)).load(GATEWAY_KINDS | {"Service"}, Scope())
    report = run.analyze(LiveSource(str(kubeconfig)), Scope(), ["gateway"]).to_dict()

    assert result.errors == ()
    assert not any(result.state.has_kind(k) for k in GATEWAY_KINDS)
    assert result.state.has_kind("Service")
    assert report["findings"] == [] and report["errors"] == []
    asked = {e["requestURI"] for e in scratch_plane.audit_events(offset)}
    assert not any("gateway.networking.k8s.io/v1/" in uri for uri in asked)


def test_with_the_crds_broken_routes_are_reported_as_from_a_snapshot(
        scratch_plane: ControlPlane, tmp_path: Path) -> None:
    served = loader.install_crds(scratch_plane, "gateway-api")
    loader.install_crds(scratch_plane, "servicemonitor")
    cases = chosen_cases()
    objects = case_objects(cases)
    loader.load(scratch_plane, [*objects, {
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "endpoints": [{"port": "http"}]}}])
    now = parse_time(cases[0]["now"])
    kubeconfig = scratch_plane.kubeconfig(tmp_path / "kubeconfig")

    live_source = LiveSource(str(kubeconfig), clock=lambda: now)
    live = run.analyze(live_source, Scope(), ["gateway"]).to_dict()
    snapshot = tmp_path / "cases.yaml"
    snapshot.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "List", "items": objects,
        "metadata": {"annotations": {CAPTURED_AT: cases[0]["now"],
                                     LISTED_KINDS: "GatewayClass,Gateway,HTTPRoute,Service"}}}),
        encoding="utf-8")
    offline = run.analyze(SnapshotSource(str(snapshot)), Scope(), ["gateway"]).to_dict()

    assert served == ["gateway.networking.k8s.io/v1"]
    expected = {(e["kind"], e.get("namespace"), e["name"], e["reason"])
                for case in cases for e in case.get("expect") or ()}
    assert expected and expected <= finding_keys(live)
    assert finding_keys(live) == finding_keys(offline)
    assert live["errors"] == []
