"""Runs every analyzer test case in ``cases/*.yaml`` (objects in, findings out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from k8sdoctor.testing import AnalyzerCase, check_case, installed_analyzer, load_cases

CASES_DIR = Path(__file__).parent / "cases"
CASES = [case for path in sorted(CASES_DIR.glob("*.yaml")) for case in load_cases(path)]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_analyzer_case(case: AnalyzerCase) -> None:
    check_case(case, installed_analyzer(case.analyzer))


def test_every_installed_analyzer_has_cases() -> None:
    from k8sdoctor.analysis.registry import discover

    installed, errors = discover()
    assert not errors
    covered = {case.analyzer for case in CASES}
    assert {a.name for a in installed} <= covered
