"""Runs every cause-graph case in ``cases/*.yaml``: a cluster in, ranked root causes out."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.causes.case_data import CASES_DIR, CauseCase, check, load

CASES = [case for path in sorted(CASES_DIR.glob("*.yaml")) for case in load(path)]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_cause_case(case: CauseCase) -> None:
    check(case)


def test_a_wrong_expectation_fails() -> None:
    case = next(c for c in CASES if c.name.startswith("a missing ConfigMap leads"))
    wrong_rank = replace(case, expect=[{**case.expect[0], "root": "Deployment/shop/web"}])
    with pytest.raises(AssertionError):
        check(wrong_rank)
    missing_object = replace(case, expect=[{**case.expect[0],
                                            "affected": case.expect[0]["affected"][1:]}])
    with pytest.raises(AssertionError):
        check(missing_object)


def test_every_chain_of_the_issue_has_cases() -> None:
    files = {case.source for case in CASES}
    assert {"missing-objects", "nodes", "scheduling", "workloads", "independent"} <= files
    independent = [c for c in CASES if c.source == "independent"]
    assert all(len(c.expect) >= 2 for c in independent)
