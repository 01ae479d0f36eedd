"""``-o junit``: the report as JUnit XML, which CI systems show as test results.

Each analyzer is a test suite and each finding a test case named after its object and reason. A
finding at or above the failing severity (``--fail-on``; warning when that is ``never``) is a
``<failure>``; one below passes, with its message kept as output. A kind that could not be listed
or an analyzer that crashed is an ``<error>`` in a suite of its own, and a clean run is one
passing case, so a healthy cluster shows green rather than "no tests". A suppressed finding, or
one known to the baseline, is a skipped case, as it does not fail the gate.
"""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree

from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.report import RenderOptions
from k8sdoctor.report.model import Report

DEFAULT_FAILING = Severity.WARNING


def render(report: Report, options: RenderOptions) -> str:
    failing = options.fail_on or DEFAULT_FAILING
    root = ElementTree.Element("testsuites", name="k8sdoctor")
    by_analyzer: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_analyzer[finding.analyzer].append(finding)
    for analyzer in sorted({*report.analyzers, *by_analyzer}):
        suite = _suite(root, analyzer)
        findings = by_analyzer.get(analyzer, [])
        for finding in findings:
            _finding_case(suite, finding, failing)
        if not findings:
            ElementTree.SubElement(suite, "testcase", classname=analyzer,
                                   name="no finding")
        _count(suite)
    if report.errors:
        suite = _suite(root, "k8sdoctor")
        for error in report.errors:
            case = ElementTree.SubElement(suite, "testcase", classname=f"k8sdoctor.{error.stage}",
                                          name=f"{error.stage} {error.subject}")
            ElementTree.SubElement(case, "error", message=error.message, type=error.stage)
        _count(suite)
    _count(root)
    root.set("timestamp", report.generated_at.strftime("%Y-%m-%dT%H:%M:%S"))
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(
        root, encoding="unicode") + "\n"


def _suite(root: ElementTree.Element, name: str) -> ElementTree.Element:
    return ElementTree.SubElement(root, "testsuite", name=name)


def _finding_case(suite: ElementTree.Element, finding: Finding, failing: Severity) -> None:
    where = f"{finding.namespace}/" if finding.namespace else ""
    case = ElementTree.SubElement(
        suite, "testcase",
        classname=f"{finding.analyzer}.{finding.kind}",
        name=f"{finding.kind}/{where}{finding.name}: {finding.reason}",
    )
    details = "\n".join([
        finding.message,
        *(f"evidence: {line}" for line in finding.evidence),
        *(f"fix: {step}" for step in finding.remediation),
    ])
    if finding.suppression is not None:
        ElementTree.SubElement(case, "skipped", message=f"suppressed: "
                               f"{finding.suppression.reason} ({finding.suppression.source})")
    elif finding.baseline == "known":
        ElementTree.SubElement(case, "skipped", message="known: in the baseline")
    elif finding.severity >= failing:
        failure = ElementTree.SubElement(case, "failure", message=finding.message,
                                         type=finding.severity.value)
        failure.text = details
    else:
        ElementTree.SubElement(case, "system-out").text = (
            f"{finding.severity.value}: {details}"
        )


def _count(element: ElementTree.Element) -> None:
    cases = list(element.iter("testcase"))
    element.set("tests", str(len(cases)))
    element.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    element.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    element.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
