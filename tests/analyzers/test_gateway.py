"""The gateway analyzer is silent where the Gateway API is not served, and falls back to the
controller's own ResolvedRefs condition when Services could not be listed (data cases always list
every declared kind)."""

from __future__ import annotations

from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.testing import installed_analyzer
from tests.analyzers.case_state import case_state

ANALYZER = installed_analyzer("gateway")
EVERYTHING = set(ANALYZER.kinds)
BACKENDS = "HTTPRoute backends whose Service or port does not exist"


def _reasons(case: str, listed: set[str]) -> list[str]:
    whole = case_state("gateway", case, listed)
    state = ClusterState({kind: whole.objects(kind) for kind in whole.kinds if kind in listed},
                         now=whole.now, listed_kinds=listed)
    return sorted(f.reason for f in ANALYZER.analyze(state))


def test_nothing_is_reported_when_the_gateway_api_is_not_served() -> None:
    assert _reasons(BACKENDS, {"Service"}) == []


def test_without_services_the_controllers_backend_not_found_is_quoted() -> None:
    assert _reasons(BACKENDS, EVERYTHING) == ["BackendNotFound", "BackendPortNotFound"]
    assert _reasons(BACKENDS, EVERYTHING - {"Service"}) == ["RefsNotResolved"]
