"""``-o text``: the report for people, grouped by namespace and object, within 80 columns.

Cluster text (messages, events) is appended as plain ``Text``, never parsed as Rich markup, so
square brackets in an event message print as they are.
"""

from __future__ import annotations

import io
import textwrap
from collections import Counter
from collections.abc import Iterable
from itertools import groupby

from rich.console import Console
from rich.text import Text

from k8sdoctor.analysis.finding import Explanation, Finding, RunError, Severity
from k8sdoctor.report import RenderOptions
from k8sdoctor.report.model import Report

UNWRAPPED_WIDTH = 100_000
"""The console width when the report must not be wrapped (``RenderOptions.width`` None)."""

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
}
SEVERITY_LABEL = {
    Severity.CRITICAL: "CRITICAL",
    Severity.ERROR: "ERROR",
    Severity.WARNING: "WARNING",
    Severity.INFO: "INFO",
}


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
    explained = _Explained(report.findings)
    shown = [f for f in report.findings if f.suppression is None]
    for namespace, in_namespace in groupby(shown, key=lambda f: f.namespace or ""):
        console.print()
        title = f"namespace {namespace}" if namespace else "cluster-scoped"
        console.print(Text(title, style="bold underline"))
        for _, on_object in groupby(in_namespace, key=lambda f: (f.kind, f.name)):
            _print_object(console, list(on_object), explained)
    for title, errors in (("Not checked", _data_errors(report)),
                          ("Not explained", _explain_errors(report))):
        if errors:
            console.print()
            console.print(Text(title, style="bold"))
        for error in errors:
            _print_wrapped(console, f"{error.stage} {error.subject}: {error.message}", 2,
                           bullet="! ", bullet_style="yellow")
        if title == "Not checked" and report.not_checked:
            _print_list(console, "references not checked", [str(n) for n in report.not_checked],
                        "· ", "dim", indent=2)
    if expired := report.gate.get("expiredSuppressions"):
        console.print()
        console.print(Text("Expired suppressions (no longer suppressing)", style="bold"))
        for entry in expired:
            _print_wrapped(console, f"{entry['source']}: expired {entry['expires']}: "
                           f"{entry['reason']}", 2, bullet="! ", bullet_style="yellow")
    console.print()
    console.print(_summary(report))
    for line in _inference_lines(report):
        console.print(line)
    return buffer.getvalue()


def _header(report: Report) -> Text:
    header = Text("k8sdoctor", style="bold")
    header.append(f" · {report.source}")
    if report.manifests:
        header.append(" · plain manifests, judged as specs (status-based checks skipped)",
                      style="dim")
    elif report.cluster_time is not None:
        header.append(f" · as of {report.cluster_time:%Y-%m-%d %H:%M} UTC", style="dim")
    return header


class _Explained:
    """Which explanations were printed already: one LLM answer explains a whole group of
    findings (forty pods, their Deployment, their Service) and is shown once, under the first."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        self.sharing: Counter[str | Explanation] = Counter(
            _group_of(f.explanation) for f in findings if f.explanation is not None
        )
        self.first_shown_under: dict[str | Explanation, str] = {}


def _group_of(explanation: Explanation) -> str | Explanation:
    """Findings share an explanation when they share its group id; without one (a report built
    by other code), when they share the very same answer."""
    return explanation.group or explanation


def _print_object(console: Console, findings: list[Finding], explained: _Explained) -> None:
    first = findings[0]
    line = Text("  ")
    line.append(f"{first.kind}/{first.name}", style="bold")
    if first.parent is not None:
        parent = f"(of {first.parent.kind}/{first.parent.name})"
        if len(line) + 2 + len(parent) > console.width:
            console.print(line)
            line = Text("    ")
        else:
            line.append("  ")
        line.append(parent, style="dim")
    console.print(line)
    for finding in findings:
        _print_finding(console, finding, explained)


def _print_finding(console: Console, finding: Finding, explained: _Explained) -> None:
    head = Text("    ")
    head.append(f" {SEVERITY_LABEL[finding.severity]} ", style=SEVERITY_STYLE[finding.severity])
    head.append(f" {finding.reason}", style="bold")
    head.append(f"  [{finding.analyzer}]", style="dim")
    if finding.baseline is not None:
        head.append(f"  {finding.baseline}",
                    style="bold magenta" if finding.baseline == "new" else "dim")
    console.print(head)
    _print_wrapped(console, finding.message, 6)
    _print_list(console, "evidence", finding.evidence, "· ", "dim")
    _print_list(console, "fix", finding.remediation, "→ ", "green")
    if finding.explanation is not None:
        _print_explanation(console, finding, finding.explanation, explained)


def _print_explanation(
    console: Console, finding: Finding, explanation: Explanation, explained: _Explained
) -> None:
    key = _group_of(explanation)
    first = explained.first_shown_under.get(key)
    if first is not None:
        line = Text("      explanation: ", style="magenta")
        line.append(f"see above, under {first}", style="dim")
        console.print(line)
        return
    explained.first_shown_under[key] = f"{finding.kind}/{finding.name}"
    source = f"{explanation.backend}/{explanation.model}"
    if explanation.cached:
        source += ", cached"
    title = Text("      explanation ", style="bold magenta")
    title.append(f"({source})", style="dim")
    shared = explained.sharing[key]
    if shared > 1:
        title.append(f" · {shared} findings", style="dim")
    console.print(title)
    _print_wrapped(console, explanation.summary, 8)
    if explanation.root_cause:
        _print_wrapped(console, "Root cause: " + explanation.root_cause, 8)
    _print_list(console, None, explanation.steps, "- ", "magenta", indent=8)
    _print_list(console, None, explanation.commands, "$ ", "magenta", indent=8)
    notes = []
    if explanation.confidence:
        notes.append(f"confidence: {explanation.confidence}")
    if explanation.truncated:
        notes.append("the answer was cut at the length limit")
    if not explanation.structured:
        notes.append("free text: the model never gave the structured answer")
    elif explanation.attempts > 1:
        notes.append("answered on the second try (the first answer was invalid)")
    if notes:
        console.print(Text(" " * 8 + "; ".join(notes), style="dim"))


def _print_list(
    console: Console,
    title: str | None,
    items: Iterable[str],
    bullet: str,
    style: str,
    indent: int = 6,
) -> None:
    items = list(items)
    if not items:
        return
    if title:
        console.print(Text(" " * indent + title, style="dim"))
    for item in items:
        _print_wrapped(console, item, indent + 2, bullet=bullet, bullet_style=style)


def _print_wrapped(
    console: Console, text: str, indent: int, *, bullet: str = "", bullet_style: str = ""
) -> None:
    """``text`` wrapped to the console width with a hanging indent under the bullet."""
    width = max(20, console.width - indent - len(bullet))
    lines = textwrap.wrap(text, width, break_on_hyphens=False) or [""]
    for index, line in enumerate(lines):
        out = Text(" " * indent)
        out.append(bullet if index == 0 else " " * len(bullet), style=bullet_style)
        out.append(line)
        console.print(out)


def _summary(report: Report) -> Text:
    counts = report.count_by_severity()
    if report.healthy:
        summary = Text("No problems found", style="bold green")
    else:
        total = len(report.findings)
        summary = Text(f"{total} finding{'s' if total != 1 else ''}: ", style="bold")
        parts = [(count, severity) for severity, count in counts.items() if count]
        for index, (count, severity) in enumerate(parts):
            if index:
                summary.append(", ")
            summary.append(f"{count} {severity}", style=SEVERITY_STYLE[Severity(severity)])
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
