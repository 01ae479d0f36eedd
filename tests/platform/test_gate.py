"""Baselines and reviewed suppressions, tried as a new user would: adopt a baseline on the demo,
break one more workload in a copy, and the gate fails on exactly that finding; a suppression
past its expiry is reported and suppresses nothing."""

from __future__ import annotations

import json
import random
import re
import string
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.cluster.state import ObjectRef
from k8sdoctor.gate.suppress import ignore_file_schema, parse_ignore_file
from k8sdoctor.report import report_schema
from tests.conftest import RunCli
from tests.helpers import DEMO

BROKEN = ("shop", "catalog")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def demo_copy_with_one_more_fault(path: Path) -> Path:
    """The demo with the healthy Deployment shop/catalog paused: one more finding."""
    document = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    deployment = next(o for o in document["items"] if o["kind"] == "Deployment"
                      and (o["metadata"]["namespace"], o["metadata"]["name"]) == BROKEN)
    deployment["spec"]["paused"] = True
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def report_of(result: Any) -> dict[str, Any]:
    document = json.loads(result.stdout)
    jsonschema.validate(document, report_schema())
    return document


def test_adopt_a_baseline_then_the_gate_fails_on_exactly_the_new_finding(
    run_cli: RunCli, workdir: Path
) -> None:
    adopted = run_cli(["analyze", "--demo", "--write-baseline", "k8sdoctor-baseline.json",
                       "--fail-on", "info", "-o", "json"])
    assert adopted.code == 1  # the demo is broken; adopting does not hide that run's findings
    assert re.search(r"wrote \d+ baseline entries to k8sdoctor-baseline.json", adopted.stderr)
    same = run_cli(["analyze", "--demo", "--baseline", "k8sdoctor-baseline.json", "--fail-on",
                    "info", "-o", "json"])
    assert same.code == 0
    clean = report_of(same)
    total = clean["summary"]["findings"]
    assert clean["summary"]["baseline"] == {"file": "k8sdoctor-baseline.json", "new": 0,
                                            "known": total, "fixed": 0}

    copy = demo_copy_with_one_more_fault(workdir / "demo-broken.yaml")
    gated = run_cli(["analyze", "--snapshot", str(copy), "--baseline", "k8sdoctor-baseline.json",
                     "--fail-on", "info", "-o", "json"])
    assert gated.code == 1
    report = report_of(gated)
    new = [f for f in report["findings"] if f["baseline"] == "new"]
    assert [(f["namespace"], f["name"], f["reason"]) for f in new] == [(*BROKEN, "Paused")]
    assert report["summary"]["baseline"]["new"] == 1
    assert report["summary"]["baseline"]["known"] == total
    text = run_cli(["analyze", "--snapshot", str(copy), "--baseline", "k8sdoctor-baseline.json"])
    assert f"1 new, {total} known, 0 fixed since the baseline" in " ".join(text.stdout.split())
    assert re.search(r"Paused · new", text.stdout)


def write_ignore(path: Path, expires: str) -> None:
    path.write_text(
        "# reviewed by the platform team\n"
        "suppressions:\n"
        "  - match: {analyzer: deployment, reason: Paused, namespace: shop, name: cata*}\n"
        "    reason: catalog rollouts are paused during the migration (PLAT-42)\n"
        f"    expires: {expires}\n", encoding="utf-8")


def test_an_expired_suppression_is_reported_and_suppresses_nothing(
    run_cli: RunCli, workdir: Path
) -> None:
    run_cli(["analyze", "--demo", "--write-baseline", "k8sdoctor-baseline.json"])
    copy = demo_copy_with_one_more_fault(workdir / "demo-broken.yaml")
    write_ignore(workdir / ".k8sdoctor-ignore.yaml", "2020-01-31")
    args = ["analyze", "--snapshot", str(copy), "--baseline", "k8sdoctor-baseline.json",
            "--fail-on", "info"]
    expired = run_cli([*args, "-o", "json"])
    assert expired.code == 1
    assert (f"k8sdoctor: warning: {workdir / '.k8sdoctor-ignore.yaml'}:3: suppression expired "
            "on 2020-01-31") in expired.stderr
    report = report_of(expired)
    assert report["summary"]["expiredSuppressions"] == [{
        "reason": "catalog rollouts are paused during the migration (PLAT-42)",
        "source": f"{workdir / '.k8sdoctor-ignore.yaml'}:3", "expires": "2020-01-31"}]
    assert report["summary"]["suppressed"] == 0
    text = run_cli(args)
    flat = " ".join(text.stdout.split())
    assert "Expired suppressions" in flat and "1 expired suppression" in flat

    write_ignore(workdir / ".k8sdoctor-ignore.yaml", "2999-12-31")
    accepted = run_cli([*args, "-o", "json"])
    assert accepted.code == 0, accepted.stderr
    report = report_of(accepted)
    (suppressed,) = [f for f in report["findings"] if f.get("suppressed")]
    assert (suppressed["name"], suppressed["reason"]) == ("catalog", "Paused")
    assert suppressed["suppression"]["reason"].endswith("(PLAT-42)")
    assert report["summary"]["suppressed"] == 1
    shown = run_cli(args)
    assert "Paused" not in shown.stdout
    assert "1 suppressed (not shown)" in " ".join(shown.stdout.split())


def test_a_suppression_by_id_and_the_sarif_marks(run_cli: RunCli, workdir: Path) -> None:
    report = json.loads(run_cli(["analyze", "--demo", "-o", "json"]).stdout)
    target = report["findings"][0]
    ignore = workdir / "ignore.yaml"
    ignore.write_text(f"suppressions:\n  - match: {{id: {target['fingerprint']}}}\n"
                      "    reason: accepted risk\n", encoding="utf-8")
    run_cli(["analyze", "--demo", "--write-baseline", "b.json"])
    sarif = json.loads(run_cli(["analyze", "--demo", "--ignore-file", str(ignore),
                                "--baseline", "b.json", "-o", "sarif"]).stdout)
    results = sarif["runs"][0]["results"]
    assert {r["baselineState"] for r in results} == {"unchanged"}
    suppressed = [r for r in results if "suppressions" in r]
    assert len(suppressed) == 1
    assert suppressed[0]["suppressions"][0]["justification"] == "accepted risk"
    from tests.platform.test_sarif_score import sarif_errors

    assert sarif_errors(sarif) == []


@pytest.mark.parametrize(("text", "message"), [
    ("suppressions:\n  - match: {reason: Paused}\n", "ignore.yaml:2: a suppression must carry "
                                                     "a reason"),
    ("suppressions:\n  - reason: x\n", "ignore.yaml:2: a suppression needs a match"),
    ("suppressions:\n  - match: {colour: red}\n    reason: x\n", "ignore.yaml:2: unknown "
                                                                 "match key 'colour'"),
    ("suppressions:\n  - match: {kind: Pod}\n    reason: x\n    expires: soon\n",
     "ignore.yaml:2: expires must be a date"),
    ("suppressions:\n  - match: {kind: Pod\n", "ignore.yaml:3:1:"),
    ("surpressions: []\n", "ignore.yaml:1:1: unknown key 'surpressions'"),
])
def test_a_malformed_ignore_file_exits_2_with_file_and_line(
    run_cli: RunCli, workdir: Path, text: str, message: str
) -> None:
    (workdir / "ignore.yaml").write_text(text, encoding="utf-8")
    result = run_cli(["analyze", "--demo", "--ignore-file", "ignore.yaml"])
    assert result.code == 2
    assert result.stderr_lines[-1].startswith(f"k8sdoctor: error: {message}")
    assert not result.stdout


def test_the_shipped_schema_agrees_with_the_loader(workdir: Path) -> None:
    good = ("suppressions:\n  - match: {analyzer: pod, namespace: 'batch-*'}\n"
            "    reason: nightly restarts by design\n    expires: '2027-03-31'\n"
            "allowAnnotations: {namespaces: ['sandbox-*']}\n")
    parse_ignore_file(good, "good.yaml")
    jsonschema.validate(yaml.safe_load(good), ignore_file_schema())
    for bad in ("suppressions:\n  - match: {reason: Paused}\n",
                "suppressions:\n  - match: {colour: red}\n    reason: x\n"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(yaml.safe_load(bad), ignore_file_schema())


def test_annotations_suppress_only_where_the_ignore_file_allows(
    run_cli: RunCli, workdir: Path
) -> None:
    document = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    cart = next(o for o in document["items"] if o["kind"] == "Deployment"
                and o["metadata"]["name"] == "cart")
    cart["metadata"].setdefault("annotations", {})["k8sdoctor.dev/ignore"] = (
        "CrashLoopBackOff: known crash, fixed in the next release")
    copy = workdir / "annotated.yaml"
    copy.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    args = ["analyze", "--snapshot", str(copy), "--fail-on", "critical", "-n", "shop",
            "-o", "json"]
    (workdir / "ignore.yaml").write_text("suppressions: []\n", encoding="utf-8")
    denied = report_of(run_cli([*args, "--ignore-file", "ignore.yaml"]))
    assert not any(f.get("suppressed") for f in denied["findings"])
    (workdir / "ignore.yaml").write_text("allowAnnotations: {namespaces: [sh*]}\n",
                                         encoding="utf-8")
    allowed = report_of(run_cli([*args, "--ignore-file", "ignore.yaml"]))
    suppressed = [f for f in allowed["findings"] if f.get("suppressed")]
    assert suppressed and {f["reason"] for f in suppressed} == {"CrashLoopBackOff"}
    assert {f["parent"]["name"] for f in suppressed} == {"cart"}
    assert suppressed[0]["suppression"]["source"] == (
        "annotation k8sdoctor.dev/ignore on Deployment shop/cart")


# -- fingerprints: stable across states of the same cluster, changed by the fault ---------------


def later_state(text: str, seed: int = 7) -> str:
    """The same cluster later: new ReplicaSet hashes and pod suffixes, restart counts up,
    every timestamp two hours on, objects in another order."""
    rng = random.Random(seed)
    document = yaml.safe_load(text)
    alphabet = string.ascii_lowercase + string.digits
    renames: dict[str, str] = {}
    for obj in document["items"]:
        labels = obj["metadata"].get("labels") or {}
        if obj["kind"] == "ReplicaSet" and "pod-template-hash" in labels:
            renames[labels["pod-template-hash"]] = "".join(rng.choices(alphabet, k=10))
        if obj["kind"] == "Pod" and (obj["metadata"].get("ownerReferences") or [{}])[0].get(
                "kind") == "ReplicaSet":
            suffix = obj["metadata"]["name"].rsplit("-", 1)[1]
            renames[suffix] = "".join(rng.choices(alphabet, k=5))
    text = yaml.safe_dump(document, sort_keys=False)
    for old, new in renames.items():
        text = re.sub(rf"\b{re.escape(old)}\b", new, text)

    def later(match: re.Match[str]) -> str:
        moment = datetime.strptime(match.group(0), "%Y-%m-%dT%H:%M:%SZ") + timedelta(hours=2)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", later, text)
    text = re.sub(r"restartCount: ([1-9]\d*)", lambda m: f"restartCount: {int(m[1]) + 1}", text)
    document = yaml.safe_load(text)
    rng.shuffle(document["items"])
    return yaml.safe_dump(document, sort_keys=False)


def test_fingerprints_and_the_baseline_survive_a_later_state_of_the_cluster(
    run_cli: RunCli, workdir: Path
) -> None:
    later = workdir / "later.yaml"
    later.write_text(later_state(DEMO.read_text(encoding="utf-8")), encoding="utf-8")
    before = report_of(run_cli(["analyze", "--snapshot", str(DEMO), "-o", "json"]))
    after = report_of(run_cli(["analyze", "--snapshot", str(later), "-o", "json"]))
    pods_before = {f["name"] for f in before["findings"] if f["kind"] == "Pod"}
    pods_after = {f["name"] for f in after["findings"] if f["kind"] == "Pod"}
    recreated = pods_before - pods_after  # the ReplicaSets' pods (not Jobs' or StatefulSets')
    assert len(recreated) >= 5 and any(name.startswith("cart-") for name in recreated)

    assert sorted(f["fingerprint"] for f in after["findings"]) == sorted(
        f["fingerprint"] for f in before["findings"])
    run_cli(["analyze", "--snapshot", str(DEMO), "--write-baseline", "before.json"])
    run_cli(["analyze", "--snapshot", str(later), "--write-baseline", "after.json"])
    assert (workdir / "after.json").read_bytes().replace(str(later).encode(), b"") == (
        workdir / "before.json").read_bytes().replace(str(DEMO).encode(), b"")
    gate = run_cli(["analyze", "--snapshot", str(later), "--baseline", "before.json",
                    "--fail-on", "info"])
    assert gate.code == 0, gate.stdout[-500:]


def pod_finding(reason: str, pod: str = "cart-7d4b9c8f5-x2x7k") -> Finding:
    return Finding(severity=Severity.ERROR, kind="Pod", api_version="v1", namespace="shop",
                   name=pod, reason=reason, message="m", analyzer="pod",
                   parent=ObjectRef("Deployment", "cart", "shop"))


def test_a_fingerprint_changes_with_the_fault_not_with_the_pod() -> None:
    crash = pod_finding("CrashLoopBackOff")
    assert crash.fingerprint == pod_finding("CrashLoopBackOff", "cart-5f6a7b8c9-q1w2e").fingerprint
    assert crash.id != pod_finding("CrashLoopBackOff", "cart-5f6a7b8c9-q1w2e").id
    assert crash.fingerprint != pod_finding("OOMKilled").fingerprint
    node = Finding(severity=Severity.CRITICAL, kind="Node", api_version="v1", namespace=None,
                   name="ip-10-0-1-5", reason="NotReady", message="m", analyzer="node")
    assert node.fingerprint != Finding(
        severity=Severity.CRITICAL, kind="Node", api_version="v1", namespace=None,
        name="ip-10-0-1-6", reason="NotReady", message="m", analyzer="node").fingerprint


def test_a_bad_baseline_exits_2(run_cli: RunCli, workdir: Path) -> None:
    missing = run_cli(["analyze", "--demo", "--baseline", "nope.json"])
    assert missing.code == 2 and "baseline nope.json does not exist" in missing.stderr
    (workdir / "bad.json").write_text('{"kind": "Report"}')
    wrong = run_cli(["analyze", "--demo", "--baseline", "bad.json"])
    assert wrong.code == 2 and "not a k8sdoctor baseline" in wrong.stderr


def test_the_markdown_summary_shows_the_gate(run_cli: RunCli, workdir: Path) -> None:
    run_cli(["analyze", "--demo", "--write-baseline", "k8sdoctor-baseline.json"])
    copy = demo_copy_with_one_more_fault(workdir / "demo-broken.yaml")
    write_ignore(workdir / ".k8sdoctor-ignore.yaml", "2020-01-31")
    result = run_cli(["analyze", "--snapshot", str(copy), "--baseline",
                      "k8sdoctor-baseline.json", "-o", "markdown"])
    assert result.code == 0, result.stderr
    assert re.search(r"1 new, \d+ known, 0 fixed since the baseline\.", result.stdout)
    assert "**Expired suppression**" in result.stdout and "2020-01-31" in result.stdout
