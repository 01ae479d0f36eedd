"""Running the explain stage of each contender (a backend and model) over the scenarios.

Each scenario's snapshot is analyzed as ``analyze --snapshot`` would (its extra analyzers
added), and the findings about the scenario's root object are explained - grouped into causes,
prompted, called and parsed exactly as ``analyze --explain`` does, with the cache bypassed so
every trial is a real call. The explanation scored is the one of the most severe of them. The
per-call figures come from the stage's own inference statistics (``metadata.inference.calls``),
so eval measures exactly what a user's run costs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis.finding import Explanation, Finding
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import ClusterState, ObjectRef, Scope
from k8sdoctor.eval.judge import Judge, Verdict
from k8sdoctor.eval.scenario import Scenario, analyzer_names
from k8sdoctor.eval.score import FAILED, Score, known_names, score
from k8sdoctor.explain.backend import Backend, BackendAnswer, BackendStatus, ExplainRequest
from k8sdoctor.explain.stage import ExplainStage
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


def root_findings(report: Report, root: ObjectRef) -> list[Finding]:
    """The findings about the scenario's root object: on it, or on what it owns."""
    found = [f for f in report.findings if _is(f, root)]
    if not found:
        raise ScenarioError(f"{root} is not among the findings")
    return found


def run_trial(harness: Harness, prepared: Prepared, repeat: int,
              judge: Judge | None = None) -> Trial:
    """Explain the findings about ``prepared``'s root object with ``stage`` - the stage groups
    them into causes as it does for ``analyze --explain`` - and score the explanation of the
    worst of them."""
    scenario = prepared.scenario
    full = prepared.report
    about_root = root_findings(full, scenario.root)
    only = Report(findings=about_root, errors=[], source=full.source,
                  analyzers=full.analyzers, cluster_time=full.cluster_time)
    harness.backend.requests.clear()
    explained = harness.stage.run(only, prepared.state)
    figures = _figures(explained)
    ordered = sorted(explained.findings, key=lambda f: -int(f.severity.rank))
    explanation = next((f.explanation for f in ordered if f.explanation is not None), None)
    if explanation is None:
        error = "; ".join(e.message for e in explained.errors) or "no explanation"
        return Trial(scenario.name, repeat, FAILED, error=error, **figures)
    evidence = harness.evidence()
    verdict = judge.judge(scenario, explanation) if judge is not None else None
    return Trial(scenario.name, repeat, score(explanation, scenario, prepared.names, evidence),
                 explanation, judge=verdict, **figures)


def run_contender(
    harness: Harness, prepared: Sequence[Prepared], repeat: int, judge: Judge | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Trial]:
    trials = []
    for number in range(1, repeat + 1):
        for item in prepared:
            if progress is not None:
                progress(f"{item.scenario.name} ({number}/{repeat})")
            trials.append(run_trial(harness, item, number, judge))
    return trials


class RecordingBackend:
    """A backend passing every request on and keeping it: the prompts are the evidence a name in
    the answer may come from."""

    def __init__(self, backend: Backend) -> None:
        self.inner = backend
        self.name, self.model, self.hosted = backend.name, backend.model, backend.hosted
        self.parallel_calls = backend.parallel_calls
        self.requests: list[ExplainRequest] = []

    def complete(self, request: ExplainRequest) -> BackendAnswer:
        self.requests.append(request)
        return self.inner.complete(request)

    def check(self) -> BackendStatus:
        return self.inner.check()


@dataclass(frozen=True)
class Harness:
    """A contender's stage, built like ``analyze --explain``'s but without a cache (every trial
    is a real call) and one call at a time (latency is not time spent queueing)."""

    stage: ExplainStage
    backend: RecordingBackend

    def evidence(self) -> str:
        """What the last trial sent, with anonymized names turned back into real ones."""
        restore = self.stage.anonymizer.restore if self.stage.anonymizer else (lambda t: t)
        return "\n".join(restore(f"{r.system}\n{r.prompt}") for r in self.backend.requests)


def harness_for(backend: Backend, anonymize: bool | None, language: str = "en",
                max_tokens: int = 1024) -> Harness:
    from k8sdoctor.explain.anonymize import KEY_BYTES, Anonymizer
    from k8sdoctor.explain.stage import ExplainOptions, anonymizes

    recorder = RecordingBackend(backend)
    options = ExplainOptions(language=language, anonymize=anonymize, use_cache=False,
                             concurrency=1, max_tokens=max_tokens)
    anonymizer = Anonymizer(os.urandom(KEY_BYTES)) if anonymizes(backend, options) else None
    return Harness(ExplainStage(recorder, options, anonymizer=anonymizer), recorder)


def _is(finding: Finding, root: ObjectRef) -> bool:
    if (finding.kind, finding.namespace, finding.name) == (root.kind, root.namespace, root.name):
        return True
    parent = finding.parent
    return parent is not None and (parent.kind, finding.namespace, parent.name) == (
        root.kind, root.namespace, root.name)


def _figures(report: Report) -> dict[str, Any]:
    """Latency, tokens, attempts and retries of the calls made for ``report``."""
    inference = report.extra_metadata.get("inference") or {}
    sent = [c for c in inference.get("calls") or () if c.get("outcome") in ("answer", "invalid",
                                                                              "failed")]

    def total(key: str) -> int | None:
        values = [c[key] for c in sent if c.get(key) is not None]
        return sum(values) if values else None

    latencies = [c["latencySeconds"] for c in sent if c.get("latencySeconds") is not None]
    return {"latency_seconds": sum(latencies) if latencies else None,
            "prompt_tokens": total("promptTokens"),
            "completion_tokens": total("completionTokens"),
            "attempts": len(sent), "retries": total("retries") or 0}
