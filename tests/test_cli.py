"""The command line without a cluster: exit codes 0/1/2/4 (DESIGN.md section 5), one clear
stderr line for bad input, ``-n``/``-l`` on snapshots, every snapshot shape (stdin, a
directory, a raw ``PodList``), and ``k8sdoctor analyzers``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8sdoctor.analysis.engine import run_analyzers
from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.analysis.registry import Analyzer, discover
from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.exitcodes import ExitCode
from k8sdoctor.report.model import Report
from k8sdoctor.run import FailOn, exit_code_for
from tests.conftest import CliResult, RunCli
from tests.helpers import DEMO, load_snapshot

INSTALLED = {analyzer.name for analyzer in discover()[0]}


def _json(result: CliResult) -> dict[str, Any]:
    return json.loads(result.stdout)


def _one_error_line(result: CliResult) -> str:
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr_lines
    assert len(lines) == 1, result.stderr
    return lines[0]


def _cart_pod_and_events() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A crash-looping pod of the demo cluster and the events about it, as the API has them."""
    state = load_snapshot(DEMO)
    pod = next(p for p in state.objects("Pod") if p["metadata"]["name"].startswith("cart-"))
    return dict(pod), [dict(e) for e in state.events_for(pod)]


# -- exit code 2: bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "position"), [
    ("broken.yaml", "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: a\n",
     r":6:1"),
    ("broken.json", '{"apiVersion": "v1",\n "kind": "List",\n "items": [}\n', r":3:12"),
])
def test_malformed_snapshot_is_one_line_with_its_position(
        run_cli: RunCli, tmp_path: Path, name: str, text: str, position: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(path)])
    assert result.code == ExitCode.USAGE
    line = _one_error_line(result)
    assert re.search(re.escape(str(path)) + position, line), line


def test_missing_snapshot_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli(["analyze", "--snapshot", str(tmp_path / "nope.yaml")])
    assert result.code == ExitCode.USAGE
    assert "nope.yaml" in _one_error_line(result)


def test_unknown_analyzer_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--demo", "-a", "no-such-analyzer"])
    assert result.code == ExitCode.USAGE
    line = _one_error_line(result)
    assert "no-such-analyzer" in line
    assert all(name in line for name in INSTALLED)


def test_demo_and_snapshot_exclude_each_other(run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--demo", "--snapshot", str(DEMO)])
    assert result.code == ExitCode.USAGE
    assert "--demo" in _one_error_line(result)


# -- exit code 4: incomplete data with --strict ---------------------------------------------------


def _raising(_state: Any) -> Iterable[Finding]:
    raise KeyError("status")


def _one_finding(state: Any) -> Iterable[Finding]:
    pod = state.objects("Pod")[0]
    yield Finding.about(pod, severity=Severity.WARNING, reason="Seen", message="A pod.")


def test_a_crashing_analyzer_makes_the_run_incomplete_not_failed() -> None:
    state = load_snapshot(DEMO)
    broken = Analyzer(name="broken", kinds=("Pod",), analyze=_raising,
                      doc="Always raises.\n\nA test double for a buggy plugin.")
    working = Analyzer(name="working", kinds=("Pod",), analyze=_one_finding,
                       doc="Reports one pod.\n\nA test double.")
    findings, errors = run_analyzers(state, [broken, working])
    assert [f.analyzer for f in findings] == ["working"]
    assert [(e.stage, e.subject) for e in errors] == [("analyzer", "broken")]
    assert "KeyError" in errors[0].message
    report = Report(findings=findings, errors=errors, source="demo", analyzers=["broken",
                                                                                 "working"])
    assert report.incomplete
    assert exit_code_for(report, FailOn.NEVER, strict=True) is ExitCode.INCOMPLETE
    assert exit_code_for(report, FailOn.NEVER, strict=False) is ExitCode.OK
    assert exit_code_for(report, FailOn.WARNING, strict=False) is ExitCode.FINDINGS


def _snapshot_with_fetch_error(path: Path) -> Path:
    pod, events = _cart_pod_and_events()
    document = {
        "apiVersion": "v1", "kind": "List",
        "metadata": {"annotations": {
            "k8sdoctor.dev/captured-at": "2026-11-27T09:30:00Z",
            "k8sdoctor.dev/listed-kinds": "Event,Node,Pod",
            "k8sdoctor.dev/fetch-errors": json.dumps([{
                "kind": "Secret", "message": 'forbidden: secrets is forbidden: User "ci" '
                'cannot list resource "secrets" in API group "" at the cluster scope'}]),
        }},
        "items": [pod, *events],
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def test_strict_exits_4_when_a_kind_could_not_be_listed(run_cli: RunCli, tmp_path: Path) -> None:
    snapshot = _snapshot_with_fetch_error(tmp_path / "partial.yaml")
    strict = run_cli(["analyze", "--snapshot", str(snapshot), "--strict", "-o", "json"])
    assert strict.code == ExitCode.INCOMPLETE, strict.stderr
    report = _json(strict)
    assert report["summary"]["complete"] is False
    assert [(e["stage"], e["subject"]) for e in report["errors"]] == [("fetch", "Secret")]
    assert "Secret" in strict.stderr and "Traceback" not in strict.stderr
    lenient = run_cli(["analyze", "--snapshot", str(snapshot)])
    assert lenient.code == ExitCode.OK
    assert "Not checked" in lenient.stdout


def test_strict_does_not_hide_findings_or_fail_on(run_cli: RunCli, tmp_path: Path) -> None:
    snapshot = _snapshot_with_fetch_error(tmp_path / "partial.yaml")
    result = run_cli(["analyze", "--snapshot", str(snapshot), "-o", "json", "--fail-on",
                      "error"])
    assert result.code == ExitCode.FINDINGS
    assert any(f["reason"] == "CrashLoopBackOff" for f in _json(result)["findings"])


# -- scope and snapshot shapes ------------------------------------------------------------------


def test_namespace_flag_is_honoured_on_snapshots(run_cli: RunCli) -> None:
    everything = _json(run_cli(["analyze", "--snapshot", str(DEMO), "-o", "json"]))
    shop = _json(run_cli(["analyze", "--snapshot", str(DEMO), "-n", "shop", "-o", "json"]))
    namespaces = {f["namespace"] for f in shop["findings"]}
    assert "shop" in namespaces and namespaces <= {"shop", None}
    expected = [f["id"] for f in everything["findings"] if f["namespace"] == "shop"]
    assert [f["id"] for f in shop["findings"] if f["namespace"] == "shop"] == expected


def test_selector_flag_is_honoured_on_snapshots(run_cli: RunCli) -> None:
    report = _json(run_cli(["analyze", "--snapshot", str(DEMO), "-l", "app=cart", "-o",
                            "json"]))
    pods = {(f["name"], f["reason"]) for f in report["findings"] if f["kind"] == "Pod"}
    assert pods and all(name.startswith("cart-") for name, _ in pods)
    assert {"CrashLoopBackOff"} == {reason for _, reason in pods}
    # -l filters the Lists of label-selectable kinds; the others are read whole, as live.
    selected = [f for f in report["findings"] if KNOWN_KINDS[f["kind"]].label_selectable]
    assert all(f["name"].startswith("cart-") for f in selected), selected


def test_snapshot_from_stdin(run_cli: RunCli) -> None:
    from_file = _json(run_cli(["analyze", "--snapshot", str(DEMO), "-o", "json"]))
    from_stdin = run_cli(["analyze", "--snapshot", "-", "-o", "json"],
                         stdin=DEMO.read_text(encoding="utf-8"))
    assert from_stdin.code == 0, from_stdin.stderr
    report = _json(from_stdin)
    assert report["metadata"]["source"] == "stdin"
    assert [f["id"] for f in report["findings"]] == [f["id"] for f in from_file["findings"]]


def _as_api_list(kind: str, items: list[Mapping[str, Any]]) -> dict[str, Any]:
    """A raw API List response: the items carry neither ``kind`` nor ``apiVersion``."""
    bare = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in items]
    return {"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "1183562"},
            "items": bare}


def test_directory_snapshot_is_read_recursively(run_cli: RunCli, tmp_path: Path) -> None:
    pod, events = _cart_pod_and_events()
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "pods.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [pod]}), encoding="utf-8")
    (tmp_path / "events.json").write_text(json.dumps(_as_api_list("EventList", events)),
                                          encoding="utf-8")
    (tmp_path / "NOTES.txt").write_text("not a snapshot: ignored\n", encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(tmp_path), "-o", "json"])
    assert result.code == 0, result.stderr
    [finding] = [f for f in _json(result)["findings"] if f["reason"] == "CrashLoopBackOff"]
    assert finding["name"] == pod["metadata"]["name"]
    assert any("Back-off restarting failed container" in e for e in finding["evidence"])


def test_raw_pod_list_without_item_kinds(run_cli: RunCli, tmp_path: Path) -> None:
    pod, _ = _cart_pod_and_events()
    path = tmp_path / "pods.json"
    path.write_text(json.dumps(_as_api_list("PodList", [pod])), encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(path), "-a", "pod", "-o", "json"])
    assert result.code == 0, result.stderr
    findings = _json(result)["findings"]
    assert [(f["kind"], f["apiVersion"], f["reason"]) for f in findings] == [
        ("Pod", "v1", "CrashLoopBackOff")]


# -- k8sdoctor analyzers ----------------------------------------------------------------------


def test_analyzers_lists_every_installed_analyzer(run_cli: RunCli) -> None:
    result = run_cli(["analyzers"])
    assert result.code == 0, result.stderr
    first_words = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert first_words >= INSTALLED
    assert {"NAME", "DEFAULT", "KINDS", "DESCRIPTION"} <= set(result.stdout.split())


@pytest.mark.parametrize("name", sorted(INSTALLED))
def test_analyzers_name_prints_its_faults_and_fixes(run_cli: RunCli, name: str) -> None:
    analyzer = next(a for a in discover()[0] if a.name == name)
    result = run_cli(["analyzers", name])
    assert result.code == 0, result.stderr
    assert result.stdout.startswith(f"{name} — {analyzer.description}")
    assert "Faults reported" in result.stdout
    assert all(kind in result.stdout for kind in analyzer.kinds)


def test_analyzers_unknown_name_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli(["analyzers", "no-such-analyzer"])
    assert result.code == ExitCode.USAGE
    assert "no-such-analyzer" in _one_error_line(result)
