"""``-o sarif`` against the SARIF 2.1.0 schema, ``--namespace-exclude`` and the health score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from k8sdoctor.analysis.docs import fault_docs
from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.analysis.score import health_score
from k8sdoctor.cluster.state import ObjectRef
from k8sdoctor.report import report_schema
from k8sdoctor.testing import installed_analyzer
from tests.conftest import RunCli
from tests.helpers import DEMO, load_snapshot

SARIF_SCHEMA = json.loads(
    (Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json").read_text())


def sarif_errors(document: Any) -> list[str]:
    validator = jsonschema.Draft4Validator(
        SARIF_SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


@pytest.fixture(scope="module")
def demo_sarif() -> dict[str, Any]:
    from tests.conftest import _run_cli

    result = _run_cli(["analyze", "--demo", "-o", "sarif"])
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def demo_json() -> dict[str, Any]:
    from tests.conftest import _run_cli

    return json.loads(_run_cli(["analyze", "--demo", "-o", "json"]).stdout)


def test_demo_sarif_validates_against_the_sarif_2_1_0_schema(demo_sarif: dict) -> None:
    assert demo_sarif["version"] == "2.1.0"
    assert sarif_errors(demo_sarif) == []


def test_the_schema_check_can_fail(demo_sarif: dict) -> None:
    broken = json.loads(json.dumps(demo_sarif))
    broken["runs"][0]["results"][0]["level"] = "critical"
    del broken["runs"][0]["tool"]["driver"]["name"]
    assert len(sarif_errors(broken)) == 2


def test_one_result_per_finding_with_its_object_and_level(demo_sarif: dict,
                                                          demo_json: dict) -> None:
    results = demo_sarif["runs"][0]["results"]
    findings = demo_json["findings"]
    assert len(results) == len(findings) > 30
    level = {"critical": "error", "error": "error", "warning": "warning", "info": "note"}
    for result, finding in zip(results, findings, strict=True):
        assert result["ruleId"] == f"{finding['analyzer']}/{finding['reason']}"
        assert result["level"] == level[finding["severity"]]
        assert result["message"]["text"] == finding["message"]
        logical = result["locations"][0]["logicalLocations"][0]
        assert logical["name"] == finding["name"]
        assert logical["fullyQualifiedName"] == "/".join(
            p for p in (finding["namespace"], finding["kind"], finding["name"]) if p)
        assert result["partialFingerprints"]["k8sdoctorFindingId/v1"] == finding["id"]


def test_one_rule_per_analyzer_and_reason_each_with_help(demo_sarif: dict,
                                                         demo_json: dict) -> None:
    rules = demo_sarif["runs"][0]["tool"]["driver"]["rules"]
    expected = {f"{f['analyzer']}/{f['reason']}" for f in demo_json["findings"]}
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    for rule in rules:
        assert rule["help"]["text"].strip(), rule["id"]
        analyzer, reason = rule["id"].split("/")
        documented = fault_docs(installed_analyzer(analyzer)).get(reason)
        if documented:
            assert rule["help"]["markdown"] == documented.replace("``", "`")
            assert rule["help"]["text"].startswith(documented.split("``")[1])
    for result in demo_sarif["runs"][0]["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_fault_docs_read_every_reason_the_pod_analyzer_lists() -> None:
    docs = fault_docs(installed_analyzer("pod"))
    assert {"CrashLoopBackOff", "ImagePullBackOff", "OOMKilled", "Unschedulable"} <= set(docs)
    assert "Fix:" in docs["CrashLoopBackOff"]


def test_namespace_exclude_takes_globs(run_cli: RunCli, demo_json: dict) -> None:
    result = run_cli(["analyze", "--demo", "-o", "json", "--namespace-exclude", "sh*",
                      "--namespace-exclude", "payments"])
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    kept = [f for f in demo_json["findings"] if f["namespace"] not in ("shop", "payments")]
    assert report["findings"] == kept
    assert not {"shop", "payments"} & set(report["summary"]["healthScore"]["namespaces"])
    assert report["summary"]["findings"] == len(kept) < len(demo_json["findings"])


def test_health_score_in_json_and_the_summary_line(run_cli: RunCli, demo_json: dict) -> None:
    jsonschema.validate(demo_json, report_schema())
    score = demo_json["summary"]["healthScore"]
    namespaces = score["namespaces"]
    assert score["workloads"] == sum(n["workloads"] for n in namespaces.values())
    assert score["unhealthy"] == sum(n["unhealthy"] for n in namespaces.values())
    assert score["cluster"] == 100 * (score["workloads"] - score["unhealthy"]) // score[
        "workloads"]
    assert namespaces["kube-system"]["score"] == 100
    assert namespaces["shop"]["score"] < 100
    assert "error or critical" in score["basis"]
    text = run_cli(["analyze", "--demo"]).stdout.splitlines()[-1]
    assert text.endswith(f"; health {score['cluster']}/100")


def deployment_finding(severity: Severity, name: str = "checkout") -> Finding:
    return Finding(severity=severity, kind="Pod", api_version="v1", namespace="shop",
                   name=f"{name}-5d8f7c9b6-abcde", reason="CrashLoopBackOff", message="x",
                   parent=ObjectRef("Deployment", name, "shop"), analyzer="pod")


def test_score_counts_a_workload_once_and_ignores_warnings() -> None:
    state = load_snapshot(DEMO)
    clean = health_score(state, [])
    shop = clean.namespaces["shop"]
    assert shop.score == 100 and shop.unhealthy == 0
    deployments = [d["metadata"]["name"] for d in state.objects("Deployment")
                   if d["metadata"]["namespace"] == "shop"]
    two_pods = [deployment_finding(Severity.ERROR, deployments[0]),
                deployment_finding(Severity.CRITICAL, deployments[0])]
    one_bad = health_score(state, two_pods).namespaces["shop"]
    assert one_bad.unhealthy == 1
    assert one_bad.score == 100 * (shop.workloads - 1) // shop.workloads
    warned = health_score(state, [deployment_finding(Severity.WARNING, deployments[0])])
    assert warned.namespaces["shop"].score == 100
