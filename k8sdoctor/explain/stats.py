"""Inference observability: what the explain stage cost, per backend and model.

Counts the calls made (an answer and its one retry on an invalid answer are two calls; the
backend's own retries on 429 and 5xx are counted apart), cache hits, failures, prompt and
completion tokens as the server reported them, and latency (p50 and max). The totals go into the
report's metadata as ``inference``, which the text report sums up in one line per backend and
model; ``inference.calls`` lists every call and cache hit on its own (the group it explained,
latency, tokens, retries, whether the answer was valid), which is what ``k8sdoctor eval``
aggregates. Safe to update from the stage's worker threads.
"""

from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass, field
from typing import Any

from k8sdoctor.explain.backend import BackendAnswer


@dataclass
class _Tally:
    calls: int = 0
    cache_hits: int = 0
    failures: int = 0
    retries: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latencies: list[float] = field(default_factory=list)

    def to_dict(self, backend: str, model: str) -> dict[str, Any]:
        return {
            "backend": backend,
            "model": model,
            "calls": self.calls,
            "cacheHits": self.cache_hits,
            "failures": self.failures,
            "retries": self.retries,
            "promptTokens": self.prompt_tokens,
            "completionTokens": self.completion_tokens,
            "latencySeconds": (
                {"p50": round(statistics.median(self.latencies), 3),
                 "max": round(max(self.latencies), 3)}
                if self.latencies else None
            ),
        }


class InferenceStats:
    """Running totals of one explain stage."""

    def __init__(self, *, groups: int = 0, anonymized: bool = False) -> None:
        self.groups = groups
        self.anonymized = anonymized
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record_call(self, backend: str, model: str, answer: BackendAnswer,
                    latency_seconds: float, *, group: str = "", valid: bool = True) -> None:
        """One answer came back; ``valid`` when it was the structured answer asked for."""
        with self._lock:
            self._calls.append({
                "group": group, "backend": backend, "model": answer.model or model,
                "outcome": "answer" if valid else "invalid", "cached": False,
                "latencySeconds": round(latency_seconds, 3),
                "promptTokens": answer.prompt_tokens,
                "completionTokens": answer.completion_tokens,
                "retries": answer.retries, "mode": answer.mode,
                "truncated": answer.truncated,
            })
            tally = self._tally(backend, model)
            tally.calls += 1
            tally.latencies.append(latency_seconds)
            tally.retries += answer.retries
            if answer.prompt_tokens is not None:
                tally.prompt_tokens = (tally.prompt_tokens or 0) + answer.prompt_tokens
            if answer.completion_tokens is not None:
                tally.completion_tokens = (tally.completion_tokens or 0) + answer.completion_tokens

    def record_cache_hit(self, backend: str, model: str, *, group: str = "") -> None:
        with self._lock:
            self._calls.append(_no_call(group, backend, model, "cached"))
            self._tally(backend, model).cache_hits += 1

    def record_failure(self, backend: str, model: str, *, called: bool,
                       latency_seconds: float = 0.0, group: str = "") -> None:
        """A group left unexplained; ``called`` when a request was actually sent."""
        with self._lock:
            entry = _no_call(group, backend, model, "failed" if called else "skipped")
            if called:
                entry["latencySeconds"] = round(latency_seconds, 3)
            self._calls.append(entry)
            tally = self._tally(backend, model)
            tally.failures += 1
            if called:
                tally.calls += 1
                tally.latencies.append(latency_seconds)

    @property
    def calls(self) -> int:
        return sum(t.calls for t in self._tallies.values())

    @property
    def cache_hits(self) -> int:
        return sum(t.cache_hits for t in self._tallies.values())

    def to_dict(self) -> dict[str, Any]:
        """The report's ``metadata.inference``."""
        return {
            "groups": self.groups,
            "anonymized": self.anonymized,
            "backends": [tally.to_dict(backend, model)
                         for (backend, model), tally in sorted(self._tallies.items())],
            "calls": [dict(call) for call in self._calls],
        }

    def _tally(self, backend: str, model: str) -> _Tally:
        return self._tallies.setdefault((backend, model), _Tally())


def _no_call(group: str, backend: str, model: str, outcome: str) -> dict[str, Any]:
    """A call entry for a cache hit (``cached``), a failed call (``failed``) or a group not sent
    because the backend had already proved unavailable (``skipped``)."""
    return {"group": group, "backend": backend, "model": model, "outcome": outcome,
            "cached": outcome == "cached", "latencySeconds": None, "promptTokens": None,
            "completionTokens": None, "retries": 0, "mode": None, "truncated": False}
