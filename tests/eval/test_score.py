"""Judge-free scoring: the kubectl command reader, the word and name checks, and the figures
per model (Wilson interval, percentiles, pass^N, cost)."""

from __future__ import annotations

import pytest

from k8sdoctor.analysis.finding import Explanation
from k8sdoctor.eval.judge import parse_verdict
from k8sdoctor.eval.kubectl import parse_kubectl
from k8sdoctor.eval.runner import Trial
from k8sdoctor.eval.scenario import load_scenarios
from k8sdoctor.eval.score import FAILED, score
from k8sdoctor.eval.summary import percentile, summarize, wilson
from k8sdoctor.explain.config import Price

from .answers import inventing_answer, perfect_answer

[CONFIGMAP] = load_scenarios(only=["missing-configmap"])
NAMES = {"checkout", "checkout-config", "shop", "web", "web-config", "kube-system"}
EVIDENCE = 'Pod shop/checkout-abc: configmap "checkout-config" not found'


def explanation(answer: dict, *, structured: bool = True) -> Explanation:
    return Explanation(summary=answer["summary"], root_cause=answer["rootCause"],
                       steps=tuple(answer["steps"]), commands=tuple(answer["commands"]),
                       backend="openai", model="m", structured=structured)


@pytest.mark.parametrize(("text", "names", "namespaces"), [
    ("kubectl describe deployment checkout -n shop", ("checkout",), ("shop",)),
    ("kubectl get deploy/checkout pod/web-1 --namespace=shop -o yaml",
     ("checkout", "web-1"), ("shop",)),
    ("kubectl logs checkout-abc -c app --previous -n shop", ("checkout-abc",), ("shop",)),
    ("kubectl rollout undo deployment/checkout -n shop", ("checkout",), ("shop",)),
    ("kubectl set image deployment/catalog app=registry/x:1 -n shop", ("catalog",), ("shop",)),
    ("kubectl create configmap checkout-config --from-literal=A=b -n shop", (), ("shop",)),
    ("kubectl drain ip-10-0-2-201 --ignore-daemonsets --delete-emptydir-data", ("ip-10-0-2-201",),
     ()),
    ("$ kubectl get pods -nshop | grep checkout", (), ("shop",)),
    ("kubectl exec -it web-1 -n shop -- sh -c 'env'", ("web-1",), ("shop",)),
])
def test_kubectl_commands_are_read_like_kubectl(text: str, names: tuple, namespaces: tuple) -> None:
    command = parse_kubectl(text)
    assert command.ok, command.problem
    assert (command.names, command.namespaces) == (names, namespaces)


@pytest.mark.parametrize(("text", "problem"), [
    ("kubectl restart deployment checkout", "unknown verb 'restart'"),
    ("kubectl get pods --show-everything", "unknown flag --show-everything"),
    ("kubectl rollout redo deployment/x", "unknown sub-command rollout 'redo'"),
    ("kubectl describe pod 'checkout", "does not parse"),
    ("helm upgrade shop ./chart", "not a kubectl command"),
])
def test_commands_that_would_not_run_say_why(text: str, problem: str) -> None:
    command = parse_kubectl(text)
    assert not command.ok and problem in command.problem


def test_placeholders_are_not_names() -> None:
    command = parse_kubectl("kubectl logs <pod-name> -n $NAMESPACE")
    assert command.names == () and command.placeholders == ("<pod-name>", "$NAMESPACE")


def test_the_perfect_answer_is_correct() -> None:
    result = score(explanation(perfect_answer(CONFIGMAP)), CONFIGMAP, NAMES, EVIDENCE)
    assert result.correct and result.missing == () and result.hallucinated == ()


def test_an_invented_pod_is_hallucinated_in_text_and_command() -> None:
    result = score(explanation(inventing_answer(CONFIGMAP)), CONFIGMAP, NAMES, EVIDENCE)
    assert result.root_cause and not result.remediation and not result.correct
    assert result.hallucinated == ("checkout-7f9c4d5b8-zq2xw",)


def test_names_only_in_the_prompt_are_grounded() -> None:
    answer = perfect_answer(CONFIGMAP)
    answer["steps"].append("The pod checkout-abc cannot start.")
    assert score(explanation(answer), CONFIGMAP, NAMES, EVIDENCE).correct


def test_an_invented_namespace_and_flag_are_hallucinated() -> None:
    answer = perfect_answer(CONFIGMAP)
    answer["commands"] = ["kubectl describe deployment checkout -n production",
                          "kubectl get pods --force-restart"]
    result = score(explanation(answer), CONFIGMAP, NAMES, EVIDENCE)
    assert result.hallucinated == ("production", "--force-restart")
    assert len(result.bad_commands) == 2


def test_missing_words_and_an_unnamed_root_are_listed() -> None:
    answer = {"summary": "Something in the cluster is broken.", "rootCause": "A config map.",
              "steps": ["Look around."], "commands": []}
    result = score(explanation(answer), CONFIGMAP, NAMES, EVIDENCE)
    assert not result.root_named and not result.root_cause and not result.remediation
    assert result.missing[0] == "root object: checkout"
    assert "rootCause: checkout-config" in result.missing
    assert any(m.startswith("remediation: create") for m in result.missing)


def test_free_text_is_never_correct_even_when_right() -> None:
    result = score(explanation(perfect_answer(CONFIGMAP), structured=False), CONFIGMAP, NAMES,
                   EVIDENCE)
    assert result.root_cause and not result.valid and not result.correct


def test_wilson_interval_and_percentiles() -> None:
    low, high = wilson(17, 17)
    assert round(low, 3) == 0.816 and high == 1.0
    low, high = wilson(0, 17)
    assert low == 0.0 and round(high, 3) == 0.184
    assert wilson(0, 0) == (0.0, 1.0)
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.95) == pytest.approx(3.85)
    assert percentile([], 0.5) is None


def _trial(scenario: str, repeat: int, correct: bool, latency: float = 1.0) -> Trial:
    result = score(explanation(perfect_answer(CONFIGMAP)), CONFIGMAP, NAMES, EVIDENCE)
    return Trial(scenario, repeat, result if correct else FAILED,
                 explanation(perfect_answer(CONFIGMAP)), latency_seconds=latency,
                 prompt_tokens=1000, completion_tokens=100, attempts=1)


def test_pass_all_counts_scenarios_right_in_every_repeat() -> None:
    trials = [_trial("a", 1, True), _trial("a", 2, True), _trial("b", 1, True),
              _trial("b", 2, False)]
    summary = summarize(trials, 2, None, free=True)
    assert (summary.accuracy, summary.pass_all, summary.cost) == (0.75, 0.5, 0.0)
    assert summary.tokens_per_second == pytest.approx(100.0)


def test_cost_comes_from_the_price_table_or_is_unknown_for_a_hosted_model() -> None:
    trials = [_trial("a", 1, True)]
    assert summarize(trials, 1, Price(0.15, 0.6), free=False).cost == pytest.approx(0.00021)
    assert summarize(trials, 1, None, free=False).cost is None


@pytest.mark.parametrize(("text", "expected"), [
    ('{"score": 0.8, "reason": "right cause"}', 0.8),
    ('Sure: {"score": 1, "reason": "ok"}', 1.0),
    ('{"score": 7}', None),
    ("no idea", None),
    ('{"score": true}', None),
])
def test_judge_verdicts_are_parsed_or_refused(text: str, expected: float | None) -> None:
    assert parse_verdict(text).score == expected
