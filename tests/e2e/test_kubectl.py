"""kubectl agrees with k8sdoctor on the real server: what the demo's report says does not exist,
``kubectl get`` answers NotFound for, and the objects the findings are about, it finds.

Every ``*NotFound`` finding must be checked here: a new reason without a rule below fails the test
rather than going unchecked.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from k8sdoctor import run
from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.state import Scope
from tests.e2e.conftest import LoadedCluster

# reason -> (pattern naming the missing objects in the message, kubectl resource)
MISSING = {
    "StorageClassNotFound": (r"StorageClass (\S+?),? which does not exist", "storageclass"),
    "BackendServiceNotFound": (r"to Service\(s\) (.+?), which do not exist", "service"),
    "TLSSecretNotFound": (r"uses TLS Secret\(s\) (.+?) for ", "secret"),
}
KEY_MISSING = re.compile(r"key (\S+) of ConfigMap (\S+?)[ ,;)]")


@pytest.fixture(scope="module")
def kubectl(demo_cluster: LoadedCluster) -> Any:
    binary = shutil.which("kubectl")
    if binary is None:
        pytest.skip("kubectl is not installed")
    kubeconfig = demo_cluster.kubeconfig()

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([binary, "--kubeconfig", str(kubeconfig), *args],
                              capture_output=True, text=True, timeout=60)

    return call


@pytest.fixture(scope="module")
def demo_report(demo_cluster: LoadedCluster) -> dict[str, Any]:
    source = LiveSource(str(demo_cluster.kubeconfig()), clock=demo_cluster.clock())
    return run.analyze(source, Scope(), ["all"], logs=False).to_dict()


def missing_objects(report: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """(kubectl resource, namespace, name) of everything the report says does not exist."""
    missing = []
    for finding in report["findings"]:
        reason = finding["reason"]
        if reason == "ConfigMapKeyNotFound":
            continue
        if not reason.endswith("NotFound"):
            continue
        assert reason in MISSING, f"no rule to check {reason} with kubectl"
        pattern, resource = MISSING[reason]
        match = re.search(pattern, finding["message"])
        assert match, finding["message"]
        namespace = None if resource == "storageclass" else finding["namespace"]
        missing += [(resource, namespace, name.strip()) for name in match.group(1).split(",")]
    return missing


def test_what_we_report_missing_is_not_found_by_kubectl(demo_report: dict[str, Any],
                                                       kubectl: Any) -> None:
    missing = missing_objects(demo_report)

    assert {m[0] for m in missing} == {resource for _, resource in MISSING.values()}
    for resource, namespace, name in missing:
        scope = ["-n", namespace] if namespace else []
        answer = kubectl("get", resource, name, *scope)
        assert answer.returncode == 1, (resource, name, answer.stdout)
        assert "Error from server (NotFound)" in answer.stderr
        assert f'"{name}" not found' in answer.stderr


def test_a_missing_configmap_key_is_missing_for_kubectl(demo_report: dict[str, Any],
                                                       kubectl: Any) -> None:
    findings = [f for f in demo_report["findings"] if f["reason"] == "ConfigMapKeyNotFound"]
    assert findings

    for finding in findings:
        key, config_map = KEY_MISSING.search(finding["message"]).groups()
        answer = kubectl("get", "configmap", config_map, "-n", finding["namespace"], "-o", "json")
        assert answer.returncode == 0, answer.stderr
        assert key not in (json.loads(answer.stdout).get("data") or {})


def test_the_objects_findings_are_about_exist_for_kubectl(demo_report: dict[str, Any],
                                                         kubectl: Any) -> None:
    subjects = {(f["kind"], f["namespace"], f["name"]) for f in demo_report["findings"]}
    assert subjects

    for kind, namespace, name in sorted(subjects, key=str):
        scope = ["-n", namespace] if namespace else []
        answer = kubectl("get", kind.lower(), name, *scope, "-o", "name")
        assert answer.returncode == 0, (kind, namespace, name, answer.stderr)
