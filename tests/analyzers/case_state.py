"""Runs an analyzer on part of a named case, to test what it says when some kinds could not be
listed or a ``-n`` / ``-l`` scope applied (case files always list every kind the analyzer
declares, and have no scope)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from k8sdoctor.cluster.state import ClusterState, Scope, newest_timestamp
from k8sdoctor.testing import installed_analyzer, load_cases

CASES_DIR = Path(__file__).parent / "cases"


def case_reasons(
    analyzer: str, case_name: str, listed: Collection[str], scope: Scope | None = None
) -> list[str]:
    """The sorted reasons ``analyzer`` reports on case ``case_name`` when only the kinds in
    ``listed`` could be listed (the others have no objects either), within ``scope``."""
    case = next(c for c in load_cases(CASES_DIR / f"{analyzer}.yaml") if c.name == case_name)
    objects: dict[str, list[Any]] = {}
    for obj in case.objects:
        if obj["kind"] in listed:
            objects.setdefault(obj["kind"], []).append(obj)
    now = case.now or newest_timestamp(case.objects)
    assert now is not None, "a case needs 'now' or timestamps"
    state = ClusterState(objects, now=now, listed_kinds=listed, scope=scope)
    return sorted(finding.reason for finding in installed_analyzer(analyzer).analyze(state))
