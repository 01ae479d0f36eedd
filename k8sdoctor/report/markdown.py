"""``-o markdown``: the report as GitHub-flavoured Markdown, for CI step summaries and PR comments.

A summary line, one table row per finding (worst first; with a baseline, new ones first and
marked), then each finding's evidence and fix in a collapsed ``<details>`` block. Suppressed
findings are counted, not listed. Cluster text is escaped, so an event message cannot inject markup
or HTML into the page that shows it.
"""

from __future__ import annotations

import html
import re

from k8sdoctor.analysis.finding import Finding
from k8sdoctor.report import RenderOptions
from k8sdoctor.report.model import Report

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
"""What starts inline markup mid-line; cluster text never starts a line here."""


def render(report: Report, _options: RenderOptions) -> str:
    lines = ["# k8sdoctor report", ""]
    when = f" · as of {report.cluster_time:%Y-%m-%d %H:%M} UTC" if report.cluster_time else ""
    lines.append(f"**Source:** {_inline(report.source)}{when}")
    lines.append("")
    lines.append(_summary(report))
    findings = sorted((f for f in report.findings if f.suppression is None),
                      key=lambda f: (f.baseline == "known", -f.severity.rank, f.sort_key()))
    if findings:
        lines += ["", "| severity | object | reason | message |", "|---|---|---|---|"]
        lines += [
            f"| {f.severity.value}{' (new)' if f.baseline == 'new' else ''} | "
            f"{_inline(_object(f))} | {_inline(f.reason)} | "
            f"{_inline(f.message)} |"
            for f in findings
        ]
        lines += ["", "## Details"]
        for finding in findings:
            lines += ["", *_details(finding)]
    if report.errors:
        lines += ["", "## Not checked", ""]
        lines += [f"- **{_inline(e.stage)} {_inline(e.subject)}**: {_inline(e.message)}"
                  for e in report.errors]
    return "\n".join(lines) + "\n"


def _summary(report: Report) -> str:
    if report.healthy:
        text = "**No problems found.**"
    else:
        counts = ", ".join(f"{n} {s}" for s, n in report.count_by_severity().items() if n)
        total = len(report.findings)
        text = f"**{total} finding{'s' if total != 1 else ''}:** {counts}."
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
    if finding.explanation is not None:
        explanation = finding.explanation
        lines += ["", f"Explanation ({_inline(explanation.backend)}/"
                      f"{_inline(explanation.model)}):", "", _inline(explanation.summary)]
        if explanation.root_cause:
            lines += ["", f"Root cause: {_inline(explanation.root_cause)}"]
        lines += [f"- {_inline(step)}" for step in explanation.steps]
        if not explanation.structured:
            lines += ["", "_Free text: the model never gave the structured answer._"]
        elif explanation.attempts > 1:
            lines += ["", "_Answered on the second try (the first answer was invalid)._"]
    lines += ["", "</details>"]
    return lines


def _object(finding: Finding) -> str:
    where = f"{finding.namespace}/" if finding.namespace else ""
    return f"{finding.kind}/{where}{finding.name}"


def _inline(text: str) -> str:
    """Cluster text made inert: HTML escaped, inline Markdown escaped, on one line."""
    escaped = html.escape(" ".join(text.split()), quote=False)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped)
