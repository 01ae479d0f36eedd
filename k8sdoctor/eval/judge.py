"""An optional LLM-as-judge (``eval --judge BACKEND``), reported apart from the scores.

The judge model sees the scenario's description, its ground-truth root object and the answer
being judged, and gives a score from 0 to 1 with a one-line reason, as structured JSON through
the same backends the explain stage uses. Its verdict never changes whether an answer counts as
correct: the word and name checks do that, the judge only adds a second opinion. A judge call
that fails or answers garbage is a verdict of ``None`` with the reason, never a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis.finding import Explanation
from k8sdoctor.eval.scenario import Scenario
from k8sdoctor.explain.backend import Backend, BackendError, ExplainRequest

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["score", "reason"],
    "properties": {
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string"},
    },
}
SYSTEM = (
    "You grade answers of a Kubernetes troubleshooting assistant. You are given what is really "
    "broken in a cluster and the assistant's explanation. Give a score from 0 (wrong or "
    "useless) to 1 (the right root cause and a fix that would work), and one sentence of "
    'reason. Answer with JSON only: {"score": <number>, "reason": <string>}.'
)


@dataclass(frozen=True)
class Verdict:
    score: float | None
    """0..1, or None when the judge gave no usable verdict."""
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "reason": self.reason}


class Judge:
    def __init__(self, backend: Backend, max_tokens: int = 256) -> None:
        self.backend = backend
        self.max_tokens = max_tokens

    @property
    def label(self) -> str:
        return f"{self.backend.name}/{self.backend.model}"

    def judge(self, scenario: Scenario, explanation: Explanation) -> Verdict:
        answer = {"summary": explanation.summary, "rootCause": explanation.root_cause,
                  "steps": list(explanation.steps), "commands": list(explanation.commands)}
        prompt = (f"What is really broken: {scenario.description}\n"
                  f"The object at the root of it: {scenario.root}\n\n"
                  f"The assistant's explanation:\n{json.dumps(answer, indent=2)}\n")
        request = ExplainRequest(system=SYSTEM, prompt=prompt, schema=VERDICT_SCHEMA,
                                 max_tokens=self.max_tokens, temperature=0.0)
        try:
            reply = self.backend.complete(request)
        except BackendError as err:
            return Verdict(None, f"the judge failed: {err}")
        return parse_verdict(reply.text)


def parse_verdict(text: str) -> Verdict:
    start, end = text.find("{"), text.rfind("}")
    try:
        data = json.loads(text[start:end + 1]) if 0 <= start < end else None
    except ValueError:
        data = None
    score = data.get("score") if isinstance(data, dict) else None
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not 0 <= score <= 1:
        sample = " ".join(text.split())[:80]
        return Verdict(None, f"the judge gave no score: {sample!r}")
    reason = data.get("reason")
    return Verdict(float(score), reason.strip() if isinstance(reason, str) else "")
