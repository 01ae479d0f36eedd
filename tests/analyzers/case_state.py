"""Builds the state of a named analyzer case with a chosen set of listed kinds, to test what an
analyzer says when a kind could not be listed (the case files always list every declared kind)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from k8sdoctor.cluster.state import ClusterState, newest_timestamp
from k8sdoctor.testing import load_cases

CASES_DIR = Path(__file__).parent / "cases"


def case_state(analyzer: str, case_name: str, listed: Collection[str]) -> ClusterState:
    cases = {case.name: case for case in load_cases(CASES_DIR / f"{analyzer}.yaml")}
    case = cases[case_name]
    objects: dict[str, list] = {}
    for obj in case.objects:
        objects.setdefault(obj["kind"], []).append(obj)
    now = case.now or newest_timestamp(case.objects)
    assert now is not None, "a case needs 'now' or timestamps"
    return ClusterState(objects, now=now, listed_kinds=listed)
