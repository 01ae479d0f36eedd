"""Label selector matching, as the API server does it.

Three forms occur: a Service's plain map, a ``LabelSelector`` (``matchLabels`` and
``matchExpressions``) and the ``-l`` string syntax (``app=web,tier!=db,env in (a,b),!legacy``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

Labels = Mapping[str, str]


def matches_map(selector: Mapping[str, str] | None, labels: Labels | None) -> bool:
    """A Service-style selector: every pair must be present. An empty selector selects nothing."""
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(key) == value for key, value in selector.items())


def matches_label_selector(selector: Mapping | None, labels: Labels | None) -> bool:
    """A ``LabelSelector``: a null selector selects nothing, an empty one selects everything."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(
        _requirement_holds(expr["key"], expr["operator"], expr.get("values") or (), labels)
        for expr in selector.get("matchExpressions") or ()
    )


def _requirement_holds(key: str, operator: str, values, labels: Labels) -> bool:
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise ValueError(f"unknown label selector operator {operator!r}")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    values: tuple[str, ...] = ()

    def holds(self, labels: Labels) -> bool:
        return _requirement_holds(self.key, self.operator, self.values, labels)


_SET_EXPR = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def parse_selector(text: str) -> tuple[Requirement, ...]:
    """Parse ``-l`` syntax. ValueError names the part that does not parse."""
    requirements: list[Requirement] = []
    for part in _split_top_level(text):
        part = part.strip()
        if not part:
            continue
        if match := _SET_EXPR.match(part):
            values = tuple(v.strip() for v in match.group(3).split(",") if v.strip())
            operator = "In" if match.group(2) == "in" else "NotIn"
            requirements.append(Requirement(match.group(1), operator, values))
        elif "!=" in part:
            key, value = (s.strip() for s in part.split("!=", 1))
            requirements.append(Requirement(key, "NotIn", (value,)))
        elif "=" in part:
            key, value = (s.strip() for s in part.replace("==", "=").split("=", 1))
            requirements.append(Requirement(key, "In", (value,)))
        elif part.startswith("!"):
            requirements.append(Requirement(part[1:].strip(), "DoesNotExist"))
        elif re.fullmatch(r"[\w./-]+", part):
            requirements.append(Requirement(part, "Exists"))
        else:
            raise ValueError(f"cannot parse label selector part {part!r}")
        if not requirements[-1].key:
            raise ValueError(f"label selector part {part!r} has no key")
    return tuple(requirements)


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    parts, depth, current = [], 0, []
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def matches_selector_string(requirements: tuple[Requirement, ...], labels: Labels | None) -> bool:
    labels = labels or {}
    return all(req.holds(labels) for req in requirements)
