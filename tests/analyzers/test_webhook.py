"""The webhook analyzer claims no Service is missing that lies outside what was listed: a ``-n``
run sees only one namespace's Services (data cases always list every declared kind)."""

from __future__ import annotations

from k8sdoctor.cluster.state import ClusterState, Scope
from k8sdoctor.testing import installed_analyzer
from tests.analyzers.case_state import case_state

ANALYZER = installed_analyzer("webhook")
EVERYTHING = set(ANALYZER.kinds)
LEFTOVER = ("leftover ingress-nginx admission webhook whose Service was uninstalled blocks "
            "Ingress writes")
KYVERNO = ("Kyverno pod webhook with failurePolicy Fail and no ready endpoint is critical and may "
           "block its own pods")


def _reasons(case: str, listed: set[str], scope: Scope | None = None) -> list[str]:
    whole = case_state("webhook", case, listed)
    state = ClusterState({kind: whole.objects(kind) for kind in whole.kinds if kind in listed},
                         now=whole.now, listed_kinds=listed, scope=scope)
    return [f.reason for f in ANALYZER.analyze(state)]


def test_missing_service_is_not_claimed_outside_the_namespace_of_the_run() -> None:
    assert _reasons(LEFTOVER, EVERYTHING) == ["WebhookServiceNotFound"]
    assert _reasons(LEFTOVER, EVERYTHING, Scope(namespace="shop")) == []
    assert _reasons(LEFTOVER, EVERYTHING, Scope(namespace="ingress-nginx")) == [
        "WebhookServiceNotFound"
    ]


def test_nothing_is_claimed_without_endpoint_data_or_services() -> None:
    assert _reasons(KYVERNO, EVERYTHING) == ["WebhookNoReadyEndpoints"]
    assert _reasons(KYVERNO, EVERYTHING - {"EndpointSlice", "Endpoints"}) == []
    assert _reasons(LEFTOVER, EVERYTHING - {"Service"}) == []
