"""``-o sarif``: the report as SARIF 2.1.0, the format code-scanning services read.

One rule per analyzer and reason that has findings (id ``analyzer/Reason``), its help text taken
from the analyzer's docstring (the bullet that documents the reason, else the analyzer's whole
description); one result per finding, its level mapped from the severity (critical and error ->
``error``, warning -> ``warning``, info -> ``note``) and its location a logical location naming
the object (``namespace/Kind/name``); its properties name the root cause it belongs to. Cluster
objects are not files, so each result also carries a physical location with a relative URI
naming the object, which code-scanning services that insist on a file accept.
``partialFingerprints`` holds the finding's stable id, so an alert keeps its identity across
runs. A run that could not read everything lists each error as a tool execution notification
and is not ``executionSuccessful``. Findings marked by a baseline carry ``baselineState``;
suppressed ones carry an external suppression with the reviewed reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from k8sdoctor import __version__
from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.analysis.registry import Analyzer
from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.report import RenderOptions
from k8sdoctor.report.model import Report

SCHEMA_URI = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
              "sarif-schema-2.1.0.json")
LEVEL = {Severity.CRITICAL: "error", Severity.ERROR: "error", Severity.WARNING: "warning",
         Severity.INFO: "note"}
SECURITY_SEVERITY = {Severity.CRITICAL: "9.0", Severity.ERROR: "7.0", Severity.WARNING: "4.0",
                     Severity.INFO: "1.0"}
"""GitHub code scanning ranks alerts by this rule property (critical >= 9, high >= 7...)."""
FINGERPRINT = "k8sdoctorFindingId/v1"
_LITERAL = re.compile(r"``(.+?)``")
"""A reStructuredText literal in a docstring: plain in ``help.text``, code in its markdown."""


def render(report: Report, options: RenderOptions,
           analyzers: Sequence[Analyzer] = ()) -> str:
    """The SARIF log; ``analyzers`` supply the rules' help text (their docstrings)."""
    by_name = {a.name: a for a in analyzers}
    rules: dict[str, dict[str, Any]] = {}
    for finding in report.findings:
        rule_id = f"{finding.analyzer}/{finding.reason}"
        if rule_id not in rules:
            rules[rule_id] = _rule(rule_id, finding, by_name.get(finding.analyzer))
    index = {rule_id: position for position, rule_id in enumerate(rules)}
    cause_of = {f.id: cause for cause in report.root_causes
                for f in (cause.root, *cause.peers, *cause.consequences)}
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "k8sdoctor",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": list(rules.values()),
        }},
        "automationDetails": {"id": f"k8sdoctor/{report.source}/"},
        "invocations": [_invocation(report)],
        "results": [_result(f, index, cause_of.get(f.id)) for f in report.findings],
        "columnKind": "unicodeCodePoints",
        "properties": {"summary": report.to_dict()["summary"]},
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(rule_id: str, finding: Finding, analyzer: Analyzer | None) -> dict[str, Any]:
    from k8sdoctor.analysis.docs import fault_docs

    description = (analyzer.description if analyzer
                   else f"Findings of the {finding.analyzer} analyzer.")
    documented = fault_docs(analyzer).get(finding.reason) if analyzer else None
    help_text = documented or (f"{description}\n\n{analyzer.details}".strip() if analyzer
                               else description)
    return {
        "id": rule_id,
        "name": finding.reason,
        "shortDescription": {"text": f"{finding.reason} ({finding.analyzer})"},
        "fullDescription": {"text": description},
        "help": {"text": _LITERAL.sub(r"\1", help_text),
                 "markdown": _LITERAL.sub(r"`\1`", help_text)},
        "defaultConfiguration": {"level": LEVEL[finding.severity]},
        "properties": {
            "tags": ["kubernetes", finding.analyzer],
            "security-severity": SECURITY_SEVERITY[finding.severity],
        },
    }


def _result(finding: Finding, index: Mapping[str, int],
            cause: RootCause | None) -> dict[str, Any]:
    rule_id = f"{finding.analyzer}/{finding.reason}"
    qualified = "/".join(p for p in (finding.namespace, finding.kind, finding.name) if p)
    result: dict[str, Any] = {
        "ruleId": rule_id,
        "ruleIndex": index[rule_id],
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": f"kubernetes/{qualified}"},
                "region": {"startLine": 1},
            },
            "logicalLocations": [{
                "name": finding.name,
                "fullyQualifiedName": qualified,
                "kind": "resource",
            }],
        }],
        "partialFingerprints": {FINGERPRINT: finding.id},
        "properties": {
            "severity": finding.severity.value,
            "kind": finding.kind,
            "apiVersion": finding.api_version,
            "namespace": finding.namespace,
            "evidence": list(finding.evidence),
            "remediation": list(finding.remediation),
        },
    }
    if finding.baseline is not None:
        result["baselineState"] = "new" if finding.baseline == "new" else "unchanged"
    if finding.suppression is not None:
        suppression: dict[str, Any] = {"kind": "external", "status": "accepted",
                                       "justification": finding.suppression.reason}
        source = finding.suppression.source
        if not source.startswith("annotation"):
            file, _, line = source.rpartition(":")
            suppression["location"] = {"physicalLocation": {
                "artifactLocation": {"uri": file},
                "region": {"startLine": int(line) if line.isdigit() else 1}}}
        result["suppressions"] = [suppression]
    if cause is not None:
        result["properties"]["rootCause"] = {"id": cause.id, "rank": cause.rank,
                                             "summary": cause.summary}
    if finding.parent is not None:
        result["properties"]["parent"] = {"kind": finding.parent.kind,
                                          "name": finding.parent.name}
    return result


def _invocation(report: Report) -> dict[str, Any]:
    notifications = [{
        "level": "warning" if not error.makes_data_incomplete else "error",
        "message": {"text": f"{error.stage} {error.subject}: {error.message}"},
        "descriptor": {"id": error.stage},
    } for error in report.errors]
    return {"executionSuccessful": not report.incomplete,
            "toolExecutionNotifications": notifications}
