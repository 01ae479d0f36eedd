"""Analyzer declarations and their discovery through the ``k8sdoctor.analyzers`` entry points.

Built-in analyzers register exactly as third-party plugins do, so a ``pip install``-ed plugin
shows up in ``k8sdoctor analyzers`` with no other step. Each entry point loads on its own: one
that fails to import, or is not a valid ``Analyzer``, is reported and the others still run.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from k8sdoctor.analysis.finding import Finding, RunError
from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.plugins import load_plugins

ENTRY_POINT_GROUP = "k8sdoctor.analyzers"
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Analyzer:
    """An analyzer's declaration.

    ``doc`` is the analyzer module's docstring: its first paragraph is the one-line description,
    the rest lists every fault it reports and how to fix it (``k8sdoctor analyzers NAME``).
    """

    name: str
    kinds: tuple[str, ...]
    """The resource kinds ``analyze`` reads; only these are fetched."""
    analyze: Callable[[ClusterState], Iterable[Finding]]
    doc: str
    default: bool = True
    """Runs without ``-a``; optional analyzers run only when named (or with ``-a all``)."""
    spec_reasons: frozenset[str] = frozenset()
    """The reasons judged from an object's spec alone, kept on plain manifests (objects with
    no status); every other finding needs what a cluster reports and is dropped there. An
    analyzer with any runs on manifests by default."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"analyzer name {self.name!r} must match {_NAME.pattern}")
        if not self.doc or not self.doc.strip():
            raise ValueError(f"analyzer {self.name!r} has no docstring listing its faults")
        if not self.kinds:
            raise ValueError(f"analyzer {self.name!r} declares no resource kinds")
        if not callable(self.analyze):
            raise ValueError(f"analyzer {self.name!r}: analyze is not callable")
        object.__setattr__(self, "spec_reasons", frozenset(self.spec_reasons))

    @property
    def description(self) -> str:
        """The docstring's first paragraph, on one line."""
        return " ".join(self._paragraphs[0].split())

    @property
    def details(self) -> str:
        """Everything in the docstring after the first paragraph."""
        return self._paragraphs[1].strip()

    @property
    def _paragraphs(self) -> tuple[str, str]:
        first, _, rest = inspect.cleandoc(self.doc).partition("\n\n")
        return first, rest


def discover() -> tuple[list[Analyzer], list[RunError]]:
    """Every installed analyzer, sorted by name, and the plugins that could not be loaded."""
    analyzers, errors = load_plugins(ENTRY_POINT_GROUP, Analyzer, "analyzer")
    return list(analyzers.values()), errors
