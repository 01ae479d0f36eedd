"""The live source against a fake API server over real HTTP, through the real ``kubernetes`` client.

Covers parity with the snapshot path, paging, ``-n``/``-l``, kinds listed once and only for the
selected analyzers, unserved kinds, 403/404/410 answers, metadata-only Secrets, GET-only traffic
and container logs. Connection and credential failures are in ``test_live_auth.py``.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8sdoctor import run
from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.list_items import HOLD_BYTES
from k8sdoctor.cluster.live import METADATA_ONLY, LiveSource, LogsUnavailableError
from k8sdoctor.cluster.snapshot import LISTED_KINDS, SnapshotSource
from k8sdoctor.cluster.state import Scope
from k8sdoctor.testing import installed_analyzer
from tests.conftest import FAKE_TOKEN, LIVE_CLUSTER, RunCli
from tests.fakeapi import FakeApiServer, forbidden_message, write_kubeconfig

SECRET_VALUES = ("hunter2-checkout-db", "psp_live_7QvJ2mXcN9rT4kLp")


def snapshot_now():
    return SnapshotSource(str(LIVE_CLUSTER)).load((), Scope()).state.now


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """A report without what differs between any two runs: when and from where (the source,
    and the clock its time was read from)."""
    metadata = {k: v for k, v in report["metadata"].items()
                if k not in ("generatedAt", "source", "clusterTimeSource")}
    return {**report, "metadata": metadata}


def finding_keys(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(f["namespace"], f["name"], f["reason"]) for f in report["findings"]}


def list_paths(analyzer: str, namespace: str | None = None) -> list[str]:
    """Where the kinds ``analyzer`` reads are listed (the fake serves them all)."""
    return sorted(KNOWN_KINDS[k].list_path(namespace) for k in installed_analyzer(analyzer).kinds)


def first_pages(api: FakeApiServer) -> Counter[str]:
    return Counter(r.path for r in api.list_requests() if r.param("continue") is None)


# -- parity and scope ---------------------------------------------------------------------------


def test_live_and_snapshot_give_the_same_report(cluster: FakeApiServer, kubeconfig: Path,
                                                tmp_path: Path) -> None:
    # The same cluster state: the same objects, the same kinds known to exist (the fake serves
    # kinds the file holds no object of), judged as of the same moment.
    document = yaml.safe_load(LIVE_CLUSTER.read_text(encoding="utf-8"))
    served = sorted(k.kind for kinds in cluster.served_resources().values() for k in kinds)
    document["metadata"]["annotations"] = {LISTED_KINDS: ",".join(served)}
    snapshot = tmp_path / "cluster.yaml"
    snapshot.write_text(yaml.safe_dump(document), encoding="utf-8")
    source = LiveSource(str(kubeconfig), clock=snapshot_now)

    # logs exist only live (test_crash_logs.py): compare what both sources hold
    live = run.analyze(source, Scope(), ["all"], logs=False).to_dict()
    offline = run.analyze(SnapshotSource(str(snapshot)), Scope(), ["all"]).to_dict()

    assert comparable(live) == comparable(offline)
    assert live["metadata"]["source"] == "context kind-shop"
    assert ("shop", "checkout", "ProgressDeadlineExceeded") in finding_keys(live)
    assert ("payments", "api", "ReplicaFailure") in finding_keys(live)
    assert not live["errors"]
    assert source.server_version == "v1.31.2"


def test_small_pages_fetch_every_object(cluster: FakeApiServer, kubeconfig: Path) -> None:
    paged = LiveSource(str(kubeconfig), page_size=5).load({"Pod"}, Scope()).state
    pod_requests = [r for r in cluster.list_requests() if r.path == "/api/v1/pods"]
    whole = LiveSource(str(kubeconfig)).load({"Pod"}, Scope()).state

    expected = sorted(p["metadata"]["name"] for p in cluster.objects("Pod"))
    assert sorted(p["metadata"]["name"] for p in paged.objects("Pod")) == expected
    pages = -(-len(expected) // 5)
    assert pages >= 3
    assert [r.param("limit") for r in pod_requests] == ["5"] * pages
    assert [r.param("continue") is None for r in pod_requests] == [True] + [False] * (pages - 1)
    assert paged.objects("Pod") == whole.objects("Pod")


def test_list_items_get_kind_and_api_version(cluster: FakeApiServer, kubeconfig: Path) -> None:
    state = LiveSource(str(kubeconfig)).load({"Deployment", "EndpointSlice"}, Scope()).state

    sent = next(r for r in cluster.list_requests() if r.path == "/apis/apps/v1/deployments")
    assert all("kind" not in item for item in json.loads(sent.body)["items"])
    assert {(o["apiVersion"], o["kind"]) for o in state.objects("Deployment")} == {
        ("apps/v1", "Deployment")}
    assert {(o["apiVersion"], o["kind"]) for o in state.objects("EndpointSlice")} == {
        ("discovery.k8s.io/v1", "EndpointSlice")}


def test_namespace_is_honoured(cluster: FakeApiServer, kubeconfig: Path, run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-n", "shop", "-a", "deployment",
                      "-o", "json"])

    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert {f["namespace"] for f in report["findings"]} == {"shop"}
    assert sorted(cluster.listed_paths()) == list_paths("deployment", "shop")
    assert "/apis/apps/v1/namespaces/shop/deployments" in cluster.listed_paths()


def test_namespace_leaves_cluster_scoped_kinds_whole(cluster: FakeApiServer,
                                                     kubeconfig: Path) -> None:
    state = LiveSource(str(kubeconfig)).load({"Node", "Pod"}, Scope(namespace="payments")).state

    assert len(state.objects("Node")) == 3
    assert {p["metadata"]["namespace"] for p in state.objects("Pod")} == {"payments"}
    assert sorted(cluster.listed_paths()) == ["/api/v1/namespaces/payments/pods", "/api/v1/nodes"]


def test_selector_applies_to_label_selectable_kinds_only(cluster: FakeApiServer,
                                                         kubeconfig: Path) -> None:
    scope = Scope(selector="app in (checkout,api)")
    state = LiveSource(str(kubeconfig)).load({"Deployment", "Event", "Secret"}, scope).state

    selectors = {r.path: r.param("labelSelector") for r in cluster.list_requests()}
    assert selectors == {"/apis/apps/v1/deployments": "app in (checkout,api)",
                         "/api/v1/events": None, "/api/v1/secrets": None}
    assert sorted(d["metadata"]["name"] for d in state.objects("Deployment")) == [
        "api", "checkout"]
    assert len(state.objects("Event")) == len(cluster.objects("Event"))


def test_selector_through_the_cli(cluster: FakeApiServer, kubeconfig: Path,
                                  run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-l", "app=checkout",
                      "-a", "deployment", "-o", "json"])

    assert result.code == 0, result.stderr
    assert finding_keys(json.loads(result.stdout)) == {
        ("shop", "checkout", "ProgressDeadlineExceeded")}


def test_a_malformed_selector_is_a_usage_error(kubeconfig: Path, run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-l", "app in (web"])

    assert result.code == 2
    assert len(result.stderr_lines) == 1 and "--selector" in result.stderr


# -- what is requested --------------------------------------------------------------------------


def test_each_needed_kind_is_listed_once_and_only_with_get(
    cluster: FakeApiServer, kubeconfig: Path, run_cli: RunCli
) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-a", "all", "-o", "json"])

    assert result.code == 0, result.stderr
    assert {r.method for r in cluster.requests} == {"GET"}
    pages = first_pages(cluster)
    assert pages and set(pages.values()) == {1}
    assert "/apis/apps/v1/deployments" in pages


def test_only_the_selected_analyzers_kinds_are_listed(
    cluster: FakeApiServer, kubeconfig: Path, run_cli: RunCli
) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-a", "deployment"])

    assert result.code == 0, result.stderr
    assert sorted(cluster.listed_paths()) == list_paths("deployment")
    assert [r.path for r in cluster.requests[:3]] == ["/version", "/api", "/apis"]


def test_unserved_kinds_are_skipped_without_a_request(cluster: FakeApiServer,
                                                      kubeconfig: Path) -> None:
    kinds = {"Deployment", "Gateway", "HTTPRoute", "GatewayClass", "PodMetrics", "NoSuchKind"}
    result = LiveSource(str(kubeconfig)).load(kinds, Scope())

    assert result.errors == ()
    assert not result.state.has_kind("Gateway") and not result.state.has_kind("PodMetrics")
    assert result.state.has_kind("Deployment")
    assert cluster.listed_paths() == ["/apis/apps/v1/deployments"]


def test_olm_is_quiet_where_its_crds_are_not_served(cluster: FakeApiServer, kubeconfig: Path,
                                                   run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-a", "olm", "-o", "json",
                      "--strict"])
    report = json.loads(result.stdout)
    assert result.code == 0, result.stderr
    assert report["findings"] == [] and report["errors"] == []
    assert cluster.listed_paths() == []


def test_olm_lists_its_kinds_where_they_are_served(fake_api: FakeApiServer, kubeconfig: Path,
                                                   run_cli: RunCli) -> None:
    with FakeApiServer(token=FAKE_TOKEN, not_served=()) as olm_cluster:
        olm_cluster.add([{
            "apiVersion": "operators.coreos.com/v1alpha1", "kind": "CatalogSource",
            "metadata": {"name": "operatorhubio-catalog", "namespace": "olm",
                         "uid": "3d4e5f6a-0001-4b7c-8d9e-0f1a2b3c4d01",
                         "creationTimestamp": "2026-06-01T08:00:00Z"},
            "spec": {"sourceType": "grpc", "image": "quay.io/operatorhubio/catalog:latest"},
            "status": {"connectionState": {"address": "operatorhubio-catalog.olm.svc:50051",
                                           "lastObservedState": "TRANSIENT_FAILURE"}},
        }])
        config = write_kubeconfig(kubeconfig.parent / "olm-kubeconfig", olm_cluster.url,
                                  user={"token": FAKE_TOKEN})
        result = run_cli(["analyze", "--kubeconfig", str(config), "-a", "olm", "-o", "json"])
    report = json.loads(result.stdout)
    assert [f["reason"] for f in report["findings"]] == ["CatalogSourceUnhealthy"]
    assert report["errors"] == []


def test_served_group_without_the_resource_is_skipped_quietly(cluster: FakeApiServer,
                                                              kubeconfig: Path) -> None:
    cluster.inject("/apis/autoscaling/v2/horizontalpodautoscalers", 404,
                   "the server could not find the requested resource", "NotFound")
    result = LiveSource(str(kubeconfig)).load({"HorizontalPodAutoscaler", "Pod"}, Scope())

    assert result.errors == ()
    assert not result.state.has_kind("HorizontalPodAutoscaler")
    assert result.state.has_kind("Pod")


# -- partial data ---------------------------------------------------------------------------------


def test_forbidden_kind_is_reported_and_the_run_goes_on(
    cluster: FakeApiServer, kubeconfig: Path, run_cli: RunCli
) -> None:
    cluster.forbid("Pod")
    args = ["analyze", "--kubeconfig", str(kubeconfig), "-a", "all", "-o", "json"]
    result = run_cli(args)
    strict = run_cli([*args, "--strict"])

    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == [{"stage": "fetch", "subject": "Pod",
                                 "message": f"forbidden: {forbidden_message('Pod')}"}]
    assert report["summary"]["complete"] is False
    assert ("shop", "checkout", "ProgressDeadlineExceeded") in finding_keys(report)
    assert not any(f["kind"] == "Pod" for f in report["findings"])
    assert len(result.stderr_lines) == 1 and "Pod" in result.stderr
    assert strict.code == 4
    assert finding_keys(json.loads(strict.stdout)) == finding_keys(report)


def test_forbidden_kind_is_not_counted_as_listed(cluster: FakeApiServer,
                                                 kubeconfig: Path) -> None:
    cluster.forbid("Secret")
    result = LiveSource(str(kubeconfig)).load({"Secret", "ConfigMap"}, Scope())

    assert [e.kind for e in result.errors] == ["Secret"]
    assert result.errors[0].message.startswith('forbidden: secrets is forbidden: User "system:')
    assert not result.state.has_kind("Secret")
    assert result.state.has_kind("ConfigMap")


def test_an_unavailable_aggregated_api_is_a_fetch_error(cluster: FakeApiServer,
                                                        kubeconfig: Path) -> None:
    cluster.inject("/apis/apps/v1/replicasets", 503,
                   "the server is currently unable to handle the request", "ServiceUnavailable")
    result = LiveSource(str(kubeconfig)).load({"ReplicaSet", "Deployment"}, Scope())

    assert [(e.kind, e.message) for e in result.errors] == [(
        "ReplicaSet", "the server answered 503 ServiceUnavailable: the server is currently "
        "unable to handle the request")]
    assert result.state.has_kind("Deployment")


def test_expired_continue_token_falls_back_to_one_full_list(cluster: FakeApiServer,
                                                            kubeconfig: Path) -> None:
    cluster.inject("/api/v1/pods", 410, "The provided continue parameter is too old to display "
                   "a consistent list result.", "Expired", query={"continue": None}, times=1)
    state = LiveSource(str(kubeconfig), page_size=4).load({"Pod"}, Scope()).state

    pods = [r for r in cluster.requests if r.path == "/api/v1/pods"]
    assert [r.status for r in pods] == [200, 410, 200]
    assert pods[-1].param("limit") is None and pods[-1].param("continue") is None
    assert len(state.objects("Pod")) == len(cluster.objects("Pod"))


# -- secrets --------------------------------------------------------------------------------------


def test_secret_values_never_cross_the_wire(cluster: FakeApiServer, kubeconfig: Path) -> None:
    state = LiveSource(str(kubeconfig)).load({"Secret", "Pod"}, Scope()).state

    secret_lists = [r for r in cluster.list_requests() if r.path == "/api/v1/secrets"]
    assert [r.accept for r in secret_lists] == [METADATA_ONLY]
    wire = b"".join(r.body for r in cluster.requests)
    for value in SECRET_VALUES:
        assert value.encode() not in wire
        assert base64.b64encode(value.encode()) not in wire
    secrets = state.objects("Secret")
    assert {s["metadata"]["name"] for s in secrets} == {"checkout-db", "psp-api-key"}
    assert all(set(s) == {"apiVersion", "kind", "metadata"} for s in secrets)
    assert {(s["apiVersion"], s["kind"]) for s in secrets} == {("v1", "Secret")}


def test_last_applied_copy_of_a_secret_is_dropped(fake_api: FakeApiServer,
                                                  kubeconfig: Path) -> None:
    applied = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token",
               "namespace": "ci"}, "data": {"token": "c2VjcmV0LXRva2Vu"}, "type": "Opaque"}
    fake_api.add([{**applied, "metadata": {
        "name": "token", "namespace": "ci", "uid": "0b6d3c1e-8f3a-4a57-9d2e-5c7b1a9f4e21",
        "creationTimestamp": "2025-11-02T09:00:00Z", "resourceVersion": "88123",
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied),
                        "owner": "platform"}}}])
    (secret,) = LiveSource(str(kubeconfig)).load({"Secret"}, Scope()).state.objects("Secret")

    assert secret["metadata"]["annotations"] == {"owner": "platform"}
    assert "c2VjcmV0LXRva2Vu" not in json.dumps(secret)


@pytest.mark.parametrize("hold_bytes", [0, HOLD_BYTES])  # freed at once, or held with the state
def test_managed_fields_are_cut_off_the_objects(fake_api: FakeApiServer, kubeconfig: Path,
                                                hold_bytes: int) -> None:
    managed = [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                "time": "2025-11-02T09:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}}]
    fake_api.add([{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "settings", "namespace": "ci", "uid": "5f0c2d9e-1b7a-4c3e-8d6f-2a9b4e7c1d30",
        "creationTimestamp": "2025-11-02T09:00:00Z", "resourceVersion": "88124",
        "labels": {"app": "checkout"}, "managedFields": managed}, "data": {"mode": "fast"}}])
    (configmap,) = LiveSource(str(kubeconfig), hold_bytes=hold_bytes).load(
        {"ConfigMap"}, Scope()).state.objects("ConfigMap")

    assert "managedFields" not in configmap["metadata"]
    assert configmap["metadata"]["labels"] == {"app": "checkout"}
    assert configmap["data"] == {"mode": "fast"}


# -- logs -----------------------------------------------------------------------------------------


def test_previous_logs_of_a_crashed_container(cluster: FakeApiServer, kubeconfig: Path) -> None:
    pod = "checkout-6c9f7d5b4d-8kq2w"
    cluster.set_logs("shop", pod, "app", "".join(
        f"2025-11-20T10:11:57.{i:03d}Z INFO starting checkout worker {i}\n" for i in range(40)
    ) + "2025-11-20T10:11:58.102Z FATAL cannot connect to database: dial tcp 10.96.12.4:5432: "
        "connect: connection refused\n", previous=True)
    source = LiveSource(str(kubeconfig))
    lines = source.previous_logs("shop", pod, "app", lines=3)

    assert len(lines) == 3 and lines[-1].endswith("connect: connection refused")
    (request,) = [r for r in cluster.requests if r.path.endswith("/log")]
    assert request.method == "GET"
    assert request.path == f"/api/v1/namespaces/shop/pods/{pod}/log"
    assert request.query == {"container": ["app"], "tailLines": ["3"], "previous": ["true"]}
    with pytest.raises(LogsUnavailableError, match="previous terminated container"):
        source.previous_logs("shop", "web-7d4b9c8f5-x2x7k", "app")


# -- the fake itself ------------------------------------------------------------------------------


def test_the_fake_speaks_the_wire_format_the_client_models_expect(
    cluster: FakeApiServer, kubeconfig: Path
) -> None:
    """The generated models refuse answers that lack required fields: a check on the fake."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(str(kubeconfig), persist_config=False)
    with api_client:
        resources = client.CoreV1Api(api_client).get_api_resources()
        groups = client.ApisApi(api_client).get_api_versions()
        pods = client.CoreV1Api(api_client).list_namespaced_pod("shop", limit=2)

    pod_resource = next(r for r in resources.resources if r.name == "pods")
    assert pod_resource.short_names == ["po"] and pod_resource.namespaced
    served = {v.group_version for g in groups.groups for v in g.versions}
    assert {k.api_version for k in KNOWN_KINDS.values() if "/" in k.api_version} - served == {
        "gateway.networking.k8s.io/v1", "metrics.k8s.io/v1beta1", "operators.coreos.com/v1alpha1",
        "operators.coreos.com/v1", "olm.operatorframework.io/v1"}
    assert len(pods.items) == 2 and pods.metadata._continue
