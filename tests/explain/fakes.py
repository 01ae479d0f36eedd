"""A small in-process LLM backend for the explain tests: a real class implementing ``Backend``.

It answers every request with a valid structured answer that quotes the first object and
namespace identifiers of the prompt (so tests can check that tokens come back as real names),
unless a test scripts other replies. Every request is kept, and concurrent calls are counted.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from k8sdoctor.explain.backend import BackendAnswer, BackendStatus, ExplainRequest

Reply = Callable[[ExplainRequest], BackendAnswer]

_OBJECT = re.compile(r"^  - (?P<kind>\w+) (?P<namespace>[^/\s]+)/(?P<name>\S+)$", re.MULTILINE)


def structured_reply(request: ExplainRequest, *, model: str = "fake-model") -> BackendAnswer:
    """A valid answer naming the first affected object as the prompt wrote it."""
    match = _OBJECT.search(request.prompt)
    obj = f"{match['kind']} {match['name']} in namespace {match['namespace']}" if match else "?"
    reason = re.search(r"^- Reason: (\S+)$", request.prompt, re.MULTILINE)
    answer = {
        "summary": f"{obj} fails with {reason.group(1) if reason else '?'}.",
        "rootCause": f"The cause is visible in the events of {obj}.",
        "steps": ["Read the events", "Fix the pod template"],
        "commands": [f"kubectl describe pod {match['name']} -n {match['namespace']}"
                     if match else "kubectl get pods -A"],
        "confidence": "medium",
    }
    return BackendAnswer(text=json.dumps(answer), model=model, mode="json_schema",
                         prompt_tokens=len(request.prompt) // 4, completion_tokens=60,
                         latency_seconds=0.01)


def text_reply(text: str, *, truncated: bool = False) -> Reply:
    return lambda request: BackendAnswer(text=text, model="fake-model", mode="text",
                                         truncated=truncated)


@dataclass
class FakeBackend:
    """Implements ``k8sdoctor.explain.backend.Backend`` in memory."""

    name: str = "fake"
    model: str = "fake-model"
    hosted: bool = False
    parallel_calls: int = 4
    replies: list[Reply] = field(default_factory=list)
    """Used in order, one per call; when they run out, ``structured_reply``."""
    delay: float = 0.0
    requests: list[ExplainRequest] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def complete(self, request: ExplainRequest) -> BackendAnswer:
        with self._lock:
            self.requests.append(request)
            reply = self.replies.pop(0) if self.replies else structured_reply
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            return reply(request)
        finally:
            with self._lock:
                self._in_flight -= 1

    def check(self) -> BackendStatus:
        return BackendStatus(True, True, "fake backend answers")

    @property
    def calls(self) -> int:
        return len(self.requests)
