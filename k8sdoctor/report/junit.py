"""``-o junit``: the report as JUnit XML, which CI systems show as test results.

One test case per root cause, named after its root object and reason (stable across runs, so a
CI system can follow a cause from build to build), in a suite named after the analyzer that
found its root; the body holds the summary, the fixes and every finding of the cause, the
consequences included. A cause at or above the failing severity (``--fail-on``; warning when that
is ``never``) is a ``<failure>``; one below passes, with its text kept as output. Each analyzer
that found nothing is one passing case, so a healthy cluster shows green rather than "no tests".
A kind that could not be listed or an analyzer that crashed is an ``<error>`` in a suite of its
own. A cause whose findings are all suppressed, or all known to the baseline, is a skipped case,
as it does not fail the gate.
"""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree

from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.report import RenderOptions
from k8sdoctor.report.model import Report
from k8sdoctor.report.outline import affected_text, outline

DEFAULT_FAILING = Severity.WARNING


def render(report: Report, options: RenderOptions) -> str:
    failing = options.fail_on or DEFAULT_FAILING
    root = ElementTree.Element("testsuites", name="k8sdoctor")
    by_analyzer: dict[str, list[RootCause]] = defaultdict(list)
    for cause in outline(report):
        by_analyzer[cause.root.analyzer].append(cause)
    with_findings = {f.analyzer for f in report.findings}
    for analyzer in sorted({*report.analyzers, *by_analyzer}):
        suite = _suite(root, analyzer)
        for cause in by_analyzer.get(analyzer, ()):
            _cause_case(suite, cause, failing)
        if analyzer not in with_findings:
            ElementTree.SubElement(suite, "testcase", classname=analyzer, name="no finding")
        if len(suite):
            _count(suite)
        else:
            root.remove(suite)  # its findings are consequences shown under other causes
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


def _cause_case(suite: ElementTree.Element, cause: RootCause, failing: Severity) -> None:
    obj = cause.root_object
    where = f"{obj.namespace}/" if obj.namespace else ""
    case = ElementTree.SubElement(
        suite, "testcase",
        classname=f"{cause.root.analyzer}.{obj.kind}",
        name=f"{obj.kind}/{where}{obj.name}: {cause.reason}",
    )
    summary = cause.summary or cause.root.message
    body = [f"root cause #{cause.rank} ({cause.severity.value}): {summary}"]
    if affected := affected_text(cause):
        body.append(f"breaks: {affected}")
    if cause.explanation is not None:
        body.append(f"explanation: {cause.explanation.summary}")
    for finding in cause.findings:
        body += ["", *_finding_lines(finding, finding is cause.root)]
    details = "\n".join(body)
    counted = [f for f in cause.findings if f.gates]
    if not counted:
        suppressed = next((f.suppression for f in cause.findings if f.suppression), None)
        message = (f"suppressed: {suppressed.reason} ({suppressed.source})" if suppressed
                   else "known: in the baseline")
        ElementTree.SubElement(case, "skipped", message=message)
        ElementTree.SubElement(case, "system-out").text = details
    elif max(f.severity for f in counted) >= failing:
        failure = ElementTree.SubElement(case, "failure", message=summary,
                                         type=cause.severity.value)
        failure.text = details
    else:
        ElementTree.SubElement(case, "system-out").text = details


def _finding_lines(finding: Finding, is_root: bool) -> list[str]:
    where = f"{finding.namespace}/" if finding.namespace else ""
    role = "root" if is_root else "consequence"
    return [
        f"{role}: {finding.severity.value} {finding.kind}/{where}{finding.name} "
        f"{finding.reason} [{finding.analyzer}]: {finding.message}",
        *(f"  evidence: {line}" for line in finding.evidence),
        *(f"  fix: {step}" for step in finding.remediation),
    ]


def _count(element: ElementTree.Element) -> None:
    cases = list(element.iter("testcase"))
    element.set("tests", str(len(cases)))
    element.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    element.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    element.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
