"""The healthy fixture cluster (a directory snapshot of a GKE-style cluster) gives no finding at
warning or above from the default analyzers and passes the CI gate, although it holds the
objects that analyzers commonly misjudge. A second group of tests proves the fixture really holds
those objects, so it keeps testing what it claims to.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from k8sdoctor.analysis.finding import Severity
from k8sdoctor.cluster.state import ClusterState
from tests.conftest import RunCli
from tests.fixtures.clustergen.output import HEALTHY_DIR, rendered
from tests.helpers import HEALTHY, consistency_problems, load_snapshot


@pytest.fixture(scope="module")
def state() -> ClusterState:
    return load_snapshot(HEALTHY)


def test_healthy_cluster_passes_the_gate(run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--snapshot", str(HEALTHY), "--fail-on", "warning",
                      "-o", "json"])
    report = json.loads(result.stdout)
    serious = [f"{f['severity']} {f['analyzer']} {f['kind']}/{f['namespace']}/{f['name']} "
               f"{f['reason']}: {f['message']}" for f in report["findings"]
               if Severity(f["severity"]) >= Severity.WARNING]
    assert not serious, "\n".join(serious)
    assert result.code == 0, result.stderr
    assert report["errors"] == [] and report["summary"]["complete"] is True


def test_healthy_cluster_text_report(run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--snapshot", str(HEALTHY), "--fail-on", "info"])
    assert result.code == 0, result.stdout
    assert "No problems found" in result.stdout
    assert result.stderr == ""


def test_healthy_fixture_is_consistent_like_a_real_cluster(state: ClusterState) -> None:
    assert consistency_problems(state) == []
    assert 35 <= len(state.objects("Pod")) <= 50
    assert len(state.objects("Namespace")) >= 6
    assert len(state.objects("Node")) == 3


def test_healthy_fixture_is_what_its_generator_writes() -> None:
    files = {p: text for p, text in rendered().items() if p.parent == HEALTHY_DIR}
    assert sorted(p.name for p in HEALTHY_DIR.iterdir()) == sorted(p.name for p in files)
    for path, text in files.items():
        assert path.read_text(encoding="utf-8") == text, f"{path.name} differs from the generator"


# -- the fixture holds what analyzers misjudge ------------------------------------------------


def _conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or ()}


def test_it_holds_completed_pods_and_a_job_that_succeeded_after_retries(
        state: ClusterState) -> None:
    retried = [j for j in state.objects("Job") if (j["status"].get("failed") or 0) > 0
               and _conditions(j).get("Complete", {}).get("status") == "True"]
    assert retried
    job_uid = retried[0]["metadata"]["uid"]
    phases = sorted(p["status"]["phase"] for p in state.owned_by(job_uid))
    assert phases == ["Failed", "Failed", "Succeeded"]
    assert sum(p["status"]["phase"] == "Succeeded" for p in state.objects("Pod")) >= 4


def test_it_holds_a_rollout_in_progress_inside_its_deadline(state: ClusterState) -> None:
    deployment = state.get("Deployment", "web", "api")
    assert deployment is not None
    progressing = _conditions(deployment)["Progressing"]
    assert (progressing["status"], progressing["reason"]) == ("True", "ReplicaSetUpdated")
    assert state.age_of(progressing["lastUpdateTime"]) < deployment["spec"][
        "progressDeadlineSeconds"]
    assert deployment["status"]["updatedReplicas"] < deployment["spec"]["replicas"]


def _configmap_uses(state: ClusterState, name: str) -> set[str]:
    uses = set()
    for pod in state.objects("Pod"):
        spec = pod["spec"]
        for volume in spec.get("volumes") or ():
            if (volume.get("configMap") or {}).get("name") == name:
                uses.add("volume")
            for source in (volume.get("projected") or {}).get("sources") or ():
                if (source.get("configMap") or {}).get("name") == name:
                    uses.add("projected")
        for item in spec["containers"]:
            if any((e.get("configMapRef") or {}).get("name") == name
                   for e in item.get("envFrom") or ()):
                uses.add("envFrom")
    return uses


@pytest.mark.parametrize(("namespace", "name", "how"), [
    ("web", "frontend-config", {"envFrom"}),
    ("web", "api-ca-bundle", {"projected"}),
    ("data", "postgres-init", {"volume"}),
    ("web", "kube-root-ca.crt", {"projected"}),
])
def test_it_holds_configmaps_used_only_indirectly(state: ClusterState, namespace: str,
                                                  name: str, how: set[str]) -> None:
    assert state.get("ConfigMap", namespace, name) is not None
    assert _configmap_uses(state, name) == how


def test_postgres_init_is_mounted_by_the_init_container_only(state: ClusterState) -> None:
    pod = state.get("Pod", "data", "postgres-0")
    assert pod is not None
    mounted = {m["name"] for c in pod["spec"]["initContainers"] for m in c["volumeMounts"]}
    assert "init-scripts" in mounted
    assert all("init-scripts" not in {m["name"] for m in c.get("volumeMounts") or ()}
               for c in pod["spec"]["containers"])


def test_it_holds_a_default_deny_network_policy(state: ClusterState) -> None:
    policy = state.get("NetworkPolicy", "data", "default-deny")
    assert policy is not None
    assert policy["spec"]["podSelector"] == {} and "ingress" not in policy["spec"]


def test_it_holds_vendor_node_conditions(state: ClusterState) -> None:
    for node in state.objects("Node"):
        conditions = _conditions(node)
        for kind in ("FrequentUnregisterNetDevice", "KernelDeadlock", "ReadonlyFilesystem"):
            assert conditions[kind]["status"] == "False"
        assert conditions["Ready"]["status"] == "True"


def test_it_holds_benign_warning_events(state: ClusterState) -> None:
    reasons = {e["reason"] for e in state.objects("Event") if e["type"] == "Warning"}
    assert {"FailedMount", "Unhealthy"} <= reasons
    assert {"Scheduled", "Pulled", "Started"} <= {e["reason"] for e in state.objects("Event")}

