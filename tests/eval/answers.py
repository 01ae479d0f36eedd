"""Canned answers for the eval tests, built from the scenarios' ground truth: a perfect answer
(the root object, the first alternative of every expected word, a kubectl command naming the
root), one that names a pod that does not exist, and garbage. ``scenario_in`` finds which
scenario a prompt is about, so an answering server knows what to say."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from k8sdoctor.eval.scenario import Scenario


def scenario_in(prompt: str, scenarios: Sequence[Scenario]) -> Scenario:
    """The scenario whose root object the prompt names, or names the start of (a Job's pod
    ``finetune-llm-mbsqq``); the longest name wins."""
    named = [s for s in scenarios
             if re.search(rf"(?<![\w-]){re.escape(s.root.name)}(?![\w])", prompt)]
    if not named:
        raise LookupError("no scenario's root object is in the prompt")
    return max(named, key=lambda s: len(s.root.name))


def describe_command(scenario: Scenario) -> str:
    root = scenario.root
    namespace = f" -n {root.namespace}" if root.namespace else ""
    return f"kubectl describe {root.kind.lower()} {root.name}{namespace}"


def perfect_answer(scenario: Scenario) -> dict:
    root = scenario.root
    cause = ", ".join(words[0] for words in scenario.root_cause)
    return {
        "summary": f"{root.kind} {root.name} is broken: {cause}.",
        "rootCause": f"The root cause: {cause}.",
        "steps": ["Fix it: " + ", ".join(words[0] for words in scenario.remediation) + "."],
        "commands": [describe_command(scenario)],
        "confidence": "high",
    }


def inventing_answer(scenario: Scenario) -> dict:
    """Right in every word, but it sends the user to a pod that does not exist."""
    answer = perfect_answer(scenario)
    namespace = scenario.root.namespace or "default"
    answer["steps"].append("Read the logs of pod checkout-7f9c4d5b8-zq2xw.")
    answer["commands"].append(f"kubectl logs checkout-7f9c4d5b8-zq2xw -n {namespace}")
    return answer


GARBAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def as_text(answer: dict) -> str:
    return json.dumps(answer)
