"""The hpa analyzer does not call a scale target missing when its kind was not listed."""

from __future__ import annotations

from k8sdoctor.testing import installed_analyzer
from tests.analyzers.case_state import case_state

analyze = installed_analyzer("hpa").analyze
TARGETS = "a scale target that does not exist, or cannot be scaled, is an error"


def test_missing_target_is_claimed_when_deployments_were_listed() -> None:
    state = case_state("hpa", TARGETS, {"HorizontalPodAutoscaler", "Deployment"})
    assert {f.reason for f in analyze(state)} == {"ScaleTargetNotFound", "UnsupportedScaleTarget"}


def test_missing_target_is_not_claimed_when_deployments_could_not_be_listed() -> None:
    state = case_state("hpa", TARGETS, {"HorizontalPodAutoscaler"})
    # only the controller's own FailedGetScale condition remains
    assert {f.reason for f in analyze(state)} == {"FailedGetScale", "UnsupportedScaleTarget"}
