"""Reports as they are shown: secret-shaped text in them redacted.

Findings quote what Kubernetes said (event messages, container termination messages, status
conditions), and those can carry a password or a token; reports end up in PR comments, CI
artifacts and chat. ``render`` passes every report through ``redacted`` unless the user asks for
the raw text (``--no-redact``), so every format, present and future, is covered in one place.
Identities (kinds, names, namespaces, reasons, ids) are left as they are: they name objects and
are needed to find them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import cache
from operator import attrgetter
from typing import Any, TypeVar

from k8sdoctor.explain.redact import redact_all

T = TypeVar("T")

_IDENTITY_FIELDS = frozenset({
    "id", "kind", "api_version", "namespace", "name", "reason", "analyzer", "analyzers",
    "severity", "stage", "subject", "group", "backend", "model", "confidence", "source", "rank",
})
"""Fields that name things rather than describe them."""


def redacted(report: T) -> T:
    """``report`` (or any record of it) with secrets redacted from every descriptive text,
    recursing through its records, lists and tuples. Unchanged parts are shared, not copied.

    The texts are gathered first, each once (a fault on forty pods repeats its message forty
    times, and a root cause holds the very findings the report lists), and redacted together;
    the report is rebuilt only when one of them changed."""
    texts: set[str] = set()
    _gather(report, texts, set())
    changed = redact_all(texts)
    return _replaced(report, changed, {}) if changed else report


@cache
def _is_record(kind: type) -> bool:
    return dataclasses.is_dataclass(kind)


@cache
def _text_fields(record: type) -> tuple[str, ...]:
    """The fields of a record class that may hold descriptive text."""
    return tuple(field.name for field in dataclasses.fields(record)
                 if field.init and field.name not in _IDENTITY_FIELDS)


@cache
def _may_hold_text(kind: type) -> bool:
    """Whether a value of this type is, or may hold, a text to redact."""
    if issubclass(kind, (str, list, tuple)):
        return True
    return _is_record(kind) and bool(_text_fields(kind))


@cache
def _text_values(record: type) -> Callable[[Any], tuple[Any, ...]]:
    """Reads the fields that may hold descriptive text off a record, in one call."""
    names = _text_fields(record)
    if not names:
        return lambda value: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda value: (one(value),)
    return attrgetter(*names)


def _gather(value: Any, texts: set[str], seen: set[int]) -> None:
    """Add to ``texts`` every descriptive text of ``value``; ``seen``: the records walked.
    The common cases (a text, a tuple of texts) are handled in line: ~40,000 texts in a report
    of 10,000 findings."""
    kind = type(value)
    if issubclass(kind, str):
        texts.add(value)
    elif issubclass(kind, (list, tuple)):
        for item in value:
            if type(item) is str:
                texts.add(item)
            elif _may_hold_text(type(item)):
                _gather(item, texts, seen)
    elif _is_record(kind) and id(value) not in seen:
        seen.add(id(value))
        for field in _text_values(kind)(value):
            kind = type(field)
            if kind is str:
                texts.add(field)
            elif kind is tuple:
                for item in field:
                    if type(item) is str:
                        texts.add(item)
                    elif _may_hold_text(type(item)):
                        _gather(item, texts, seen)
            elif _may_hold_text(kind):
                _gather(field, texts, seen)


def _replaced(value: Any, changed: dict[str, str], records: dict[int, Any]) -> Any:
    """``value`` with the texts in ``changed`` replaced; ``records``: those done, by ``id``."""
    if isinstance(value, str):
        return changed.get(value, value)
    if isinstance(value, (list, tuple)):
        items = [_replaced(item, changed, records) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items) if isinstance(value, tuple) else items
    if _is_record(type(value)):
        done = records.get(id(value))
        if done is None:
            changes = {}
            for name in _text_fields(type(value)):
                old = getattr(value, name)
                new = _replaced(old, changed, records)
                if new is not old:
                    changes[name] = new
            done = records[id(value)] = dataclasses.replace(value, **changes) if changes else value
        return done
    return value
