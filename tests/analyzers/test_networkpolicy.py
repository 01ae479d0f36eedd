"""The networkpolicy analyzer never calls a selector empty on a partial pod list (``-l``, or pods
that could not be listed); data cases always list every declared kind."""

from __future__ import annotations

from dataclasses import replace

import pytest

from k8sdoctor.cluster.state import Scope
from k8sdoctor.testing import check_case, installed_analyzer, load_cases
from tests.analyzers.case_state import CASES_DIR, case_reasons

ANALYZER = installed_analyzer("networkpolicy")
EVERYTHING = set(ANALYZER.kinds)
TYPO = "podSelector with a label typo selects no pod while the namespace has pods"


def test_selects_no_pods_is_reported_on_a_complete_pod_list() -> None:
    assert case_reasons("networkpolicy", TYPO, EVERYTHING) == ["SelectsNoPods"]


def test_selects_no_pods_is_not_claimed_under_a_label_selector() -> None:
    assert case_reasons("networkpolicy", TYPO, EVERYTHING, Scope(selector="team=shop")) == []


def test_selects_no_pods_is_not_claimed_when_pods_could_not_be_listed() -> None:
    assert case_reasons("networkpolicy", TYPO, EVERYTHING - {"Pod"}) == []


def test_message_excludes_fails_a_case_whose_message_says_the_excluded_words() -> None:
    case = next(c for c in load_cases(CASES_DIR / "networkpolicy.yaml")
                if c.name.startswith("default-deny: empty podSelector with policyTypes Ingress"))
    check_case(case, ANALYZER)
    wrong = [{**case.expect[0], "message_excludes": ["denies all ingress"]}]
    with pytest.raises(AssertionError, match="message says 'denies all ingress'"):
        check_case(replace(case, expect=wrong), ANALYZER)
