"""RBAC on a real server: ``deploy/rbac.yaml`` is enough for a full analysis, a kind the role leaves
out is named in ``errors`` (exit 0, 4 with ``--strict``), and a token the server does not know is
exit 3 with one line.

The full-analysis test logs in as the ServiceAccount ``deploy/rbac.yaml`` creates, with a token
the server issued for it (TokenRequest), exactly as an in-cluster run or a CI job would.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli
from tests.e2e.conftest import LoadedCluster, deploy_documents

LIMITED = "k8sdoctor-limited"
LEFT_OUT = "persistentvolumeclaims"


@pytest.fixture(scope="module")
def limited_user(demo_cluster: LoadedCluster, service_account_token: str) -> str:
    """A user with the project's ClusterRole less one resource, and the Secrets role."""
    role = next(d for d in deploy_documents("rbac.yaml") if d["kind"] == "ClusterRole")
    role = copy.deepcopy(role)
    role["metadata"]["name"] = "k8sdoctor-reader-without-claims"
    for rule in role["rules"]:
        rule["resources"] = [r for r in rule["resources"] if r != LEFT_OUT]
    role["rules"] = [r for r in role["rules"] if r["resources"]]
    bindings = [{
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": f"k8sdoctor-limited-{index}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": LIMITED}],
    } for index, name in enumerate((role["metadata"]["name"], "k8sdoctor-secrets-metadata"))]
    demo_cluster.plane.apply_documents([role, *bindings])
    return LIMITED


def analyze(run_cli: RunCli, kubeconfig: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-o", "json", *extra])
    report = json.loads(result.stdout) if result.stdout else {}
    return result.code, report, result.stderr


def findings(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return sorted((f["analyzer"], f["namespace"] or "", f["name"], f["reason"])
                  for f in report["findings"])


def test_the_projects_cluster_role_allows_a_full_analysis(
        demo_cluster: LoadedCluster, service_account_token: str, run_cli: RunCli) -> None:
    as_reader = demo_cluster.kubeconfig("reader", token=service_account_token)

    code, report, stderr = analyze(run_cli, as_reader, "--strict")
    _, as_admin, _ = analyze(run_cli, demo_cluster.kubeconfig())

    assert code == 0, stderr
    assert report["errors"] == []
    assert report["summary"]["complete"] is True
    assert findings(report) == findings(as_admin)
    assert report["findings"]


def test_a_kind_the_role_leaves_out_is_named_in_errors(
        demo_cluster: LoadedCluster, limited_user: str, run_cli: RunCli) -> None:
    kubeconfig = demo_cluster.kubeconfig("limited", limited_user)

    code, report, stderr = analyze(run_cli, kubeconfig)
    strict_code, _, _ = analyze(run_cli, kubeconfig, "--strict")

    assert code == 0, stderr
    assert strict_code == 4
    assert [(e["stage"], e["subject"]) for e in report["errors"]] == [
        ("fetch", "PersistentVolumeClaim")]
    message = report["errors"][0]["message"]
    assert message == (
        f'forbidden: {LEFT_OUT} is forbidden: User "{LIMITED}" cannot list resource '
        f'"{LEFT_OUT}" in API group "" at the cluster scope')
    assert report["summary"]["complete"] is False
    assert "k8sdoctor: warning: fetch PersistentVolumeClaim: forbidden" in stderr
    # Nothing is said about claims that could not be seen.
    assert not any(f["kind"] == "PersistentVolumeClaim" for f in report["findings"])


def test_a_token_the_server_does_not_know_is_exit_3(demo_cluster: LoadedCluster,
                                                    run_cli: RunCli) -> None:
    kubeconfig = demo_cluster.kubeconfig("bad-token", token="not-a-token-this-server-issued")

    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig)])

    assert result.code == 3
    assert result.stdout == ""
    assert len(result.stderr_lines) == 1, result.stderr
    line = result.stderr_lines[0]
    assert line.startswith("k8sdoctor: error: ")
    assert "401 Unauthorized" in line and demo_cluster.plane.url in line
