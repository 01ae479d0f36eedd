"""The explain stage: grouped calls, cache, privacy, answer checking and failure handling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from k8sdoctor.analysis.finding import Finding
from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.explain.anonymize import Anonymizer
from k8sdoctor.explain.backend import (
    BackendAnswer,
    BackendError,
    BackendUnavailableError,
    ExplainRequest,
)
from k8sdoctor.explain.cache import ExplanationCache
from k8sdoctor.explain.stage import ExplainOptions, ExplainStage, render_prompts
from k8sdoctor.report import OutputFormat, RenderOptions, render
from k8sdoctor.report.model import Report

from .conftest import identifiers, leaked
from .fakes import FakeBackend, structured_reply, text_reply

KEY = bytes(range(32))


def _report(findings: list[Finding], state: ClusterState) -> Report:
    return Report(findings=findings, errors=[], source=state.source, analyzers=["pod"])


def _stage(backend: FakeBackend, cache_dir: Path | None = None, **options) -> ExplainStage:
    return ExplainStage(
        backend,
        ExplainOptions(**options),
        cache=ExplanationCache(cache_dir) if cache_dir else None,
        anonymizer=Anonymizer(KEY),
    )


@pytest.fixture
def report(three_causes_state, three_causes_findings) -> Report:
    return _report(three_causes_findings, three_causes_state)


def test_three_causes_cost_three_calls_then_none(report, three_causes_state, tmp_path) -> None:
    backend = FakeBackend()
    first = _stage(backend, tmp_path).run(report, three_causes_state)

    assert backend.calls == 3
    assert all(f.explanation is not None for f in first.findings)
    assert len({f.explanation for f in first.findings}) == 3
    assert {f.explanation.cached for f in first.findings} == {False}
    inference = first.to_dict()["metadata"]["inference"]
    assert inference["groups"] == 3
    assert inference["backends"][0]["calls"] == 3 and inference["backends"][0]["cacheHits"] == 0

    second = _stage(backend, tmp_path).run(report, three_causes_state)

    assert backend.calls == 3
    assert {f.explanation.cached for f in second.findings} == {True}
    assert [f.explanation.summary for f in second.findings] == [
        f.explanation.summary for f in first.findings
    ]
    assert second.to_dict()["metadata"]["inference"]["backends"][0]["cacheHits"] == 3


def test_findings_and_errors_are_kept_whole(report, three_causes_state) -> None:
    explained = _stage(FakeBackend()).run(report, three_causes_state)
    assert [f.id for f in explained.findings] == [f.id for f in report.findings]
    assert explained.errors == []
    deployment = next(f for f in explained.findings if f.kind == "Deployment"
                      and f.name == "storefront")
    assert deployment.explanation is not None
    assert "CrashLoopBackOff" in deployment.explanation.summary


def test_a_hosted_backend_sees_only_tokens_and_the_user_real_names(
    report, three_causes_state, tmp_path
) -> None:
    backend = FakeBackend(hosted=True)
    explained = _stage(backend, tmp_path).run(report, three_causes_state)

    sent = "\n".join(r.system + r.prompt for r in backend.requests)
    assert leaked(identifiers(three_causes_state), sent) == set()
    assert "registry.acme-corp.example" not in sent
    stored = "\n".join(p.read_text() for p in (tmp_path / "explanations").iterdir())
    assert "name-" in stored and leaked(identifiers(three_causes_state), stored) == set()
    crash = next(f for f in explained.findings if f.reason == "CrashLoopBackOff")
    assert crash.explanation is not None
    assert "in namespace shop fails with CrashLoopBackOff" in crash.explanation.summary
    assert crash.explanation.commands[0].startswith("kubectl describe pod storefront-7d4b9c8f5-")
    assert explained.to_dict()["metadata"]["inference"]["anonymized"] is True


def test_a_local_backend_gets_real_names_unless_asked(report, three_causes_state) -> None:
    local = FakeBackend(hosted=False)
    _stage(local).run(report, three_causes_state)
    assert "shop/storefront" in local.requests[0].prompt + local.requests[-1].prompt

    forced = FakeBackend(hosted=False)
    _stage(forced, anonymize=True).run(report, three_causes_state)
    assert leaked(identifiers(three_causes_state), forced.requests[0].prompt) == set()


def test_an_invalid_answer_is_asked_again_once(report, three_causes_state, tmp_path) -> None:
    backend = FakeBackend(replies=[text_reply("Sure! The pod crashes.")], delay=0)
    explained = _stage(backend, tmp_path, concurrency=1).run(report, three_causes_state)

    assert backend.calls == 4
    assert "previous answer was not the JSON object" in backend.requests[1].prompt
    assert all(f.explanation is not None and f.explanation.root_cause
               for f in explained.findings)


def test_two_invalid_answers_fall_back_to_the_text(report, three_causes_state, tmp_path) -> None:
    backend = FakeBackend(replies=[text_reply("It is broken."),
                                   text_reply("The image cannot be pulled: no credentials.")])
    explained = _stage(backend, tmp_path, concurrency=1).run(report, three_causes_state)

    first_group = [f for f in explained.findings if f.explanation
                   and f.explanation.summary == "The image cannot be pulled: no credentials."]
    assert first_group and first_group[0].explanation.root_cause == ""
    assert backend.calls == 4

    again = FakeBackend()
    _stage(again, tmp_path).run(report, three_causes_state)
    assert again.calls == 1  # the text fallback was not cached; the valid answers were


def test_a_truncated_answer_is_marked_and_retried_with_more_room(
    report, three_causes_state
) -> None:
    cut = '{"summary": "The container exits at start because'
    backend = FakeBackend(replies=[text_reply(cut, truncated=True),
                                   text_reply(cut + " its config", truncated=True)])
    explained = _stage(backend, concurrency=1, max_tokens=256).run(report, three_causes_state)

    assert backend.requests[0].max_tokens == 256 and backend.requests[1].max_tokens == 512
    marked = [f.explanation for f in explained.findings if f.explanation.truncated]
    assert marked and marked[0].summary.startswith('{"summary": "The container exits')


def test_a_failed_call_leaves_its_group_unexplained(report, three_causes_state) -> None:
    def refuse(request: ExplainRequest) -> BackendAnswer:
        raise BackendError("HTTP 500 from http://127.0.0.1:11434/api/chat after 4 attempts")

    backend = FakeBackend(replies=[refuse])
    explained = _stage(backend, concurrency=1).run(report, three_causes_state)

    assert len(explained.findings) == len(report.findings)
    assert sum(f.explanation is None for f in explained.findings) == 12
    [error] = explained.errors
    assert error.stage == "explain" and "HTTP 500" in error.message
    assert error.subject.endswith("and 9 more")
    assert not explained.incomplete
    assert explained.to_dict()["metadata"]["inference"]["backends"][0]["failures"] == 1


def test_an_unavailable_backend_is_not_called_again(report, three_causes_state) -> None:
    def down(request: ExplainRequest) -> BackendAnswer:
        raise BackendUnavailableError("cannot reach Ollama at http://127.0.0.1:11434 "
                                      "(connection refused); start it with: ollama serve")

    backend = FakeBackend(replies=[down])
    explained = _stage(backend, concurrency=1).run(report, three_causes_state)

    assert backend.calls == 1
    [error] = explained.errors
    assert error.subject == "fake/fake-model"
    assert "ollama serve" in error.message and "(3 of 3 root causes not explained)" in (
        error.message)
    assert all(f.explanation is None for f in explained.findings)


def test_a_backend_bug_is_reported_not_raised(report, three_causes_state) -> None:
    def broken(request: ExplainRequest) -> BackendAnswer:
        raise KeyError("choices")

    explained = _stage(FakeBackend(replies=[broken]), concurrency=1).run(
        report, three_causes_state)
    assert "internal error in the fake backend: KeyError" in explained.errors[0].message


def test_calls_run_concurrently_within_the_bound(report, three_causes_state) -> None:
    backend = FakeBackend(delay=0.2)
    _stage(backend, concurrency=2).run(report, three_causes_state)
    assert backend.calls == 3
    assert backend.max_in_flight == 2


def test_language_is_part_of_the_key(report, three_causes_state, tmp_path) -> None:
    _stage(FakeBackend(), tmp_path).run(report, three_causes_state)
    german = FakeBackend()
    _stage(german, tmp_path, language="de").run(report, three_causes_state)
    assert german.calls == 3
    assert "Write every text value in German." in german.requests[0].system


def test_no_cache_calls_every_time(report, three_causes_state, tmp_path) -> None:
    _stage(FakeBackend(), tmp_path).run(report, three_causes_state)
    uncached = FakeBackend()
    _stage(uncached, tmp_path, use_cache=False).run(report, three_causes_state)
    assert uncached.calls == 3


def test_stats_sum_tokens_and_latency(report, three_causes_state) -> None:
    ticks = iter(range(100))
    backend = FakeBackend()
    stage = ExplainStage(backend, ExplainOptions(concurrency=1), clock=lambda: next(ticks) * 0.5)
    inference = stage.run(report, three_causes_state).to_dict()["metadata"]["inference"]
    [entry] = inference["backends"]
    assert entry["promptTokens"] == sum(len(r.prompt) // 4 for r in backend.requests)
    assert entry["completionTokens"] == 180
    assert entry["latencySeconds"] == {"p50": 0.5, "max": 0.5}



def test_every_call_is_listed_with_its_group_and_figures(
    report, three_causes_state, tmp_path
) -> None:
    backend = FakeBackend(replies=[text_reply("Sure! The pod crashes.")])
    stage = _stage(backend, tmp_path, concurrency=1)
    explained = stage.run(report, three_causes_state)
    calls = explained.to_dict()["metadata"]["inference"]["calls"]
    groups = {f.explanation.group for f in explained.findings if f.explanation}

    assert [c["outcome"] for c in calls] == ["invalid", "answer", "answer", "answer"]
    assert calls[0]["group"] == calls[1]["group"] and {c["group"] for c in calls} == groups
    assert calls[1]["promptTokens"] == len(backend.requests[1].prompt) // 4
    assert all(c["mode"] == "json_schema" for c in calls[1:]) and calls[0]["mode"] == "text"
    retried = [f.explanation for f in explained.findings
               if f.explanation and f.explanation.group == calls[0]["group"]]
    assert retried[0].attempts == 2 and retried[0].structured
    assert {f.explanation.attempts for f in explained.findings
            if f.explanation and f.explanation.group != calls[0]["group"]} == {1}

    again = stage.run(report, three_causes_state)
    hits = again.to_dict()["metadata"]["inference"]["calls"]
    assert [c["outcome"] for c in hits] == ["cached"] * 3
    assert all(f.explanation.cached and f.explanation.attempts == 0
               for f in again.findings if f.explanation)


def test_a_free_text_explanation_says_so(report, three_causes_state) -> None:
    backend = FakeBackend(replies=[text_reply("It is broken."), text_reply("Still broken.")])
    explained = _stage(backend, concurrency=1).run(report, three_causes_state)
    fallen = [f.explanation for f in explained.findings
              if f.explanation and not f.explanation.structured]
    assert fallen and fallen[0].summary == "Still broken." and fallen[0].attempts == 2
    text = render(explained, OutputFormat.TEXT, RenderOptions(color=False, width=100))
    assert "free text: the model never gave the structured answer" in text
    markdown = render(explained, OutputFormat.MARKDOWN, RenderOptions())
    assert "Free text: the model never gave the structured answer" in markdown


class Logs:
    """A log source (what the live source offers) with a secret in its output."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, str, int]] = []

    def previous_logs(
        self, namespace: str, pod: str, container: str, lines: int = 50
    ) -> list[str]:
        self.asked.append((namespace, pod, container, lines))
        return [f"connecting to postgres://app:s3cr3t@{pod}.db.{namespace}.svc:5432",
                "Traceback (most recent call last):", "KeyError: 'DATABASE_URL'"]


def test_logs_are_fetched_once_per_group_redacted_and_anonymized(
    report, three_causes_state
) -> None:
    logs = Logs()
    backend = FakeBackend(hosted=True)
    stage = ExplainStage(backend, ExplainOptions(with_logs=True), anonymizer=Anonymizer(KEY),
                         log_reader=logs)
    stage.run(report, three_causes_state)

    assert [(ns, container) for ns, _, container, _ in logs.asked] == [("shop", "storefront")]
    crash = next(r.prompt for r in backend.requests if "CrashLoopBackOff" in r.prompt)
    assert "KeyError: 'DATABASE_URL'" in crash and "s3cr3t" not in crash
    assert "[REDACTED:password]" in crash
    assert leaked(identifiers(three_causes_state), crash) == set()
    pull = next(r.prompt for r in backend.requests if "ImagePullBackOff" in r.prompt)
    assert "No pod of this group has a crashed previous container instance" in pull


def test_with_logs_on_a_snapshot_says_there_are_none(report, three_causes_state) -> None:
    backend = FakeBackend()
    _stage(backend, with_logs=True).run(report, three_causes_state)
    assert all("snapshots hold no logs" in r.prompt for r in backend.requests)


def test_show_prompt_renders_exactly_what_is_sent(report, three_causes_state) -> None:
    stage = _stage(FakeBackend(hosted=True))
    calls = stage.prepare(report, three_causes_state)
    shown = render_prompts(calls)
    assert shown.count("===== request ") == 3
    for call in calls:
        assert call.request.system in shown and call.request.prompt in shown
    assert leaked(identifiers(three_causes_state), shown) == set()


def test_the_report_with_explanations_is_valid_json(report, three_causes_state) -> None:
    explained = _stage(FakeBackend(replies=[lambda r: structured_reply(r, model="m:1")])).run(
        report, three_causes_state)
    data = json.loads(json.dumps(explained.to_dict()))
    models = {f["explanation"]["model"] for f in data["findings"]}
    assert models == {"m:1", "fake-model"}


def test_explanations_land_on_the_root_causes_and_their_findings(
    three_causes_state, three_causes_findings
) -> None:
    from k8sdoctor.analysis.causes import root_causes

    causes = root_causes(three_causes_findings, three_causes_state)
    report = Report(findings=three_causes_findings, errors=[], source="fixture",
                    analyzers=["pod"], root_causes=causes)
    backend = FakeBackend()
    explained = _stage(backend).run(report, three_causes_state)

    assert backend.calls == len(causes) == 3
    assert [c.id for c in explained.root_causes] == [c.id for c in causes]
    for cause in explained.root_causes:
        assert cause.explanation is not None and cause.explanation.group == cause.id
        assert {f.explanation for f in cause.findings} == {cause.explanation}
    by_id = {f.id: f.explanation for f in explained.findings}
    assert all(by_id[f.id] == c.explanation for c in explained.root_causes for f in c.findings)
    document = explained.to_dict()
    assert all(c["explanation"]["group"] == c["id"] for c in document["rootCauses"])
