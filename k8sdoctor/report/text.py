"""``-o text``: the report for people, root causes first.

It opens with the headline ("15 root causes (6 critical) behind 40 findings"), then one short
block per root cause, worst and widest first: severity, root object and reason, the summary
sentence, the first fix, and the objects it breaks in a few words. ``--details`` adds, under each
block, every finding of that cause with its evidence and fixes. Wrapped to the terminal's width
(``RenderOptions.width``), or not at all when the report goes to a pipe or a CI log, so names and
``kubectl`` commands can be copied whole.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from k8sdoctor.analysis.finding import RunError, Severity
from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.report import RenderOptions
from k8sdoctor.report.model import Report
from k8sdoctor.report.outline import (
    affected_text,
    baseline_mark,
    first_fix,
    headline,
    outline,
    root_label,
)
from k8sdoctor.report.text_details import (
    SEVERITY_STYLE,
    print_explanation,
    print_finding,
    print_list,
    print_wrapped,
)

UNWRAPPED_WIDTH = 100_000
"""The console width when the report must not be wrapped (``RenderOptions.width`` None)."""
BLOCK_INDENT = 4
"""Where a root cause's lines start, under its rank and severity."""


def render(report: Report, options: RenderOptions) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=options.width or UNWRAPPED_WIDTH,
        force_terminal=options.color,
        no_color=not options.color,
        color_system="standard" if options.color else None,
        highlight=False,
        emoji=False,
        soft_wrap=False,
    )
    console.print(_header(report))
    causes = outline(report)
    if causes:
        console.print()
        line = Text(headline(report, causes), style="bold")
        if not options.details:
            line.append(" · --details shows the evidence", style="dim")
        console.print(line)
    for cause in causes:
        console.print()
        _print_cause(console, cause, options.details)
    _print_problems(console, report)
    if expired := report.gate.get("expiredSuppressions"):
        console.print()
        console.print(Text("Expired suppressions (no longer suppressing)", style="bold"))
        for entry in expired:
            print_wrapped(console, f"{entry['source']}: expired {entry['expires']}: "
                          f"{entry['reason']}", 2, bullet="! ", bullet_style="yellow")
    console.print()
    console.print(_summary(report, causes))
    for line in _inference_lines(report):
        console.print(line)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _header(report: Report) -> Text:
    header = Text("k8sdoctor", style="bold")
    header.append(f" · {report.source}")
    if report.manifests:
        header.append(" · plain manifests, judged as specs (status-based checks skipped)",
                      style="dim")
    elif report.cluster_time is not None:
        header.append(f" · as of {report.cluster_time:%Y-%m-%d %H:%M} UTC", style="dim")
    return header


def _print_cause(console: Console, cause: RootCause, details: bool) -> None:
    title = Text(f"{cause.rank:>2} ")
    title.append(f" {cause.severity.value.upper()} ", style=SEVERITY_STYLE[cause.severity])
    title.append(f" {root_label(cause)}", style="bold")
    mark = baseline_mark(cause)
    reason = Text(cause.reason)
    if mark is not None:
        reason.append(f" · {mark}", style="bold magenta" if mark == "new" else "dim")
    if len(title) + 3 + len(reason) <= console.width:
        title.append(" · ")
        title.append_text(reason)
        console.print(title)
    else:
        console.print(title)
        console.print(Text(" " * BLOCK_INDENT).append_text(reason))
    summary = cause.summary or cause.root.message
    print_wrapped(console, summary, BLOCK_INDENT)
    if (fix := first_fix(cause)) is not None:
        print_wrapped(console, fix, BLOCK_INDENT, lead=Text("fix: ", style="green"))
    if affected := affected_text(cause, named_in=summary):
        print_wrapped(console, affected, BLOCK_INDENT, lead=Text("breaks: ", style="dim"))
    if cause.explanation is not None:
        print_explanation(console, cause.explanation, BLOCK_INDENT, full=details)
    if details:
        for finding in cause.findings:
            print_finding(console, finding, BLOCK_INDENT)


def _print_problems(console: Console, report: Report) -> None:
    """What kept the report from being complete, and explanations that failed."""
    for title, errors in (("Not checked", _data_errors(report)),
                          ("Not explained", _explain_errors(report))):
        if errors:
            console.print()
            console.print(Text(title, style="bold"))
        for error in errors:
            print_wrapped(console, f"{error.stage} {error.subject}: {error.message}", 2,
                          bullet="! ", bullet_style="yellow")
        if title == "Not checked" and report.not_checked:
            print_list(console, "references not checked", [str(n) for n in report.not_checked],
                       "· ", "dim", 2)


def _summary(report: Report, causes: list[RootCause]) -> Text:
    if report.healthy:
        summary = Text("No problems found", style="bold green")
    else:
        summary = Text(headline(report, causes), style="bold")
        parts = [(count, severity) for severity, count in report.count_by_severity().items()
                 if count]
        summary.append(": ")
        for index, (count, severity) in enumerate(parts):
            if index:
                summary.append(", ")
            summary.append(f"{count} {severity}", style=SEVERITY_STYLE[Severity(severity)])
    hidden = report.extra_metadata.get("filter") or {}
    if hidden.get("hiddenRootCauses"):
        count = hidden["hiddenRootCauses"]
        summary.append(f"; {count} root cause{'s' if count != 1 else ''} below "
                       f"{hidden['minSeverity']} not shown", style="dim")
    if report.health is not None and report.health.cluster is not None:
        summary.append(f"; health {report.health.cluster.score}/100")
    if baseline := report.gate.get("baseline"):
        summary.append(f"; {baseline['new']} new, {baseline['known']} known, "
                       f"{baseline['fixed']} fixed since the baseline")
    if suppressed := report.gate.get("suppressed"):
        summary.append(f"; {suppressed} suppressed (not shown)")
    if expired := len(report.gate.get("expiredSuppressions") or ()):
        summary.append(f"; {expired} expired suppression{'s' if expired != 1 else ''}",
                       style="yellow")
    if unchecked := len(_data_errors(report)):
        summary.append(f"; {unchecked} part{'s' if unchecked != 1 else ''} not checked",
                       style="yellow")
    if _explain_errors(report):
        summary.append("; some explanations missing", style="yellow")
    return summary


def _data_errors(report: Report) -> list[RunError]:
    """What left the findings incomplete: kinds not listed, plugins or analyzers that failed."""
    return [e for e in report.errors if e.makes_data_incomplete]


def _explain_errors(report: Report) -> list[RunError]:
    return [e for e in report.errors if not e.makes_data_incomplete]


def _inference_lines(report: Report) -> list[Text]:
    """What explaining cost, per backend and model: calls, cache hits, tokens, latency."""
    inference = report.extra_metadata.get("inference") or {}
    lines = []
    for entry in inference.get("backends") or ():
        calls = entry.get("calls", 0)
        parts = [f"{calls} call{'s' if calls != 1 else ''}", f"{entry.get('cacheHits', 0)} cached"]
        if entry.get("failures"):
            parts.append(f"{entry['failures']} failed")
        line = Text("explain: ", style="bold magenta")
        line.append(f"{entry.get('backend')}/{entry.get('model')} · {', '.join(parts)}")
        lines.append(line)
        details = []
        prompt, completion = entry.get("promptTokens"), entry.get("completionTokens")
        if prompt is not None or completion is not None:
            details.append(f"{prompt or 0:,} prompt + {completion or 0:,} completion tokens")
        if latency := entry.get("latencySeconds"):
            details.append(f"latency p50 {latency['p50']:.1f} s, max {latency['max']:.1f} s")
        if details:
            lines.append(Text("  " + " · ".join(details), style="dim"))
    return lines
