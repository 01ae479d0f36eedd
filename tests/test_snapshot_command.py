"""``k8sdoctor snapshot -o FILE`` against the fake API server: the file reproduces the live run.

The file must give the same findings through ``--snapshot`` as the live cluster gave, record when
it was captured, which kinds were listed and which could not be, and never hold a Secret value.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml

from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.snapshot import (
    CAPTURED_AT,
    DATA_SIZES,
    FETCH_ERRORS,
    LISTED_KINDS,
    SOURCE,
    SnapshotSource,
    snapshot_document,
)
from k8sdoctor.cluster.state import Scope
from k8sdoctor.testing import installed_analyzer
from tests.conftest import CliResult, RunCli
from tests.fakeapi import FakeApiServer, forbidden_message, write_kubeconfig

SECRET_VALUES = ("hunter2-checkout-db", "psp_live_7QvJ2mXcN9rT4kLp")


def take_snapshot(run_cli: RunCli, kubeconfig: Path, out: Path, *extra: str) -> CliResult:
    result = run_cli(["snapshot", "--kubeconfig", str(kubeconfig), "-o", str(out), *extra])
    assert result.code == 0, result.stderr
    return result


def findings_and_errors(result: CliResult) -> dict[str, Any]:
    assert result.code in (0, 4), result.stderr
    report = json.loads(result.stdout)
    return {"findings": report["findings"], "errors": report["errors"],
            "summary": report["summary"], "analyzers": report["metadata"]["analyzers"]}


def annotations(path: Path) -> dict[str, str]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["metadata"]["annotations"]


def test_snapshot_gives_the_same_findings_as_the_live_run(
    cluster: FakeApiServer, kubeconfig: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "cluster.yaml"
    taken = take_snapshot(run_cli, kubeconfig, out)
    live = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-a", "all", "-o", "json",
                    "--no-logs"])  # a snapshot holds no logs
    offline = run_cli(["analyze", "--snapshot", str(out), "-a", "all", "-o", "json"])

    assert findings_and_errors(offline) == findings_and_errors(live)
    assert json.loads(offline.stdout)["findings"]
    assert taken.stderr_lines == [f"k8sdoctor: wrote {len(cluster_objects(out))} objects to {out}"]


def cluster_objects(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["items"]


def test_snapshot_records_capture_time_source_and_listed_kinds(
    cluster: FakeApiServer, kubeconfig: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "cluster.yaml"
    before = datetime.now(timezone.utc).replace(microsecond=0)
    take_snapshot(run_cli, kubeconfig, out, "-a", "deployment")

    recorded = annotations(out)
    captured = datetime.fromisoformat(recorded[CAPTURED_AT].replace("Z", "+00:00"))
    assert before <= captured <= datetime.now(timezone.utc) + timedelta(seconds=1)
    kinds = sorted(installed_analyzer("deployment").kinds)
    assert recorded[LISTED_KINDS] == ",".join(kinds)
    assert recorded[SOURCE] == "context kind-shop"
    assert {o["kind"] for o in cluster_objects(out)} <= set(kinds)
    assert SnapshotSource(str(out)).load((), Scope()).state.now == captured


def test_an_empty_listed_kind_stays_known(
    fake_api: FakeApiServer, kubeconfig: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "empty.yaml"
    take_snapshot(run_cli, kubeconfig, out, "-a", "deployment")

    state = SnapshotSource(str(out)).load((), Scope()).state
    assert state.has_kind("Deployment") and not state.objects("Deployment")


def test_snapshot_keeps_the_kinds_that_could_not_be_listed(
    cluster: FakeApiServer, kubeconfig: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    cluster.forbid("Pod")
    out = tmp_path / "cluster.yaml"
    taken = take_snapshot(run_cli, kubeconfig, out)
    offline = run_cli(["analyze", "--snapshot", str(out), "-a", "all", "-o", "json", "--strict"])

    assert json.loads(annotations(out)[FETCH_ERRORS]) == [
        {"kind": "Pod", "message": f"forbidden: {forbidden_message('Pod')}"}]
    assert "Pod" not in annotations(out)[LISTED_KINDS].split(",")
    assert taken.stderr_lines[0].startswith("k8sdoctor: warning: could not list Pod: forbidden")
    assert offline.code == 4
    assert {"stage": "fetch", "subject": "Pod",
            "message": f"forbidden: {forbidden_message('Pod')}"} in json.loads(
        offline.stdout)["errors"]


def test_snapshot_file_holds_no_secret_value(
    cluster: FakeApiServer, kubeconfig: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "cluster.yaml"
    take_snapshot(run_cli, kubeconfig, out)

    text = out.read_text(encoding="utf-8")
    assert not any(value in text for value in SECRET_VALUES)
    for secret in (o for o in cluster_objects(out) if o["kind"] == "Secret"):
        assert set(secret) == {"apiVersion", "kind", "metadata"}


def test_secrets_round_trip_as_metadata_only(cluster: FakeApiServer, kubeconfig: Path,
                                             tmp_path: Path) -> None:
    loaded = LiveSource(str(kubeconfig)).load({"Secret", "Deployment"}, Scope())
    out = tmp_path / "secrets.yaml"
    out.write_text(yaml.safe_dump(snapshot_document(loaded, source="context kind-shop")),
                   encoding="utf-8")

    state = SnapshotSource(str(out)).load((), Scope()).state
    secrets = state.objects("Secret")
    assert sorted(s["metadata"]["name"] for s in secrets) == ["checkout-db", "psp-api-key"]
    assert all(set(s) == {"apiVersion", "kind", "metadata"} for s in secrets)
    assert state.has_kind("Secret")


def test_snapshot_to_stdout_is_yaml_only(cluster: FakeApiServer, kubeconfig: Path,
                                         run_cli: RunCli) -> None:
    result = run_cli(["snapshot", "--kubeconfig", str(kubeconfig), "-o", "-", "-n", "shop",
                      "-a", "deployment"])

    assert result.code == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    assert document["kind"] == "List"
    namespaced = [o for o in document["items"] if KNOWN_KINDS[o["kind"]].namespaced]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"shop"}
    assert {o["metadata"]["name"] for o in document["items"] if o["kind"] == "Deployment"} == {
        "web", "checkout"}


def test_snapshot_of_an_unreachable_cluster_is_exit_3(tmp_path: Path, run_cli: RunCli) -> None:
    with FakeApiServer() as api:
        url = api.url
    config = write_kubeconfig(tmp_path / "config", url)
    out = tmp_path / "never.yaml"
    result = run_cli(["snapshot", "--kubeconfig", str(config), "-o", str(out)])

    assert result.code == 3
    assert len(result.stderr_lines) == 1 and "cannot reach" in result.stderr
    assert not out.exists()


SETTINGS = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "checkout-settings", "namespace": "shop",
                         "uid": "0f6c1a9e-5a3b-4f59-9e1d-2f0d8f3c6b11",
                         "creationTimestamp": "2025-10-01T12:00:00Z",
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                         '{"data":{"db_url":"postgres://checkout@db:5432"}}'}},
            "data": {"db_url": "postgres://checkout@db:5432", "mode": "live"},
            "binaryData": {"logo.png": "iVBORw0KGgo="}}


def test_configmap_values_stay_out_unless_asked_for(
    cluster: FakeApiServer, kubeconfig: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    cluster.add([SETTINGS])
    out = tmp_path / "cluster.yaml"
    take_snapshot(run_cli, kubeconfig, out)

    assert "postgres://" not in out.read_text(encoding="utf-8")
    saved = next(o for o in cluster_objects(out) if o["metadata"]["name"] == "checkout-settings")
    assert saved["data"] == {"db_url": "", "mode": ""}
    assert saved["binaryData"] == {"logo.png": ""}
    assert json.loads(saved["metadata"]["annotations"][DATA_SIZES]) == {
        "db_url": 27, "mode": 4, "logo.png": 8}
    live = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-a", "all", "-o", "json",
                    "--no-logs"])  # a snapshot holds no logs
    offline = run_cli(["analyze", "--snapshot", str(out), "-a", "all", "-o", "json"])
    assert findings_and_errors(offline) == findings_and_errors(live)

    full = tmp_path / "full.yaml"
    take_snapshot(run_cli, kubeconfig, full, "--include-configmap-data")
    kept = next(o for o in cluster_objects(full) if o["metadata"]["name"] == "checkout-settings")
    assert kept["data"] == SETTINGS["data"] and kept["binaryData"] == SETTINGS["binaryData"]
