"""Snapshots that must not pass a CI gate by accident: empty input is bad input (exit 2), and a
snapshot holding none of the kinds the analyzers read is reported as not checked (exit 4 with
``--strict``), never as a healthy cluster."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import RunCli

EMPTY_INPUTS = {
    "empty file": "",
    "document separator only": "---\n",
    "comment only": "# kubectl get pods -o yaml > pods.yaml\n",
    "blank lines": "\n\n  \n",
    "empty List": "apiVersion: v1\nkind: List\nitems: []\nmetadata:\n  resourceVersion: \"\"\n",
}


@pytest.mark.parametrize("content", EMPTY_INPUTS.values(), ids=EMPTY_INPUTS.keys())
def test_a_snapshot_without_objects_is_bad_input(run_cli: RunCli, tmp_path: Path,
                                                 content: str) -> None:
    path = tmp_path / "pods.yaml"
    path.write_text(content, encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(path), "--strict", "--fail-on", "info"])
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr_lines == [
        f"k8sdoctor: error: snapshot {path}: holds no Kubernetes object (an empty file, or the "
        "output of a kubectl command that failed); nothing to analyze"
    ]


def test_empty_stdin_is_bad_input(run_cli: RunCli) -> None:
    # `kubectl get pods -o yaml | k8sdoctor analyze --snapshot -` where kubectl failed
    result = run_cli(["analyze", "--snapshot", "-", "--fail-on", "info"], stdin="")
    assert result.code == 2
    assert "snapshot stdin: holds no Kubernetes object" in result.stderr
    assert result.stdout == ""


def test_an_empty_directory_of_empty_files_is_bad_input(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("---\n", encoding="utf-8")
    (tmp_path / "b.json").write_text("", encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(tmp_path)])
    assert result.code == 2
    assert "holds no Kubernetes object" in result.stderr


def test_a_snapshot_of_an_empty_scope_taken_by_k8sdoctor_is_valid(run_cli: RunCli,
                                                                  tmp_path: Path) -> None:
    # `k8sdoctor snapshot -n empty` records what it listed: no object is then a real answer
    path = tmp_path / "empty-namespace.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "List", "items": [],
        "metadata": {"annotations": {"k8sdoctor.dev/listed-kinds": "Deployment,Pod,Service",
                                     "k8sdoctor.dev/captured-at": "2026-11-20T10:00:00Z"}},
    }), encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(path), "-a", "pod", "--strict", "-o", "json"])
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["complete"] is True


def test_a_snapshot_with_none_of_the_kinds_read_is_incomplete(run_cli: RunCli,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "widgets.yaml"
    path.write_text(yaml.safe_dump_all([
        {"apiVersion": "example.com/v1", "kind": "Widget",
         "metadata": {"name": "w", "namespace": "shop"}},
        {"apiVersion": "example.com/v1", "kind": "Gadget",
         "metadata": {"name": "g", "namespace": "shop"}},
    ]), encoding="utf-8")

    strict = run_cli(["analyze", "--snapshot", str(path), "--strict", "-o", "json"])
    assert strict.code == 4
    report = json.loads(strict.stdout)
    assert report["summary"]["complete"] is False
    assert report["errors"] == [{
        "stage": "fetch", "subject": "snapshot",
        "message": f"{path} holds no object of a kind the selected analyzers read (it holds "
                   "Gadget, Widget); nothing was checked",
    }]

    text = run_cli(["analyze", "--snapshot", str(path)])
    assert text.code == 0
    assert "Not checked" in text.stdout
    assert "nothing was checked" in text.stdout


def test_a_snapshot_holding_a_kind_read_is_not_flagged(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": "c", "namespace": "shop"}}),
                    encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(path), "--strict", "-o", "json"])
    assert result.code == 0, result.stdout
    assert json.loads(result.stdout)["errors"] == []


# -- size, depth and flow-style YAML ------------------------------------------------------------

POD_FLOW = ("{kind: List, apiVersion: v1, items: [{apiVersion: v1, kind: Pod, metadata: "
            "{name: web, namespace: shop}, spec: {containers: [{name: app, image: 'web:1'}]}}]}")


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000,
                                  '{"kind": "List", "items": ' + "[" * 100_000 + "]" * 100_000
                                  + "}",
                                  "kind: List\nitems: " + "[" * 100_000 + "]" * 100_000])
def test_deep_nesting_is_bad_input_not_a_crash(run_cli: RunCli, tmp_path: Path,
                                               text: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(text, encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(path)])
    assert result.code == 2
    assert result.stderr_lines == [
        f"k8sdoctor: error: snapshot {path}: nested more than about 1,000 levels deep, which no "
        "Kubernetes object is; k8sdoctor reads no deeper"]


def test_a_snapshot_over_the_size_cap_is_refused_before_it_is_read(
        run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from k8sdoctor.cluster import snapshot

    monkeypatch.setattr(snapshot, "MAX_SNAPSHOT_BYTES", 2**30)
    path = tmp_path / "big.yaml"
    with path.open("wb") as handle:  # sparse: 1.5 GiB that takes no disk
        handle.truncate(3 * 2**29)
    result = run_cli(["analyze", "--snapshot", str(path)])
    assert result.code == 2
    assert result.stderr_lines == [
        f"k8sdoctor: error: snapshot {path}: holds 1.5 GiB; a snapshot may hold at most 1 GiB; "
        "take one per namespace (-n) instead"]


def test_stdin_over_the_size_cap_is_refused(run_cli: RunCli,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from k8sdoctor.cluster import snapshot

    monkeypatch.setattr(snapshot, "MAX_SNAPSHOT_BYTES", 1000)
    result = run_cli(["analyze", "--snapshot", "-"], stdin="# padding\n" * 200)
    assert result.code == 2
    assert "snapshot stdin: a snapshot may hold at most" in result.stderr


def test_flow_style_yaml_is_read(run_cli: RunCli, tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(POD_FLOW, encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(path), "-a", "pod", "-o", "json"])
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["errors"] == []
    from_stdin = run_cli(["analyze", "--snapshot", "-", "-a", "pod", "-o", "json"],
                         stdin=POD_FLOW)
    assert from_stdin.code == 0, from_stdin.stderr


@pytest.mark.parametrize(("content", "expected"), [
    # JSON that breaks late: the JSON parser's complaint is the useful one
    ('{"kind": "List", "items": [{"kind": "Pod",, "metadata": {}}]}',
     r"s\.json:1:43: malformed JSON"),
    # flow-style YAML that breaks: YAML's complaint, at YAML's position
    ("{kind: List, items: [{kind: Pod, metadata: {name: a}]]}", r"s\.json:1:\d+: malformed YAML"),
])
def test_the_better_of_the_two_errors_is_reported(run_cli: RunCli, tmp_path: Path,
                                                  content: str, expected: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(content, encoding="utf-8")
    result = run_cli(["analyze", "--snapshot", str(path)])
    assert result.code == 2
    assert len(result.stderr_lines) == 1
    assert re.search(expected, result.stderr), result.stderr
