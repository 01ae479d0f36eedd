"""The ingress analyzer claims nothing is missing that it could not see: Services or Secrets
that were not listed, or filtered out by ``-l`` (data cases always list every declared kind)."""

from __future__ import annotations

from k8sdoctor.cluster.state import Scope
from k8sdoctor.testing import installed_analyzer
from tests.analyzers.case_state import case_reasons

EVERYTHING = set(installed_analyzer("ingress").kinds)
BACKEND = "backend Service that does not exist"
TLS = "TLS Secret that does not exist, with cert-manager long past issuing"
CLASS = "ingressClassName naming a class that does not exist"


def test_missing_backend_service_needs_services_listed_and_unfiltered() -> None:
    assert case_reasons("ingress", BACKEND, EVERYTHING) == ["BackendServiceNotFound"]
    assert case_reasons("ingress", BACKEND, EVERYTHING - {"Service"}) == []
    assert case_reasons("ingress", BACKEND, EVERYTHING, Scope(selector="app=web")) == []


def test_missing_tls_secret_needs_secrets_listed() -> None:
    assert case_reasons("ingress", TLS, EVERYTHING) == ["TLSSecretNotFound"]
    assert case_reasons("ingress", TLS, EVERYTHING - {"Secret"}) == []


def test_missing_class_needs_ingressclasses_listed() -> None:
    assert case_reasons("ingress", CLASS, EVERYTHING) == ["IngressClassNotFound"]
    assert case_reasons("ingress", CLASS, EVERYTHING - {"IngressClass"}) == []
