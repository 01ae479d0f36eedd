"""``--min-severity``: a report cut down to what matters, without breaking its cause chains.

The unit shown or hidden is the root cause: one whose severity (the worst of its findings) is
below the threshold goes, with every finding in it; one at or above it stays whole, with its
milder consequences, so that "every finding belongs to exactly one root cause" still holds and a
root's chain is never cut in two. A report without root causes is cut finding by finding. What
was hidden is counted in ``metadata.filter``, so a reader knows the report is partial.
"""

from __future__ import annotations

from dataclasses import replace

from k8sdoctor.analysis.finding import Severity
from k8sdoctor.report.model import Report


def at_least(report: Report, threshold: Severity) -> Report:
    """``report`` with only the root causes (or, without any, the findings) at or above
    ``threshold``."""
    if report.root_causes:
        causes = [c for c in report.root_causes if c.severity >= threshold]
        kept = {f.id for cause in causes for f in cause.findings}
        findings = [f for f in report.findings if f.id in kept]
    else:
        causes = []
        findings = [f for f in report.findings if f.severity >= threshold]
    hidden = {
        "minSeverity": threshold.value,
        "hiddenRootCauses": len(report.root_causes) - len(causes),
        "hiddenFindings": len(report.findings) - len(findings),
    }
    return replace(report, findings=findings, root_causes=causes,
                   extra_metadata={**report.extra_metadata, "filter": hidden})
