"""Reports redact secret-shaped text quoted from the cluster, in every format, unless
``--no-redact``; ``k8sdoctor snapshot`` writes its file readable by its owner only."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8sdoctor.analysis import Finding, Severity
from k8sdoctor.analysis.finding import Explanation, RunError
from k8sdoctor.report import OutputFormat, RenderOptions, render
from k8sdoctor.report.model import Report
from k8sdoctor.report.redaction import redacted
from tests.conftest import LIVE_CLUSTER, RunCli
from tests.fakeapi import FakeApiServer
from tests.helpers import DEMO

PASSWORD = "Hunter2-" + "ledger-7Qv"
TOKEN = "tk9" + "f8e7d6c5b4a3"
LEAKY = f"connect to ledger db failed (password={PASSWORD}, token={TOKEN})"


def _leaky_demo(tmp_path: Path) -> Path:
    """The demo, with kubelet's message for the ledger-worker pod quoting credentials."""
    document = yaml.load(DEMO.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    for item in document["items"]:
        if item["kind"] == "Pod" and item["metadata"]["name"].startswith("ledger-worker"):
            waiting = item["status"]["containerStatuses"][0]["state"]["waiting"]
            waiting["message"] = LEAKY
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", [f.value for f in OutputFormat])
def test_every_format_redacts_by_default(run_cli: RunCli, tmp_path: Path, fmt: str) -> None:
    path = _leaky_demo(tmp_path)
    details = ["--details"] if fmt == "text" else []  # the text summary names no evidence
    result = run_cli(["analyze", "--snapshot", str(path), "-o", fmt, *details])
    assert result.code == 0, result.stderr
    assert PASSWORD not in result.stdout and TOKEN not in result.stdout
    # the finding keeps its meaning
    shown = result.stdout.replace("\\", "").replace("\n      ", " ")  # markdown escapes
    assert "password=[REDACTED:secret]" in shown

    raw = run_cli(["analyze", "--snapshot", str(path), "-o", fmt, "--no-redact", *details])
    assert PASSWORD in raw.stdout.replace("\n", "").replace(" ", "")


def test_the_json_report_keeps_identities_and_stays_valid(run_cli: RunCli,
                                                          tmp_path: Path) -> None:
    import jsonschema

    from k8sdoctor.report import report_schema

    result = run_cli(["analyze", "--snapshot", str(_leaky_demo(tmp_path)), "-o", "json"])
    report = json.loads(result.stdout)
    jsonschema.validate(report, report_schema())
    [finding] = [f for f in report["findings"] if f["name"].startswith("ledger-worker")
                 and f["analyzer"] == "pod"]
    assert finding["message"].endswith(
        "(password=[REDACTED:secret], token=[REDACTED:secret])\".")
    assert finding["reason"] == "CreateContainerConfigError"


def test_redaction_covers_every_text_of_a_report_and_nothing_else() -> None:
    finding = Finding(
        severity=Severity.ERROR, kind="Pod", api_version="v1", namespace="shop",
        name="token-rotator-1", reason="CrashLoopBackOff", message=LEAKY,
        evidence=(f"log: Authorization: Bearer {TOKEN}xyz",), remediation=("kubectl logs x",),
        explanation=Explanation(summary=LEAKY, root_cause="bad password", steps=(LEAKY,),
                                backend="ollama", model="m"),
        analyzer="pod",
    )
    report = Report(findings=[finding], errors=[RunError("fetch", "Pod", LEAKY)],
                    source="ctx", analyzers=["pod"])
    text = json.dumps(redacted(report).to_dict())
    assert PASSWORD not in text and TOKEN not in text
    clean: Any = redacted(report)
    assert clean.findings[0].name == "token-rotator-1"
    assert clean.findings[0].id == finding.id
    assert clean.findings[0].remediation is finding.remediation  # untouched text is shared
    assert report.findings[0].message == LEAKY  # the report itself is not changed


def test_a_large_report_is_redacted_in_one_scan_of_its_texts() -> None:
    from dataclasses import replace

    from k8sdoctor.explain.redact import SCAN_FROM

    def pod(index: int, message: str) -> Finding:
        return Finding(severity=Severity.ERROR, kind="Pod", api_version="v1", namespace="shop",
                       name=f"web-{index}", reason="CrashLoopBackOff", message=message,
                       evidence=(f"web-{index}/app restarted {index} times",),
                       remediation=(f"kubectl logs web-{index} -n shop --previous",),
                       analyzer="pod")

    findings = [pod(i, f"Container app of pod web-{i} keeps crashing") for i in range(SCAN_FROM)]
    findings[7] = replace(findings[7], message=LEAKY)
    report = Report(findings=findings, errors=[], source="ctx", analyzers=["pod"])
    clean: Any = redacted(report)
    assert PASSWORD not in clean.findings[7].message
    assert clean.findings[7].message == ("connect to ledger db failed "
                                         "(password=[REDACTED:secret], token=[REDACTED:secret])")
    assert all(new is old for new, old in zip(clean.findings, findings, strict=True)
               if new.name != "web-7")  # the clean findings are shared, not copied
    without = replace(report, findings=findings[:7] + findings[8:])
    assert redacted(without) is without  # nothing to redact: nothing is rebuilt


def test_render_options_redact_by_default() -> None:
    assert RenderOptions().redact is True
    report = Report(findings=[], errors=[RunError("fetch", "Pod", LEAKY)], source="ctx",
                    analyzers=["pod"])
    assert PASSWORD not in render(report, OutputFormat.TEXT)
    assert PASSWORD in render(report, OutputFormat.TEXT, RenderOptions(redact=False))


def test_warnings_on_stderr_are_redacted_too(run_cli: RunCli, tmp_path: Path) -> None:
    document = {"apiVersion": "v1", "kind": "List", "metadata": {"annotations": {
        "k8sdoctor.dev/fetch-errors": json.dumps([{"kind": "Pod", "message": LEAKY}])}},
        "items": [{"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "c", "namespace": "shop"}}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(path)])
    assert "password=[REDACTED:secret]" in result.stderr
    assert PASSWORD not in result.stderr + result.stdout


def test_snapshot_file_is_readable_by_its_owner_only(fake_api: FakeApiServer, kubeconfig: Path,
                                                     run_cli: RunCli, tmp_path: Path) -> None:
    fake_api.load(LIVE_CLUSTER)
    out = tmp_path / "cluster.yaml"
    out.write_text("old content, once world-readable\n", encoding="utf-8")
    out.chmod(0o644)
    result = run_cli(["snapshot", "--kubeconfig", str(kubeconfig), "-o", str(out)])
    assert result.code == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "old content" not in out.read_text(encoding="utf-8")
    fresh = tmp_path / "fresh.yaml"
    run_cli(["snapshot", "--kubeconfig", str(kubeconfig), "-o", str(fresh)])
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
