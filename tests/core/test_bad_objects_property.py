"""Property: one malformed object never silences an analyzer or sinks the run.

Each example takes the demo cluster, damages one field of one object (a wrong type, a null, a
missing key, a huge value) and analyzes it in-process with every analyzer, the way a snapshot is
read. It holds when no exception escapes, the exit code is one a snapshot may give (0, 1 or 4;
2 when the damaged text no longer parses), every error is one line, and the findings on objects
the damage cannot reach are exactly the undamaged run's.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from k8sdoctor import run
from k8sdoctor.analysis.engine import kinds_needed, select
from k8sdoctor.analysis.registry import discover
from k8sdoctor.cluster.snapshot import _parse_text, load_documents
from k8sdoctor.cluster.source import LoadResult
from k8sdoctor.cluster.state import Scope
from k8sdoctor.errors import BadInputError
from k8sdoctor.exitcodes import ExitCode
from k8sdoctor.report.model import Report
from tests.helpers import DEMO

EXAMPLES = 500

DELETE = object()
"""Remove the key (or the list entry) instead of replacing its value."""

REPLACEMENTS: list[Any] = [
    None, DELETE, "seven", "", 7, -1, 0, 10**30, -(10**30), 3.5, float("inf"), True, False,
    [], [1, 2], [None], {}, {"a": 1}, "x" * 100_000, "9999-99-99T99:99:99Z",
]

ANALYZERS, _ = discover()
SELECTED = select(ANALYZERS, ["all"])
KINDS = kinds_needed(SELECTED)
READS = {analyzer.name: set(analyzer.kinds) for analyzer in SELECTED}

DOCUMENT = yaml.load(DEMO.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
ITEMS: list[dict[str, Any]] = DOCUMENT["items"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


PATHS = [list(_paths(item)) for item in ITEMS]


class _Documents:
    """A cluster source over already-parsed snapshot documents."""

    def __init__(self, documents: list[tuple[str, Any]]) -> None:
        self.documents = documents

    def load(self, kinds: Any, scope: Scope) -> LoadResult:
        return load_documents(self.documents, kinds, scope, "demo")


def _analyze(documents: list[tuple[str, Any]]) -> Report:
    return run.analyze(_Documents(documents), Scope(), ["all"])


def _with(index: int, replacement: list[Any]) -> dict[str, Any]:
    return {**DOCUMENT, "items": [*ITEMS[:index], *replacement, *ITEMS[index + 1:]]}


BASELINE = _analyze([("demo", DOCUMENT)])


@dataclass(frozen=True)
class Damage:
    index: int
    path: tuple[Any, ...]
    value: Any
    cut: int | None
    """Where the damaged object's JSON text is cut short, if it is."""


@st.composite
def damages(draw: st.DrawFn) -> Damage:
    index = draw(st.integers(0, len(ITEMS) - 1))
    path = draw(st.sampled_from(PATHS[index])) if PATHS[index] else ()
    value = draw(st.sampled_from(REPLACEMENTS))
    cut = draw(st.none() | st.integers(1, 400)) if draw(st.integers(0, 19)) == 0 else None
    return Damage(index, path, value, cut)


def _damaged(damage: Damage) -> dict[str, Any]:
    obj = copy.deepcopy(ITEMS[damage.index])
    *parents, last = damage.path
    target: Any = obj
    for step in parents:
        target = target[step]
    if damage.value is DELETE:
        del target[last]
    else:
        target[last] = damage.value
    return obj


def _identity(obj: Any) -> tuple[str | None, str | None, str | None]:
    if not isinstance(obj, dict):
        return None, None, None
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    values = (obj.get("kind"), meta.get("namespace"), meta.get("name"))
    return tuple(v if isinstance(v, str) else None for v in values)  # type: ignore[return-value]


def _unreachable(finding: dict[str, Any], before: tuple, after: tuple) -> bool:
    """Whether the damage to one object cannot change ``finding``: it is on another object, and
    its analyzer does not read the damaged kind or the finding is in another namespace."""
    where = (finding["kind"], finding["namespace"], finding["name"])
    if where in (before, after):
        return False
    kind, namespace, _ = before
    if kind not in READS[finding["analyzer"]]:
        return True
    # an object whose namespace is lost could have been in any namespace
    return bool(namespace and after[1] and finding["namespace"]
                and finding["namespace"] not in (namespace, after[1]))


def _keys(report: Report, before: tuple, after: tuple) -> set[tuple[str, ...]]:
    return {(f["analyzer"], f["kind"], f["namespace"] or "", f["name"], f["reason"],
             f["severity"], f["message"])
            for f in report.to_dict()["findings"] if _unreachable(f, before, after)}


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(damages())
def test_one_damaged_object_never_sinks_the_run(damage: Damage) -> None:
    obj = _damaged(damage)
    if damage.cut is None:
        documents: list[tuple[str, Any]] = [("demo", _with(damage.index, [obj]))]
    else:
        documents = [("demo", _with(damage.index, []))]
        text = json.dumps(obj)[: damage.cut]
        try:
            documents.extend(_parse_text(text, "damaged.json"))
        except BadInputError as err:  # the CLI's exit 2, one line
            assert BadInputError.exit_code == ExitCode.USAGE
            assert "\n" not in str(err)
            return
    try:
        report = _analyze(documents)
    except BadInputError as err:
        # only text that no longer parses as a Kubernetes document is refused whole
        assert damage.cut is not None, err
        assert "\n" not in str(err)
        return
    code = run.exit_code_for(report, run.FailOn.INFO, strict=True)
    assert code in (ExitCode.OK, ExitCode.FINDINGS, ExitCode.INCOMPLETE)
    assert all("\n" not in e.message for e in report.errors)
    analyzer_errors = [e for e in report.errors if e.stage == "analyzer"]
    assert not analyzer_errors, analyzer_errors
    before, after = _identity(ITEMS[damage.index]), _identity(obj)
    assert _keys(report, before, after) == _keys(BASELINE, before, after)
