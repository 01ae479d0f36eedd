"""The explain stage: one LLM call per root cause.

The root causes are the report's own (``analysis.causes``), so what a person reads first and what
the model is asked about are the same thing. Each root cause's prompt is rendered (evidence
redacted and, for a hosted backend by default, anonymized), looked up in the cache, and otherwise
sent to the backend through a small thread pool. The answer is parsed as the structured JSON asked
for, asked for once more when it is not valid, and shown as plain text when the second try fails
too. Its tokens are turned back into real names and the explanation is attached to the root cause
and to every one of its findings.

Nothing here can cost the user their findings: a failed call leaves that root cause unexplained,
with the reason in the report's ``errors`` (stage ``explain``), and never changes the exit code.
A backend that cannot work at all (server down, key refused, model missing) is not called again
for the remaining root causes; they share one error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from k8sdoctor.analysis.causes import root_causes
from k8sdoctor.analysis.finding import Explanation, RunError
from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.explain.anonymize import Anonymizer
from k8sdoctor.explain.answer import ANSWER_SCHEMA, Answer, fallback_answer, parse_answer
from k8sdoctor.explain.backend import (
    Backend,
    BackendAnswer,
    BackendError,
    BackendUnavailableError,
    ExplainRequest,
)
from k8sdoctor.explain.cache import CacheKey, ExplanationCache
from k8sdoctor.explain.evidence import (
    LOG_TAIL_LINES,
    NOT_REQUESTED,
    LogReader,
    collect_logs,
    group_context,
)
from k8sdoctor.explain.prompts import PromptSet
from k8sdoctor.explain.stats import InferenceStats
from k8sdoctor.report.model import Report

VOCABULARY_KEYS = frozenset({"analyzer", "kind", "reason", "severity"})
"""Prompt fields written by k8sdoctor, not the cluster: never masked, even when a Service is
named ``gateway`` like an analyzer."""
RETRY_NOTE = (
    "\n\nYour previous answer was not the JSON object asked for. Answer again with only that "
    'JSON object: {"summary": ..., "rootCause": ..., "steps": [...], "commands": [...], '
    '"confidence": ...}.\n'
)


@dataclass(frozen=True)
class ExplainOptions:
    language: str = "en"
    anonymize: bool | None = None
    """None: on for hosted backends, off for local ones."""
    with_logs: bool = False
    use_cache: bool = True
    concurrency: int = 4
    max_tokens: int = 1024
    log_lines: int = LOG_TAIL_LINES


@dataclass(frozen=True)
class PreparedCall:
    """One root cause, and exactly what would be sent for it."""

    cause: RootCause
    request: ExplainRequest
    cache_key: CacheKey


@dataclass(frozen=True)
class _Outcome:
    answer: Answer | None = None
    model: str = ""
    cached: bool = False
    error: str | None = None
    unavailable: bool = False
    attempts: int = 1
    """Calls it took: 2 when the first answer was invalid and the model was asked again."""


def anonymizes(backend: Backend, options: ExplainOptions) -> bool:
    return backend.hosted if options.anonymize is None else options.anonymize


class ExplainStage:
    """Explains the findings of one report with one backend."""

    def __init__(
        self,
        backend: Backend,
        options: ExplainOptions,
        *,
        prompts: PromptSet | None = None,
        cache: ExplanationCache | None = None,
        anonymizer: Anonymizer | None = None,
        log_reader: LogReader | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backend = backend
        self.options = options
        self.prompts = prompts or PromptSet()
        self.cache = cache if options.use_cache else None
        self.anonymizer = anonymizer if anonymizes(backend, options) else None
        if anonymizes(backend, options) and anonymizer is None:
            raise ValueError("anonymization is on but no anonymizer was given")
        self.log_reader = log_reader
        self._clock = clock
        self._unavailable: str | None = None
        """Why the backend cannot work at all, once a call has said so."""

    # -- preparing ------------------------------------------------------------------------------

    def prepare(self, report: Report, state: ClusterState) -> list[PreparedCall]:
        """Render each root cause's request (fetching logs if asked), in rank order."""
        if self.anonymizer is not None:
            self.anonymizer.add_state(state)
        return [self._prepare(cause, state) for cause in causes_of(report, state)]

    def _prepare(self, cause: RootCause, state: ClusterState) -> PreparedCall:
        if self.options.with_logs:
            logs, note = collect_logs(cause, state, self.log_reader, self.options.log_lines)
        else:
            logs, note = [], NOT_REQUESTED
        context = group_context(cause, logs, note)
        if self.anonymizer is not None:
            context = self.anonymizer.mask_tree(context, keep=VOCABULARY_KEYS)
        rendered = self.prompts.render(context, language=self.options.language,
                                       anonymized=self.anonymizer is not None)
        request = ExplainRequest(system=rendered.system, prompt=rendered.prompt,
                                 schema=ANSWER_SCHEMA, max_tokens=self.options.max_tokens)
        key = CacheKey(self.backend.name, self.backend.model, self.prompts.version,
                       self.options.language, f"{request.system}\0{request.prompt}")
        return PreparedCall(cause, request, key)

    # -- running --------------------------------------------------------------------------------

    def run(self, report: Report, state: ClusterState) -> Report:
        """``report`` with explanations attached, explain errors added and ``inference`` stats
        in its metadata."""
        calls = self.prepare(report, state)
        self._unavailable = None
        stats = InferenceStats(groups=len(calls), anonymized=self.anonymizer is not None)
        outcomes: dict[int, _Outcome] = {}
        to_send: list[int] = []
        for index, call in enumerate(calls):
            cached = self.cache.get(call.cache_key) if self.cache else None
            if cached is not None:
                stats.record_cache_hit(self.backend.name, self.backend.model,
                                       group=call.cause.id)
                outcomes[index] = _Outcome(cached, self.backend.model, cached=True, attempts=0)
            else:
                to_send.append(index)
        if to_send:
            workers = max(1, min(self.options.concurrency, len(to_send)))
            with ThreadPoolExecutor(max_workers=workers,
                                    thread_name_prefix="k8sdoctor-explain") as pool:
                sent = pool.map(lambda i: (i, self._send(calls[i], stats)), to_send)
                outcomes.update(sent)
        return self._assemble(report, calls, outcomes, stats)

    def _send(self, call: PreparedCall, stats: InferenceStats) -> _Outcome:
        if self._unavailable is not None:
            stats.record_failure(self.backend.name, self.backend.model, called=False,
                                 group=call.cause.id)
            return _Outcome(error=self._unavailable, unavailable=True, attempts=0)
        request, last_text, truncated, model = call.request, "", False, self.backend.model
        for attempt in range(2):
            started = self._clock()
            try:
                raw = self.backend.complete(request)
            except BackendError as err:
                return self._failed(err, stats, self._clock() - started, call.cause.id)
            except Exception as err:  # a bug in a backend must not cost the findings
                return self._failed(BackendError(f"internal error in the {self.backend.name} "
                                                 f"backend: {type(err).__name__}: {err}"),
                                    stats, self._clock() - started, call.cause.id)
            answer = parse_answer(raw.text, truncated=raw.truncated)
            stats.record_call(self.backend.name, self.backend.model, raw,
                              self._clock() - started, group=call.cause.id,
                              valid=answer is not None)
            model = raw.model or model
            if answer is not None:
                if self.cache is not None and not answer.truncated:
                    self.cache.put(call.cache_key, answer, model)
                return _Outcome(answer, model, attempts=attempt + 1)
            last_text, truncated = _keep_longer(last_text, truncated, raw)
            if attempt == 0:
                # A cut-off answer gets more room the second time.
                room = request.max_tokens * 2 if raw.truncated else request.max_tokens
                request = replace(request, prompt=request.prompt + RETRY_NOTE, max_tokens=room)
        return _Outcome(fallback_answer(last_text, truncated=truncated), model, attempts=2)

    def _failed(self, err: BackendError, stats: InferenceStats, latency: float,
                group: str) -> _Outcome:
        stats.record_failure(self.backend.name, self.backend.model, called=True,
                             latency_seconds=latency, group=group)
        if isinstance(err, BackendUnavailableError):
            self._unavailable = self._unavailable or str(err)
            return _Outcome(error=str(err), unavailable=True)
        return _Outcome(error=str(err))

    # -- assembling -----------------------------------------------------------------------------

    def _assemble(
        self, report: Report, calls: Sequence[PreparedCall], outcomes: dict[int, _Outcome],
        stats: InferenceStats,
    ) -> Report:
        explanations: dict[str, Explanation] = {}
        by_cause: dict[str, Explanation] = {}
        errors: list[RunError] = []
        unavailable: list[str] = []
        for index, call in enumerate(calls):
            outcome = outcomes[index]
            if outcome.answer is None:
                if outcome.unavailable:
                    unavailable.append(outcome.error or "")
                else:
                    errors.append(RunError("explain", call.cause.subject,
                                           outcome.error or "no answer"))
                continue
            explanation = self._explanation(outcome, call.cause)
            by_cause[call.cause.id] = explanation
            for finding in call.cause.findings:
                explanations[finding.id] = explanation
        if unavailable:
            count = len(unavailable)
            errors.insert(0, RunError(
                "explain", f"{self.backend.name}/{self.backend.model}",
                f"{unavailable[0]} ({count} of {len(calls)} root cause"
                f"{'s' if len(calls) != 1 else ''} not explained)",
            ))
        findings = [
            replace(f, explanation=explanations[f.id]) if f.id in explanations else f
            for f in report.findings
        ]
        by_id = {f.id: f for f in findings}
        causes = [
            replace(call.cause.with_findings(by_id),
                    explanation=by_cause.get(call.cause.id, call.cause.explanation))
            for call in calls
        ]
        return replace(
            report,
            findings=findings,
            root_causes=causes,
            errors=[*report.errors, *errors],
            extra_metadata={**report.extra_metadata, "inference": stats.to_dict()},
        )

    def _explanation(self, outcome: _Outcome, cause: RootCause) -> Explanation:
        answer = outcome.answer
        assert answer is not None
        if self.anonymizer is not None:
            answer = answer.map_text(self.anonymizer.restore)
        return Explanation(
            summary=answer.summary,
            root_cause=answer.root_cause,
            steps=answer.steps,
            backend=self.backend.name,
            model=outcome.model or self.backend.model,
            cached=outcome.cached,
            commands=answer.commands,
            confidence=answer.confidence,
            truncated=answer.truncated,
            group=cause.id,
            structured=answer.structured,
            attempts=outcome.attempts,
        )


def render_prompts(calls: Sequence[PreparedCall]) -> str:
    """What ``--show-prompt`` prints: every request exactly as it would be sent."""
    parts = []
    for number, call in enumerate(calls, 1):
        count = len(call.cause.findings)
        parts.append(
            f"===== request {number} of {len(calls)}: {call.cause.reason}, "
            f"{count} finding{'s' if count != 1 else ''} =====\n"
            f"----- system -----\n{call.request.system}"
            f"----- user -----\n{call.request.prompt}"
        )
    return "\n".join(parts)


def causes_of(report: Report, state: ClusterState) -> Sequence[RootCause]:
    """The report's root causes; built from its findings when it was assembled without them."""
    if report.root_causes or not report.findings:
        return report.root_causes
    return root_causes(report.findings, state)


def _keep_longer(text: str, truncated: bool, raw: BackendAnswer) -> tuple[str, bool]:
    """The more informative of two invalid answers, to show as text."""
    return (raw.text, raw.truncated) if len(raw.text.strip()) >= len(text.strip()) else (
        text, truncated)
