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
from functools import cache
from typing import Any, TypeVar

from k8sdoctor.explain.redact import redact

T = TypeVar("T")

_IDENTITY_FIELDS = frozenset({
    "id", "kind", "api_version", "namespace", "name", "reason", "analyzer", "analyzers",
    "severity", "stage", "subject", "group", "backend", "model", "confidence", "source", "rank",
})
"""Fields that name things rather than describe them."""

_OPAQUE = frozenset({type(None), bool, int, float})
"""Types of field values that hold no text."""


def redacted(report: T) -> T:
    """``report`` (or any record of it) with secrets redacted from every descriptive text,
    recursing through its records, lists and tuples. Unchanged parts are shared, not copied.

    Each distinct text is redacted once: a fault on forty pods repeats its message and evidence
    forty times. Each record is walked once: a root cause holds the very findings the report
    lists."""
    return _Redaction().value(report)


@cache
def _is_record(kind: type) -> bool:
    return dataclasses.is_dataclass(kind)


@cache
def _text_fields(record: type) -> tuple[str, ...]:
    """The fields of a record class that may hold descriptive text."""
    return tuple(field.name for field in dataclasses.fields(record)
                 if field.init and field.name not in _IDENTITY_FIELDS)


_UNCHANGED = object()


class _Redaction:
    """One walk of a report: the redacted form of every text and record met so far. The loops
    are written out (no call per text): a report of 10,000 findings holds ~100,000 texts."""

    def __init__(self) -> None:
        self.texts: dict[str, Any] = {}
        """Each text met, to its redacted form, or to ``_UNCHANGED``."""
        self.records: dict[int, Any] = {}
        """By ``id``: records are immutable, and the report being walked keeps them alive."""

    def text(self, text: str) -> str:
        clean = self.texts.get(text)
        if clean is None:
            redacted_text = redact(text)
            clean = self.texts[text] = _UNCHANGED if redacted_text == text else redacted_text
        return text if clean is _UNCHANGED else clean

    def value(self, value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind is tuple or kind is list:
            return self.sequence(value)
        if _is_record(kind):
            done = self.records.get(id(value))
            if done is None:
                done = self.records[id(value)] = self.record(value)
            return done
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (list, tuple)):
            return self.sequence(value)
        return value

    def sequence(self, items: list[Any] | tuple[Any, ...]) -> Any:
        texts = self.texts
        new_items = None
        for index, item in enumerate(items):
            if type(item) is str and texts.get(item) is _UNCHANGED:
                continue
            new = self.text(item) if type(item) is str else self.value(item)
            if new is not item:
                if new_items is None:
                    new_items = list(items)
                new_items[index] = new
        if new_items is None:
            return items
        return type(items)(new_items) if isinstance(items, tuple) else new_items

    def record(self, record: Any) -> Any:
        texts = self.texts
        changes = {}
        for name in _text_fields(type(record)):
            old = getattr(record, name)
            kind = type(old)
            if kind in _OPAQUE or (kind is str and texts.get(old) is _UNCHANGED):
                continue
            new = self.value(old)
            if new is not old:
                changes[name] = new
        return dataclasses.replace(record, **changes) if changes else record
