"""The demo's JSON report as a consumer reads it: root causes that validate, cover every finding
exactly once, rank the node outage and the crash loop first, and keep their ids across runs."""

from __future__ import annotations

import json
from collections import Counter
from contextlib import ExitStack

import jsonschema

from k8sdoctor.cluster.demo import demo_source
from k8sdoctor.cluster.state import Scope
from k8sdoctor.report import OutputFormat, render, report_schema
from k8sdoctor.run import analyze


def demo_report() -> dict:
    with ExitStack() as stack:
        report = analyze(demo_source(stack), Scope())
    return json.loads(render(report, OutputFormat.JSON))


def test_every_finding_is_in_exactly_one_root_cause() -> None:
    document = demo_report()
    jsonschema.Draft202012Validator(
        report_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(document)
    causes = document["rootCauses"]
    placed = Counter(i for cause in causes for i in cause["findings"])
    assert set(placed) == {f["id"] for f in document["findings"]}
    assert set(placed.values()) == {1}
    assert document["summary"]["rootCauses"] == len(causes) < len(document["findings"]) / 2
    assert [c["rank"] for c in causes] == list(range(1, len(causes) + 1))
    assert len({c["id"] for c in causes}) == len(causes)


def test_the_worst_and_widest_causes_lead() -> None:
    causes = demo_report()["rootCauses"]
    severities = [c["severity"] for c in causes]
    order = ["critical", "error", "warning", "info"]
    assert severities == sorted(severities, key=order.index)
    top = {(c["kind"], c["name"]) for c in causes[:6]}
    assert ("Node", "ip-10-0-2-117.eu-west-1.compute.internal") in top
    assert ("StorageClass", "fast-ssd") in top and ("ConfigMap", "ledger-config") in top
    node = next(c for c in causes if c["kind"] == "Node")
    assert node["affected"]["byKind"]["DaemonSet"] == 3


def test_ids_and_ranks_are_stable_across_runs() -> None:
    first, second = demo_report()["rootCauses"], demo_report()["rootCauses"]
    assert [(c["id"], c["rank"], c["summary"]) for c in first] == [
        (c["id"], c["rank"], c["summary"]) for c in second]
