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


def redacted(report: T) -> T:
    """``report`` (or any record of it) with secrets redacted from every descriptive text,
    recursing through its records, lists and tuples. Unchanged parts are shared, not copied.

    Each distinct text is redacted once: a fault on forty pods repeats its message and evidence
    forty times, and a root cause repeats its findings."""
    return _redacted(report, {})


@cache
def _text_fields(record: type) -> tuple[str, ...]:
    """The fields of a record class that may hold descriptive text."""
    return tuple(field.name for field in dataclasses.fields(record)
                 if field.init and field.name not in _IDENTITY_FIELDS)


def _redacted(value: Any, seen: dict[str, str]) -> Any:
    if isinstance(value, str):
        clean = seen.get(value)
        if clean is None:
            clean = seen[value] = redact(value)
        return value if clean == value else clean
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for name in _text_fields(type(value)):
            old = getattr(value, name)
            new = _redacted(old, seen)
            if new is not old:
                changes[name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, (list, tuple)):
        items = [_redacted(item, seen) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items) if isinstance(value, tuple) else items
    return value
