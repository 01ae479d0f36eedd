"""``-o markdown``: the report as GitHub-flavoured Markdown, for CI step summaries and PR comments.

The same structure as the text report: the headline, one table row per root cause (rank,
severity, root object, reason, what it breaks), then a section per root cause with its summary,
its first fix, the explanation when there is one, and every finding of it (the root's and its
consequences') with evidence and fixes in a collapsed ``<details>`` block. Cluster text is
escaped, so an event message cannot inject markup or HTML into the page that shows it.
"""

from __future__ import annotations

import html
import re

from k8sdoctor.analysis.finding import Explanation, Finding
from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.report import RenderOptions
from k8sdoctor.report.model import Report
from k8sdoctor.report.outline import affected_text, first_fix, headline, outline, root_label

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
"""What starts inline markup mid-line; cluster text never starts a line here."""


def render(report: Report, _options: RenderOptions) -> str:
    lines = ["# k8sdoctor report", ""]
    when = f" · as of {report.cluster_time:%Y-%m-%d %H:%M} UTC" if report.cluster_time else ""
    lines.append(f"**Source:** {_inline(report.source)}{when}")
    lines.append("")
    causes = outline(report)
    lines.append(_summary(report, causes))
    if causes:
        lines += ["", "| # | severity | root cause | reason | breaks |", "|---|---|---|---|---|"]
        lines += [
            f"| {c.rank} | {c.severity.value} | {_inline(root_label(c))} | {_inline(c.reason)} "
            f"| {_inline(affected_text(c)) or '—'} |"
            for c in causes
        ]
        for cause in causes:
            lines += ["", *_section(cause)]
    if report.errors:
        lines += ["", "## Not checked", ""]
        lines += [f"- **{_inline(e.stage)} {_inline(e.subject)}**: {_inline(e.message)}"
                  for e in report.errors]
    return "\n".join(lines) + "\n"


def _section(cause: RootCause) -> list[str]:
    lines = [f"## {cause.rank}. {cause.severity.value}: {_inline(root_label(cause))} — "
             f"{_inline(cause.reason)}", "", _inline(cause.summary or cause.root.message)]
    if (fix := first_fix(cause)) is not None:
        lines += ["", f"**Fix:** {_inline(fix)}"]
    if affected := affected_text(cause):
        lines += ["", f"**Breaks:** {_inline(affected)}"]
    if cause.explanation is not None:
        lines += ["", *_explanation(cause.explanation)]
    for finding in cause.findings:
        lines += ["", *_details(finding)]
    return lines


def _summary(report: Report, causes: list[RootCause]) -> str:
    if report.healthy:
        text = "**No problems found.**"
    else:
        counts = ", ".join(f"{n} {s}" for s, n in report.count_by_severity().items() if n)
        text = f"**{headline(report, causes)}:** {counts}."
    hidden = report.extra_metadata.get("filter") or {}
    if hidden.get("hiddenRootCauses"):
        text += (f" {hidden['hiddenRootCauses']} root cause(s) below {hidden['minSeverity']} "
                 "not shown.")
    if baseline := report.gate.get("baseline"):
        text += (f" {baseline['new']} new, {baseline['known']} known, {baseline['fixed']} fixed "
                 "since the baseline.")
    if suppressed := report.gate.get("suppressed"):
        text += f" {suppressed} suppressed (not listed)."
    for entry in report.gate.get("expiredSuppressions") or ():
        text += (f"\n\n**Expired suppression** ({_inline(entry['source'])}, "
                 f"{_inline(entry['expires'])}): {_inline(entry['reason'])}")
    if report.errors:
        text += f" {len(report.errors)} part(s) could not be checked."
    return text


def _details(finding: Finding) -> list[str]:
    lines = [
        "<details>",
        f"<summary>{finding.severity.value}: {html.escape(_object(finding))} — "
        f"{html.escape(finding.reason)}</summary>",
        "",
        _inline(finding.message),
    ]
    if finding.evidence:
        lines += ["", "Evidence:", ""] + [f"- {_inline(line)}" for line in finding.evidence]
    if finding.remediation:
        lines += ["", "Fix:", ""] + [f"- {_inline(step)}" for step in finding.remediation]
    lines += ["", "</details>"]
    return lines


def _explanation(explanation: Explanation) -> list[str]:
    lines = [f"**Explanation** ({_inline(explanation.backend)}/{_inline(explanation.model)}):",
             "", _inline(explanation.summary)]
    if explanation.root_cause:
        lines += ["", f"Root cause: {_inline(explanation.root_cause)}"]
    if explanation.steps:
        lines += ["", *(f"- {_inline(step)}" for step in explanation.steps)]
    if not explanation.structured:
        lines += ["", "_Free text: the model never gave the structured answer._"]
    elif explanation.attempts > 1:
        lines += ["", "_Answered on the second try (the first answer was invalid)._"]
    return lines


def _object(finding: Finding) -> str:
    where = f"{finding.namespace}/" if finding.namespace else ""
    return f"{finding.kind}/{where}{finding.name}"


def _inline(text: str) -> str:
    """Cluster text made inert: HTML escaped, inline Markdown escaped, on one line."""
    escaped = html.escape(" ".join(text.split()), quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)
