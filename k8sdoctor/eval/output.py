"""What ``k8sdoctor eval`` prints: a table (rich, one row per backend and model, then one line per
scenario and model), ``-o json`` (the ``k8sdoctor/v1`` ``EvalReport``, valid against the shipped
``k8sdoctor/eval/schema.json``) and ``-o markdown`` for a pull-request comment.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any

from k8sdoctor import __version__

if TYPE_CHECKING:
    from k8sdoctor.eval.runner import Trial
    from k8sdoctor.eval.summary import Summary


class EvalFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


@dataclass(frozen=True)
class ContenderResult:
    backend: str
    model: str
    base_url: str
    local: bool
    trials: list[Trial]
    summary: Summary


@dataclass(frozen=True)
class EvalResult:
    contenders: list[ContenderResult]
    scenarios_source: str
    scenarios: list[str]
    repeat: int
    judge: str | None = None
    elapsed_seconds: float = 0.0
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": "k8sdoctor/v1",
            "kind": "EvalReport",
            "metadata": {
                "toolVersion": __version__,
                "generatedAt": self.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "scenarios": {"source": self.scenarios_source, "names": list(self.scenarios)},
                "repeat": self.repeat,
                "judge": self.judge,
                "cache": "bypassed",
                "elapsedSeconds": round(self.elapsed_seconds, 1),
            },
            "models": [_contender(c) for c in self.contenders],
        }


def eval_schema() -> dict[str, Any]:
    """The JSON Schema of ``-o json``."""
    from importlib import resources  # not at load time: the CLI imports this module for --help

    text = resources.files("k8sdoctor.eval").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)


def render_eval(result: EvalResult, fmt: EvalFormat, *, color: bool = False,
                width: int = 120) -> str:
    if fmt is EvalFormat.JSON:
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt is EvalFormat.MARKDOWN:
        return _markdown(result)
    return _table(result, color=color, width=width)


def _contender(result: ContenderResult) -> dict[str, Any]:
    return {"backend": result.backend, "model": result.model, "baseUrl": result.base_url,
            "local": result.local, "summary": result.summary.to_dict(),
            "trials": [_trial(t) for t in result.trials]}


def _trial(trial: Trial) -> dict[str, Any]:
    explanation = trial.explanation
    return {
        "scenario": trial.scenario,
        "repeat": trial.repeat,
        "score": trial.score.to_dict(),
        "error": trial.error,
        "latencySeconds": None if trial.latency_seconds is None
        else round(trial.latency_seconds, 3),
        "promptTokens": trial.prompt_tokens,
        "completionTokens": trial.completion_tokens,
        "attempts": trial.attempts,
        "retries": trial.retries,
        "judge": trial.judge.to_dict() if trial.judge is not None else None,
        "explanation": None if explanation is None else {
            "summary": explanation.summary, "rootCause": explanation.root_cause,
            "steps": list(explanation.steps), "commands": list(explanation.commands),
            "confidence": explanation.confidence, "structured": explanation.structured,
            "truncated": explanation.truncated},
    }


# -- cells shared by the table and Markdown -------------------------------------------------------

COLUMNS = ("backend/model", "accuracy (95% CI)", "pass^N", "valid", "root cause", "fix",
           "invented", "p50 / p95", "tokens in / out", "tok/s", "cost")


def _row(result: ContenderResult) -> list[str]:
    s = result.summary
    low, high = s.interval
    latency = ("-" if s.latency_p50 is None
               else f"{s.latency_p50:.1f} s / {s.latency_p95 or 0:.1f} s")
    tokens = "-" if s.prompt_tokens is None and s.completion_tokens is None else (
        f"{s.prompt_tokens or 0:,} / {s.completion_tokens or 0:,}")
    return [
        f"{result.backend}/{result.model}",
        f"{s.accuracy:.0%} ({low:.0%}-{high:.0%})",
        f"{s.pass_all:.0%}" + (f" (N={s.repeat})" if s.repeat > 1 else ""),
        f"{s.valid:.0%}", f"{s.root_cause:.0%}", f"{s.remediation:.0%}",
        str(s.hallucinating),
        latency, tokens,
        "-" if s.tokens_per_second is None else f"{s.tokens_per_second:.1f}",
        "unknown" if s.cost is None else f"${s.cost:.4f}",
    ]


def _trial_cell(trial: Trial) -> str:
    if trial.explanation is None:
        return "failed"
    if trial.score.correct:
        return "ok"
    problems = []
    if not trial.score.valid:
        problems.append("free text")
    if not trial.score.root_cause:
        problems.append("cause")
    if not trial.score.remediation:
        problems.append("fix")
    if trial.score.hallucinated:
        problems.append("invented")
    return "wrong: " + ", ".join(problems)


def _notes(result: EvalResult) -> list[str]:
    notes = [f"{len(result.scenarios)} scenarios ({result.scenarios_source}), "
             f"{result.repeat} run{'s' if result.repeat != 1 else ''} each, cache bypassed, "
             f"{result.elapsed_seconds:.0f} s"]
    for c in result.contenders:
        s = c.summary
        extra = []
        if s.failed:
            extra.append(f"{s.failed} failed calls")
        if s.second_tries:
            extra.append(f"{s.second_tries} answers needed a second try")
        if s.free_text:
            extra.append(f"{s.free_text} fell back to free text")
        if s.retries:
            extra.append(f"{s.retries} transport retries")
        if s.judge is not None:
            extra.append(f"judge {result.judge}: mean score {s.judge:.2f}")
        if extra:
            notes.append(f"{c.backend}/{c.model}: " + "; ".join(extra))
        errors = sorted({t.error for t in c.trials if t.error})
        notes += [f"{c.backend}/{c.model}: {e}" for e in errors[:3]]
    return notes


def _table(result: EvalResult, *, color: bool, width: int) -> str:
    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width,
                      highlight=False)
    table = Table(title="k8sdoctor eval", title_justify="left")
    for index, column in enumerate(COLUMNS):
        table.add_column(column, justify="left" if index == 0 else "right")
    for contender in result.contenders:
        table.add_row(*_row(contender))
    console.print(table)
    scenarios = Table(show_header=True, box=None, pad_edge=False)
    scenarios.add_column("scenario")
    for contender in result.contenders:
        scenarios.add_column(f"{contender.backend}/{contender.model}")
    for name in result.scenarios:
        cells = []
        for contender in result.contenders:
            trials = [t for t in contender.trials if t.scenario == name]
            cells.append(" | ".join(_trial_cell(t) for t in trials))
        scenarios.add_row(name, *cells)
    console.print(scenarios)
    for note in _notes(result):
        console.print(note, style="dim")
    return buffer.getvalue()


def _markdown(result: EvalResult) -> str:
    lines = ["### k8sdoctor eval", "", "| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(COLUMNS) - 1)) + "|"]
    lines += ["| " + " | ".join(_escape(cell) for cell in _row(c)) + " |"
              for c in result.contenders]
    lines += ["", "<details><summary>Per scenario</summary>", "",
              "| scenario | " + " | ".join(f"{c.backend}/{c.model}"
                                          for c in result.contenders) + " |",
              "|---|" + "---|" * len(result.contenders)]
    for name in result.scenarios:
        cells = [" / ".join(_trial_cell(t) for t in c.trials if t.scenario == name)
                 for c in result.contenders]
        lines.append(f"| {name} | " + " | ".join(_escape(x) for x in cells) + " |")
    lines += ["", "</details>", ""]
    lines += [f"- {_escape(note)}" for note in _notes(result)]
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
