"""The webhook analyzer claims no Service is missing that lies outside what was listed: a ``-n``
run sees only one namespace's Services (data cases always list every declared kind)."""

from __future__ import annotations

from k8sdoctor.cluster.state import Scope
from k8sdoctor.testing import installed_analyzer
from tests.analyzers.case_state import case_reasons

EVERYTHING = set(installed_analyzer("webhook").kinds)
LEFTOVER = ("leftover ingress-nginx admission webhook whose Service was uninstalled blocks "
            "Ingress writes")
KYVERNO = ("Kyverno pod webhook with failurePolicy Fail and no ready endpoint is critical and may "
           "block its own pods")


def test_missing_service_is_not_claimed_outside_the_namespace_of_the_run() -> None:
    assert case_reasons("webhook", LEFTOVER, EVERYTHING) == ["WebhookServiceNotFound"]
    assert case_reasons("webhook", LEFTOVER, EVERYTHING, Scope(namespace="shop")) == []
    assert case_reasons("webhook", LEFTOVER, EVERYTHING, Scope(namespace="ingress-nginx")) == [
        "WebhookServiceNotFound"
    ]


def test_nothing_is_claimed_without_endpoint_data_or_services() -> None:
    assert case_reasons("webhook", KYVERNO, EVERYTHING) == ["WebhookNoReadyEndpoints"]
    assert case_reasons("webhook", KYVERNO, EVERYTHING - {"EndpointSlice", "Endpoints"}) == []
    assert case_reasons("webhook", LEFTOVER, EVERYTHING - {"Service"}) == []
