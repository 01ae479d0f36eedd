"""The parts of ``-o text`` that print one thing in full: a finding with its evidence and fixes
(``--details``), an explanation, a wrapped paragraph. Cluster text is appended as plain ``Text``,
never parsed as Rich markup, so square brackets in an event message print as they are.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from rich.console import Console
from rich.text import Text

from k8sdoctor.analysis.finding import Explanation, Finding, Severity

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
}


def print_finding(console: Console, finding: Finding, indent: int) -> None:
    """One finding in full: object, severity, reason, analyzer, message, evidence, fixes."""
    pad = " " * indent
    head = Text(pad)
    head.append(f" {finding.severity.value.upper()} ",
                style=SEVERITY_STYLE[finding.severity])
    head.append(f" {finding.object_ref}", style="bold")
    head.append(f"  {finding.reason}")
    if len(head) + len(finding.analyzer) + 4 <= console.width:
        head.append(f"  [{finding.analyzer}]", style="dim")
    console.print(head)
    print_wrapped(console, finding.message, indent + 2)
    print_list(console, "evidence", finding.evidence, "· ", "dim", indent + 2)
    print_list(console, "fix", finding.remediation, "→ ", "green", indent + 2)


def print_explanation(console: Console, explanation: Explanation, indent: int,
                      full: bool) -> None:
    """The LLM's answer: summary and root cause; with ``full``, its steps, commands and notes."""
    source = f"{explanation.backend}/{explanation.model}"
    if explanation.cached:
        source += ", cached"
    title = Text(" " * indent + "explanation ", style="bold magenta")
    title.append(f"({source})", style="dim")
    console.print(title)
    print_wrapped(console, explanation.summary, indent + 2)
    if explanation.root_cause:
        print_wrapped(console, "Root cause: " + explanation.root_cause, indent + 2)
    if full:
        print_list(console, None, explanation.steps, "- ", "magenta", indent + 2)
        print_list(console, None, explanation.commands, "$ ", "magenta", indent + 2)
    notes = []
    if explanation.confidence and full:
        notes.append(f"confidence: {explanation.confidence}")
    if explanation.truncated:
        notes.append("the answer was cut at the length limit")
    if not explanation.structured:
        notes.append("free text: the model never gave the structured answer")
    elif explanation.attempts > 1:
        notes.append("answered on the second try (the first answer was invalid)")
    if notes:
        console.print(Text(" " * (indent + 2) + "; ".join(notes), style="dim"))


def print_list(console: Console, title: str | None, items: Iterable[str], bullet: str,
               style: str, indent: int) -> None:
    items = list(items)
    if not items:
        return
    if title:
        console.print(Text(" " * indent + title, style="dim"))
    for item in items:
        print_wrapped(console, item, indent + 2, bullet=bullet, bullet_style=style)


def print_wrapped(console: Console, text: str, indent: int, *, bullet: str = "",
                  bullet_style: str = "", lead: Text | None = None) -> None:
    """``text`` wrapped to the console width with a hanging indent under the bullet (or the
    styled ``lead`` words, such as ``fix:``)."""
    head = lead.plain if lead is not None else bullet
    width = max(20, console.width - indent - len(head))
    lines = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False) or [""]
    for index, line in enumerate(lines):
        out = Text(" " * indent)
        if index == 0 and lead is not None:
            out.append_text(lead)
        else:
            out.append(bullet if index == 0 else " " * len(head), style=bullet_style)
        out.append(line)
        console.print(out)
