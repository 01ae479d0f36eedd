"""Plain manifests (``helm template`` output: no status) are judged as specs.

The chart in ``fixtures/manifests`` has a Deployment, two Services, a ConfigMap, an Ingress and
an HPA, as ``helm template`` prints them, with three faults seeded: a privileged container, a
ConfigMap the pod template reads that the chart does not define, and a Service whose selector
matches no pod template. Those are found; nothing that needs a status (replicas available,
endpoints, conditions) is reported.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from k8sdoctor.exitcodes import ExitCode
from k8sdoctor.report import report_schema
from tests.conftest import FIXTURES, LIVE_CLUSTER, RunCli

CHART = FIXTURES / "manifests" / "shop-chart.yaml"
SEEDED = {
    ("Deployment", "shop-web", "ConfigMapNotFound"),
    ("Deployment", "shop-web", "PrivilegedContainer"),
    ("Service", "shop-web-metrics", "SelectorMatchesNoPods"),
}


def _report(run_cli: RunCli, *args: str) -> tuple[int, dict]:
    result = run_cli(["analyze", "--snapshot", *args, "-o", "json"])
    report = json.loads(result.stdout)
    jsonschema.validate(report, report_schema())
    return result.code, report


def test_seeded_spec_faults_are_found_and_nothing_status_based(run_cli: RunCli) -> None:
    code, report = _report(run_cli, str(CHART), "--strict")
    assert code == ExitCode.OK
    assert report["metadata"]["input"] == "manifests"
    assert "clusterTime" not in report["metadata"]
    assert report["summary"]["complete"] is True
    assert {(f["kind"], f["name"], f["reason"]) for f in report["findings"]} == SEEDED
    missing = next(f for f in report["findings"] if f["reason"] == "ConfigMapNotFound")
    assert missing["message"].startswith("The pod template of Deployment shop-web references")
    assert missing["namespace"] == "default"


def test_a_fixed_chart_is_clean(run_cli: RunCli, tmp_path: Path) -> None:
    documents = list(yaml.safe_load_all(CHART.read_text()))
    for document in documents:
        name = document["metadata"]["name"]
        if document["kind"] == "Deployment":
            container = document["spec"]["template"]["spec"]["containers"][0]
            container["securityContext"] = {"allowPrivilegeEscalation": False}
            container["env"] = []
        if name == "shop-web-metrics":
            document["spec"]["selector"] = {"app.kubernetes.io/name": "shop",
                                            "app.kubernetes.io/instance": "shop"}
            document["spec"]["ports"][0]["targetPort"] = "http"
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(yaml.safe_dump_all(documents))
    _, report = _report(run_cli, str(fixed))
    assert report["findings"] == [], report["findings"]


def test_the_text_report_says_the_input_was_judged_as_specs(run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--snapshot", str(CHART)])
    flat = " ".join(result.stdout.split())
    assert "plain manifests, judged as specs (status-based checks skipped)" in flat
    assert "NoReplicasAvailable" not in result.stdout


def test_manifests_can_be_forced_on_objects_with_status(run_cli: RunCli) -> None:
    _, live = _report(run_cli, str(LIVE_CLUSTER))
    assert "input" not in live["metadata"]
    _, forced = _report(run_cli, str(LIVE_CLUSTER), "--manifests")
    assert forced["metadata"]["input"] == "manifests"
    status_based = {"CrashLoopBackOff", "NoReplicasAvailable", "NoEndpoints", "NoReadyEndpoints",
                    "ImagePullBackOff", "Unschedulable", "ReplicasUnavailable"}
    assert not status_based & {f["reason"] for f in forced["findings"]}
    assert status_based & {f["reason"] for f in live["findings"]}


def test_manifests_needs_a_snapshot(run_cli: RunCli) -> None:
    assert run_cli(["analyze", "--demo", "--manifests"]).code == ExitCode.USAGE
