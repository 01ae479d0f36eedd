"""Per-contender figures from its trials: accuracy with a Wilson 95% interval, pass^N over
repeats, the rates of each check, latency percentiles, tokens, throughput and cost.

Throughput is completion tokens per second of end-to-end call time (prompt processing
included), since that is what a user waits for. Cost comes from the config's price table; a
model without a price costs nothing on a local server and is unknown (None) on a hosted one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from k8sdoctor.eval.runner import Trial
from k8sdoctor.explain.config import Price

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Summary:
    trials: int
    scenarios: int
    repeat: int
    correct: int
    accuracy: float
    interval: tuple[float, float]
    """Wilson score interval (95%) of the accuracy."""
    pass_all: float
    """pass^N: the share of scenarios answered correctly in every one of the N repeats."""
    valid: float
    root_cause: float
    remediation: float
    hallucinating: int
    """Trials whose answer invented a name or a flag."""
    failed: int
    """Trials with no explanation at all (the call failed)."""
    second_tries: int
    free_text: int
    retries: int
    latency_p50: float | None
    latency_p95: float | None
    prompt_tokens: int | None
    completion_tokens: int | None
    tokens_per_second: float | None
    cost: float | None
    judge: float | None
    """The judge's mean score, when one was asked."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "trials": self.trials, "scenarios": self.scenarios, "repeat": self.repeat,
            "correct": self.correct, "accuracy": round(self.accuracy, 4),
            "accuracyInterval": [round(self.interval[0], 4), round(self.interval[1], 4)],
            "passAll": round(self.pass_all, 4), "valid": round(self.valid, 4),
            "rootCause": round(self.root_cause, 4), "remediation": round(self.remediation, 4),
            "hallucinating": self.hallucinating, "failed": self.failed,
            "secondTries": self.second_tries, "freeText": self.free_text,
            "retries": self.retries,
            "latencySeconds": ({"p50": _round(self.latency_p50), "p95": _round(self.latency_p95)}
                               if self.latency_p50 is not None else None),
            "promptTokens": self.prompt_tokens, "completionTokens": self.completion_tokens,
            "tokensPerSecond": _round(self.tokens_per_second, 1),
            "costUSD": None if self.cost is None else round(self.cost, 6),
            "judgeScore": _round(self.judge),
        }


def summarize(trials: Sequence[Trial], repeat: int, price: Price | None,
              free: bool) -> Summary:
    """``free``: a model without a price costs nothing (a local server)."""
    count = len(trials)
    correct = sum(t.score.correct for t in trials)
    by_scenario: dict[str, list[bool]] = defaultdict(list)
    for trial in trials:
        by_scenario[trial.scenario].append(trial.score.correct)
    latencies = sorted(t.latency_seconds for t in trials if t.latency_seconds is not None)
    prompt = _total(t.prompt_tokens for t in trials)
    completion = _total(t.completion_tokens for t in trials)
    verdicts = [t.judge.score for t in trials if t.judge is not None and t.judge.score is not None]
    if price is not None:
        cost: float | None = price.cost(prompt or 0, completion or 0)
    else:
        cost = 0.0 if free else None
    return Summary(
        trials=count,
        scenarios=len(by_scenario),
        repeat=repeat,
        correct=correct,
        accuracy=correct / count if count else 0.0,
        interval=wilson(correct, count),
        pass_all=(sum(all(runs) for runs in by_scenario.values()) / len(by_scenario)
                  if by_scenario else 0.0),
        valid=_share(trials, lambda t: t.score.valid),
        root_cause=_share(trials, lambda t: t.score.root_cause),
        remediation=_share(trials, lambda t: t.score.remediation),
        hallucinating=sum(bool(t.score.hallucinated) for t in trials),
        failed=sum(t.explanation is None for t in trials),
        second_tries=sum(t.attempts > 1 for t in trials),
        free_text=sum(t.explanation is not None and not t.explanation.structured
                      for t in trials),
        retries=sum(t.retries for t in trials),
        latency_p50=percentile(latencies, 0.5),
        latency_p95=percentile(latencies, 0.95),
        prompt_tokens=prompt,
        completion_tokens=completion,
        tokens_per_second=(completion / sum(latencies)
                           if completion and latencies and sum(latencies) > 0 else None),
        cost=cost,
        judge=sum(verdicts) / len(verdicts) if verdicts else None,
    )


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 1) for no trials."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    center = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, center - half), min(1.0, center + half))


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile of sorted values, interpolated linearly between ranks."""
    if not ordered:
        return None
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _share(trials: Sequence[Trial], test: Any) -> float:
    return sum(bool(test(t)) for t in trials) / len(trials) if trials else 0.0


def _total(values: Any) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
