"""A plain ``kubectl get`` file that lacks a kind says which references it could not check.

``kubectl get ingress,svc -n shop -o yaml`` in a namespace without Services holds an Ingress and
no Service: the missing backend is not called missing (the file does not say Services were
listed), but it is listed as not checked, the run is incomplete (``--strict`` exits 4), and
``--snapshot-kinds`` declares which kinds the file covers completely.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from k8sdoctor.exitcodes import ExitCode
from k8sdoctor.report import report_schema
from tests.conftest import FIXTURES, RunCli

PARTIAL = FIXTURES / "partial" / "ingress-without-services.yaml"


def _json(run_cli: RunCli, *args: str) -> tuple[int, dict]:
    result = run_cli(["analyze", "--snapshot", str(PARTIAL), "-o", "json", *args])
    report = json.loads(result.stdout)
    jsonschema.validate(report, report_schema())
    return result.code, report


def test_the_unchecked_backend_is_listed_and_strict_fails(run_cli: RunCli) -> None:
    code, report = _json(run_cli, "--strict")
    assert code == ExitCode.INCOMPLETE
    assert report["findings"] == []
    assert report["summary"]["complete"] is False
    services = [n for n in report["notChecked"] if n["target"]["kind"] == "Service"]
    assert services == [{
        "object": {"kind": "Ingress", "namespace": "shop", "name": "web"},
        "reference": "spec.rules[0].http.paths[0].backend.service",
        "target": {"kind": "Service", "namespace": "shop", "name": "web"},
        "command": "kubectl get services -n shop -o yaml",
    }]
    assert any(e["stage"] == "fetch" and e["subject"] == "Service" for e in report["errors"])


def test_text_report_names_what_was_not_checked(run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--snapshot", str(PARTIAL)])
    assert result.code == ExitCode.OK
    assert "Not checked" in result.stdout
    assert "Ingress/shop/web spec.rules[0].http.paths[0].backend.service" in result.stdout
    assert "kubectl get services -n shop -o yaml" in result.stdout


def test_declaring_every_kind_covered_reports_the_missing_service(run_cli: RunCli) -> None:
    code, report = _json(run_cli, "--snapshot-kinds", "all", "--strict")
    assert code == ExitCode.OK
    assert "notChecked" not in report
    assert {f["reason"] for f in report["findings"]} == {"BackendServiceNotFound",
                                                         "IngressClassNotFound"}


def test_declaring_some_kinds_checks_those_and_lists_the_rest(run_cli: RunCli) -> None:
    code, report = _json(run_cli, "--snapshot-kinds", "services", "--strict")
    assert code == ExitCode.INCOMPLETE
    assert [f["reason"] for f in report["findings"]] == ["BackendServiceNotFound"]
    assert [n["target"]["kind"] for n in report["notChecked"]] == ["IngressClass"]


def test_a_recorded_snapshot_has_nothing_unchecked(run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--demo", "-o", "json"])
    assert "notChecked" not in json.loads(result.stdout)


def test_an_unknown_kind_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli(["analyze", "--snapshot", str(PARTIAL), "--snapshot-kinds", "Servics"])
    assert result.code == ExitCode.USAGE
    assert "--snapshot-kinds: unknown kind Servics" in result.stderr
    result = run_cli(["analyze", "--demo", "--snapshot-kinds", "all"])
    assert result.code == ExitCode.USAGE
