"""Parsing the model's structured answer, leniently in form and strictly in types."""

from __future__ import annotations

import json

import pytest

from k8sdoctor.explain.answer import (
    ANSWER_SCHEMA,
    FALLBACK_SUMMARY_CHARS,
    Answer,
    fallback_answer,
    parse_answer,
)

GOOD = {
    "summary": "The pods cannot pull their image.",
    "rootCause": "The registry refuses anonymous pulls.",
    "steps": ["Create an image pull Secret", "Reference it in the pod spec"],
    "commands": ["kubectl create secret docker-registry regcred -n billing ..."],
    "confidence": "high",
}


def test_a_valid_answer_parses() -> None:
    answer = parse_answer(json.dumps(GOOD))
    assert answer == Answer(
        summary=GOOD["summary"], root_cause=GOOD["rootCause"], steps=tuple(GOOD["steps"]),
        commands=tuple(GOOD["commands"]), confidence="high",
    )


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + json.dumps(GOOD, indent=2) + "\n```",
        "Here is the analysis:\n" + json.dumps(GOOD) + "\nHope this helps.",
        json.dumps({**{k: v for k, v in GOOD.items() if k != "rootCause"},
                    "root_cause": GOOD["rootCause"]}),
        json.dumps({key[0].upper() + key[1:]: value for key, value in GOOD.items()}),
    ],
)
def test_common_wrappings_are_accepted(text: str) -> None:
    answer = parse_answer(text)
    assert answer is not None and answer.root_cause == GOOD["rootCause"]


@pytest.mark.parametrize(
    "text",
    [
        "The pods cannot pull their image because the registry wants credentials.",
        '{"summary": "cut off in the midd',
        json.dumps({**GOOD, "summary": ""}),
        json.dumps({**GOOD, "steps": "do this, then that"}),
        json.dumps({**GOOD, "commands": [1, 2]}),
        json.dumps({**GOOD, "confidence": "very"}),
        json.dumps({"answer": GOOD["summary"]}),
    ],
)
def test_wrong_shapes_are_refused(text: str) -> None:
    assert parse_answer(text) is None


@pytest.mark.parametrize(("given", "level"), [(0.9, "high"), (0.5, "medium"), (0.1, "low"),
                                              ("High", "high"), (None, None)])
def test_confidence_is_normalised(given: object, level: str | None) -> None:
    answer = parse_answer(json.dumps({**GOOD, "confidence": given}))
    assert answer is not None and answer.confidence == level


def test_missing_optional_fields_default() -> None:
    answer = parse_answer(json.dumps({"summary": "s", "rootCause": "r", "steps": ["a"]}))
    assert answer is not None and answer.commands == () and answer.confidence is None


def test_truncation_is_carried() -> None:
    answer = parse_answer(json.dumps(GOOD), truncated=True)
    assert answer is not None and answer.truncated


def test_fallback_shows_the_text_and_marks_long_ones_truncated() -> None:
    short = fallback_answer("  The image\n cannot be pulled. ")
    assert short == Answer(summary="The image cannot be pulled.", structured=False)
    long = fallback_answer("word " * FALLBACK_SUMMARY_CHARS)
    assert long.truncated and len(long.summary) <= FALLBACK_SUMMARY_CHARS + 2
    assert fallback_answer("").summary


def test_round_trip_through_a_dict() -> None:
    answer = parse_answer(json.dumps(GOOD), truncated=True)
    assert answer is not None
    assert Answer.from_dict(answer.to_dict()) == answer


def test_the_schema_requires_every_field_for_strict_structured_outputs() -> None:
    assert set(ANSWER_SCHEMA["required"]) == set(ANSWER_SCHEMA["properties"])
    assert ANSWER_SCHEMA["additionalProperties"] is False
