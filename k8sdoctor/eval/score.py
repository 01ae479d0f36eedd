"""Scoring one explanation against a scenario's ground truth, without any judge model.

- **valid**: the model gave the structured answer asked for (not free text after a second try).
- **root cause**: the root object is named and every ``rootCause`` entry is matched (one of its
  alternatives, case-insensitive) in the summary and root cause.
- **remediation**: every ``remediation`` entry is matched in the steps and commands, and every
  ``kubectl`` command parses and names only objects and namespaces that exist.
- **hallucinated**: names the answer gives that exist nowhere in the evidence - not in the
  cluster (objects, namespaces, containers) and not in the prompt - and kubectl flags that do not
  exist. Names are read from commands and from ``kind name`` / ``kind/name`` in the text.

An explanation is **correct** when it is valid, its root cause and remediation are right, and it
invents nothing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis.finding import Explanation
from k8sdoctor.eval.kubectl import parse_kubectl
from k8sdoctor.eval.scenario import Scenario

KIND_WORDS = (
    "pods?", "deployments?", "deploy", "services?", "svc", "configmaps?", "cm", "secrets?",
    "nodes?", "jobs?", "cronjobs?", "namespaces?", "ns", "statefulsets?", "sts", "daemonsets?",
    "ds", "ingress(?:es)?", "persistentvolumeclaims?", "pvc", "persistentvolumes?", "pv",
    "replicasets?", "rs", "horizontalpodautoscalers?", "hpa", "networkpolicy", "networkpolicies",
    "resourcequotas?", "quota", "storageclass(?:es)?", "serviceaccounts?", "sa",
)
_NAMED_IN_TEXT = re.compile(
    r"\b(?:" + "|".join(KIND_WORDS) + r")(?:/|\s+(?:named\s+|called\s+)?)"
    r"[`'\"]?([A-Za-z0-9][A-Za-z0-9.-]*[A-Za-z0-9])[`'\"]?", re.IGNORECASE)
_LOOKS_LIKE_NAME = re.compile(r"[a-z].*[-.0-9]|[-.0-9].*[a-z]")
_CLUSTER_WORDS = frozenset({"kube-system", "kube-public", "kube-node-lease", "default"})


@dataclass(frozen=True)
class Score:
    valid: bool
    root_named: bool
    root_cause: bool
    remediation: bool
    hallucinated: tuple[str, ...] = ()
    bad_commands: tuple[str, ...] = ()
    """Commands that do not parse or name what does not exist, with the reason."""
    missing: tuple[str, ...] = ()
    """Ground-truth entries the answer did not match (``rootCause: configmap|config map``)."""

    @property
    def correct(self) -> bool:
        return (self.valid and self.root_cause and self.remediation
                and not self.hallucinated)

    def to_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, "valid": self.valid, "rootNamed": self.root_named,
                "rootCause": self.root_cause, "remediation": self.remediation,
                "hallucinated": list(self.hallucinated), "badCommands": list(self.bad_commands),
                "missing": list(self.missing)}


FAILED = Score(valid=False, root_named=False, root_cause=False, remediation=False)
"""No explanation at all (the call failed)."""


def known_names(state_objects: Iterable[dict[str, Any]]) -> set[str]:
    """Every name an answer may use: objects, namespaces, containers, and label values."""
    names: set[str] = set(_CLUSTER_WORDS)
    for obj in state_objects:
        meta = obj.get("metadata") or {}
        names.add(meta.get("name", ""))
        if meta.get("namespace"):
            names.add(meta["namespace"])
        names.update(str(v) for v in (meta.get("labels") or {}).values())
        spec = obj.get("spec") or {}
        template = ((spec.get("template") or {}).get("spec") or {}) or spec
        for key in ("containers", "initContainers"):
            names.update(c.get("name", "") for c in template.get(key) or ())
    names.discard("")
    return names


def score(explanation: Explanation, scenario: Scenario, names: Collection[str],
          evidence: str) -> Score:
    """``explanation`` judged against ``scenario``; ``names`` exist in the cluster and
    ``evidence`` is the prompt that was sent (names only mentioned there are grounded too)."""
    cause_text = f"{explanation.summary}\n{explanation.root_cause}".lower()
    fix_text = "\n".join([*explanation.steps, *explanation.commands]).lower()
    everything = f"{cause_text}\n{fix_text}"
    root_named = _mentions(everything, scenario.root.name.lower())
    missing = [f"rootCause: {'|'.join(words)}" for words in scenario.root_cause
               if not any(w in cause_text for w in words)]
    cause_ok = root_named and not missing
    fix_missing = [f"remediation: {'|'.join(words)}" for words in scenario.remediation
                   if not any(w in fix_text for w in words)]
    missing += fix_missing
    if not root_named:
        missing.insert(0, f"root object: {scenario.root.name}")
    grounded = _Grounding(names, evidence)
    bad_commands, hallucinated = [], []
    for text in explanation.commands:
        command = parse_kubectl(text)
        if not command.ok:
            bad_commands.append(f"{text} ({command.problem})")
            hallucinated += [f"--{f}" for f in command.unknown_flags]
            continue
        if command.placeholders:
            bad_commands.append(f"{text} (placeholder {command.placeholders[0]})")
        invented = [n for n in (*command.names, *command.namespaces) if not grounded(n)]
        if invented:
            bad_commands.append(f"{text} (names {', '.join(invented)}, which does not exist)")
            hallucinated += invented
    for text in (explanation.summary, explanation.root_cause, *explanation.steps):
        hallucinated += [n for n in _names_in_text(text) if not grounded(n)]
    fix_ok = not fix_missing and not bad_commands and bool(
        explanation.steps or explanation.commands)
    return Score(valid=explanation.structured, root_named=root_named, root_cause=cause_ok,
                 remediation=fix_ok, hallucinated=tuple(dict.fromkeys(hallucinated)),
                 bad_commands=tuple(bad_commands), missing=tuple(missing))


class _Grounding:
    """Whether a name exists in the cluster or is at least mentioned in the evidence."""

    def __init__(self, names: Collection[str], evidence: str) -> None:
        self._names = {n.lower() for n in names}
        self._evidence = evidence.lower()

    def __call__(self, name: str) -> bool:
        lowered = name.lower().strip(".")
        return lowered in self._names or _mentions(self._evidence, lowered)


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![a-z0-9-]){re.escape(word)}(?![a-z0-9-])", text) is not None


def _names_in_text(text: str) -> list[str]:
    """Object names given in prose as ``pod NAME`` or ``deployment/NAME``; only words shaped
    like generated or compound names (a hyphen, dot or digit next to letters) count, so
    ``the pod is`` names nothing."""
    return [m.group(1) for m in _NAMED_IN_TEXT.finditer(text)
            if _LOOKS_LIKE_NAME.search(m.group(1).lower())]
