"""The structured answer asked of the model, and the parsing that checks what came back.

The model is asked for one JSON object ``{summary, rootCause, steps[], commands[], confidence}``
(``ANSWER_SCHEMA``, sent as Ollama's ``format`` and OpenAI's ``response_format``). Small models
wrap it in a Markdown fence, add a sentence before it, or write ``root_cause``; the parser takes
those in its stride but refuses an answer whose fields have the wrong types, so the stage can ask
once more and then fall back to showing the text as it came.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

CONFIDENCE_LEVELS = ("low", "medium", "high")

ANSWER_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["summary", "rootCause", "steps", "commands", "confidence"],
    "properties": {
        "summary": {"type": "string", "description": "One or two sentences: what is wrong."},
        "rootCause": {"type": "string", "description": "Why it happens."},
        "steps": {"type": "array", "items": {"type": "string"},
                  "description": "What to do, in order."},
        "commands": {"type": "array", "items": {"type": "string"},
                     "description": "kubectl commands that check or fix it."},
        "confidence": {"type": "string", "enum": list(CONFIDENCE_LEVELS)},
    },
}

FALLBACK_SUMMARY_CHARS = 2000
"""How much of an unparsable answer is shown as its summary."""

_FENCE = re.compile(r"```(?:json|JSON)?\s*(\{.*\})\s*```", re.DOTALL)
_KEYS = {
    "summary": "summary", "rootcause": "rootCause", "root_cause": "rootCause",
    "root cause": "rootCause", "steps": "steps", "commands": "commands",
    "confidence": "confidence",
}
"""The answer's keys as models write them (``Summary``, ``root_cause``), lower-cased."""


@dataclass(frozen=True)
class Answer:
    """What the model said about one group, as shown to the user."""

    summary: str
    root_cause: str = ""
    steps: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    confidence: str | None = None
    truncated: bool = False
    """The answer stopped at the max-tokens limit."""
    structured: bool = True
    """False when no valid JSON came back and ``summary`` is the model's text as it was."""

    def map_text(self, transform: Callable[[str], str]) -> Answer:
        """The same answer with ``transform`` applied to every text field."""
        return Answer(
            summary=transform(self.summary),
            root_cause=transform(self.root_cause),
            steps=tuple(transform(s) for s in self.steps),
            commands=tuple(transform(c) for c in self.commands),
            confidence=self.confidence,
            truncated=self.truncated,
            structured=self.structured,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "rootCause": self.root_cause,
            "steps": list(self.steps),
            "commands": list(self.commands),
            "confidence": self.confidence,
            "truncated": self.truncated,
            "structured": self.structured,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Answer | None:
        """The answer ``to_dict`` wrote, or None if ``data`` is not one (a damaged cache file)."""
        parsed = _validated(data)
        if parsed is None:
            return None
        return replace(parsed, truncated=bool(data.get("truncated")),
                       structured=data.get("structured", True) is not False)


def parse_answer(text: str, *, truncated: bool = False) -> Answer | None:
    """The structured answer in ``text``, or None when there is none with the right shape."""
    data = _json_object(text)
    if data is None:
        return None
    answer = _validated(data)
    if answer is None:
        return None
    return replace(answer, truncated=truncated)


def fallback_answer(text: str, *, truncated: bool = False) -> Answer:
    """An answer that could not be parsed, shown as the model wrote it."""
    summary = " ".join(text.split())
    if len(summary) > FALLBACK_SUMMARY_CHARS:
        summary, truncated = summary[:FALLBACK_SUMMARY_CHARS].rstrip() + " …", True
    return Answer(summary=summary or "(the model gave an empty answer)", truncated=truncated,
                  structured=False)


def _json_object(text: str) -> Mapping[str, Any] | None:
    candidates = [text.strip()]
    if fenced := _FENCE.search(text):
        candidates.append(fenced.group(1))
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, Mapping):
            return value
    return None


def _validated(data: Mapping[str, Any]) -> Answer | None:
    fields = {_KEYS.get(str(key).strip().lower(), str(key)): value
              for key, value in data.items()}
    summary, root_cause = fields.get("summary"), fields.get("rootCause", "")
    steps, commands = fields.get("steps", []), fields.get("commands", [])
    if not isinstance(summary, str) or not summary.strip() or not isinstance(root_cause, str):
        return None
    if not _string_list(steps) or not _string_list(commands):
        return None
    confidence = _confidence(fields.get("confidence"))
    if confidence is False:
        return None
    return Answer(
        summary=summary.strip(),
        root_cause=root_cause.strip(),
        steps=tuple(s.strip() for s in steps if s.strip()),
        commands=tuple(c.strip() for c in commands if c.strip()),
        confidence=confidence,
    )


def _string_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _confidence(value: object) -> str | bool | None:
    """A confidence level; a 0..1 number is mapped to one. False for anything else."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().lower() in CONFIDENCE_LEVELS:
        return value.strip().lower()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return CONFIDENCE_LEVELS[min(2, int(value * 3))]
    return False
