"""Running the explain stage of each contender (a backend and model) over the scenarios.

Each scenario's snapshot is analyzed as ``analyze --snapshot`` would (its extra analyzers
added), the root cause holding the scenario's root object is found, and that one root cause is
explained - the same prompt, call and parsing as ``analyze --explain``, with the cache bypassed
so every trial is a real call. The per-call figures come from the stage's own inference
statistics (``metadata.inference.calls``), so eval measures exactly what a user's run costs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from k8sdoctor.analysis.finding import Explanation, Finding
from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import ClusterState, Scope
from k8sdoctor.eval.judge import Judge, Verdict
from k8sdoctor.eval.scenario import ObjectRef, Scenario, analyzer_names
from k8sdoctor.eval.score import FAILED, Score, known_names, score
from k8sdoctor.explain.backend import Backend
from k8sdoctor.explain.stage import ExplainStage, PreparedCall
from k8sdoctor.report.model import Report
from k8sdoctor.run import analyze_with_state


@dataclass(frozen=True)
class Trial:
    """One scenario explained once by one contender."""

    scenario: str
    repeat: int
    score: Score
    explanation: Explanation | None = None
    error: str | None = None
    """Why there is no explanation (the call failed)."""
    latency_seconds: float | None = None
    """All attempts of the call, end to end."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    attempts: int = 0
    """Calls made: 2 when the first answer was invalid and it was asked again."""
    retries: int = 0
    """Transport retries (HTTP 429, 5xx, dropped connections)."""
    judge: Verdict | None = None


@dataclass(frozen=True)
class Prepared:
    """A scenario analyzed once, shared by every contender and repeat."""

    scenario: Scenario
    report: Report
    state: ClusterState
    names: frozenset[str]


class ScenarioError(Exception):
    """A scenario that cannot be evaluated (its root object is not among the findings)."""


def prepare(scenario: Scenario) -> Prepared:
    analysis = analyze_with_state(SnapshotSource(str(scenario.snapshot),
                                                 label=f"scenario {scenario.name}"),
                                  Scope(), analyzer_names(scenario))
    state = analysis.state
    objects = [obj for kind in state.kinds for obj in state.objects(kind)]
    return Prepared(scenario, analysis.report, state,
                    frozenset(known_names(objects)) | scenario.names)


def root_call(calls: Sequence[PreparedCall], root: ObjectRef) -> PreparedCall:
    """The call explaining the root cause that holds ``root``: one where it is the root object or
    among the causes first, else one where it is a consequence."""
    holding = [c for c in calls if any(_is(f, root) for f in c.cause.findings)]
    as_cause = [c for c in holding if _is_root_object(c.cause, root)
                or any(_is(f, root) for f in c.cause.causes)]
    if not holding:
        raise ScenarioError(f"{root} is not among the findings")
    return (as_cause or holding)[0]


def run_trial(stage: ExplainStage, prepared: Prepared, repeat: int,
              judge: Judge | None = None) -> Trial:
    """Explain ``prepared``'s root cause with ``stage`` and score the answer."""
    scenario = prepared.scenario
    call = root_call(stage.prepare(prepared.report, prepared.state), scenario.root)
    only = replace(prepared.report, findings=list(call.cause.findings),
                   root_causes=[call.cause], errors=[])
    explained = stage.run(only, prepared.state)
    figures = _figures(explained, call.cause)
    explanation = next((f.explanation for f in explained.findings
                        if f.explanation is not None), None)
    if explanation is None:
        error = "; ".join(e.message for e in explained.errors) or "no explanation"
        return Trial(scenario.name, repeat, FAILED, error=error, **figures)
    evidence = f"{call.request.system}\n{call.request.prompt}"
    verdict = judge.judge(scenario, explanation) if judge is not None else None
    return Trial(scenario.name, repeat, score(explanation, scenario, prepared.names, evidence),
                 explanation, judge=verdict, **figures)


def run_contender(
    stage: ExplainStage, prepared: Sequence[Prepared], repeat: int, judge: Judge | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Trial]:
    trials = []
    for number in range(1, repeat + 1):
        for item in prepared:
            if progress is not None:
                progress(f"{item.scenario.name} ({number}/{repeat})")
            trials.append(run_trial(stage, item, number, judge))
    return trials


def stage_for(backend: Backend, anonymize: bool | None, language: str = "en",
              max_tokens: int = 1024) -> ExplainStage:
    """A stage like ``analyze --explain``'s, without a cache: every trial is a real call."""
    from k8sdoctor.explain.anonymize import KEY_BYTES, Anonymizer
    from k8sdoctor.explain.stage import ExplainOptions, anonymizes

    options = ExplainOptions(language=language, anonymize=anonymize, use_cache=False,
                             concurrency=1, max_tokens=max_tokens)
    anonymizer = None
    if anonymizes(backend, options):
        import os

        anonymizer = Anonymizer(os.urandom(KEY_BYTES))
    return ExplainStage(backend, options, anonymizer=anonymizer)


def _is(finding: Finding, root: ObjectRef) -> bool:
    if (finding.kind, finding.namespace, finding.name) == (root.kind, root.namespace, root.name):
        return True
    parent = finding.parent
    return parent is not None and (parent.kind, finding.namespace, parent.name) == (
        root.kind, root.namespace, root.name)


def _is_root_object(cause: RootCause, root: ObjectRef) -> bool:
    obj = cause.root_object
    return (obj.kind, obj.namespace, obj.name) == (root.kind, root.namespace, root.name)


def _figures(report: Report, cause: RootCause) -> dict[str, Any]:
    """Latency, tokens, attempts and retries of the calls that explained ``cause``."""
    inference = report.extra_metadata.get("inference") or {}
    calls = [c for c in inference.get("calls") or () if c.get("group") == cause.id]
    sent = [c for c in calls if not c.get("cached")]

    def total(key: str) -> int | None:
        values = [c[key] for c in sent if c.get(key) is not None]
        return sum(values) if values else None

    latencies = [c["latencySeconds"] for c in sent if c.get("latencySeconds") is not None]
    return {"latency_seconds": sum(latencies) if latencies else None,
            "prompt_tokens": total("promptTokens"),
            "completion_tokens": total("completionTokens"),
            "attempts": len(sent), "retries": total("retries") or 0}
