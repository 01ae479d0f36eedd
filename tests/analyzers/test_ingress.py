"""The ingress analyzer claims nothing is missing that it could not see: Services or Secrets
that were not listed, or filtered out by ``-l`` (data cases always list every declared kind)."""

from __future__ import annotations

from k8sdoctor.cluster.state import ClusterState, Scope
from k8sdoctor.testing import installed_analyzer
from tests.analyzers.case_state import case_state

ANALYZER = installed_analyzer("ingress")
EVERYTHING = set(ANALYZER.kinds)
BACKEND = "backend Service that does not exist"
TLS = "TLS Secret that does not exist, with cert-manager long past issuing"
CLASS = "ingressClassName naming a class that does not exist"


def _reasons(case: str, listed: set[str], scope: Scope | None = None) -> list[str]:
    whole = case_state("ingress", case, listed)
    state = ClusterState({kind: whole.objects(kind) for kind in whole.kinds if kind in listed},
                         now=whole.now, listed_kinds=listed, scope=scope)
    return [f.reason for f in ANALYZER.analyze(state)]


def test_missing_backend_service_needs_services_listed_and_unfiltered() -> None:
    assert _reasons(BACKEND, EVERYTHING) == ["BackendServiceNotFound"]
    assert _reasons(BACKEND, EVERYTHING - {"Service"}) == []
    assert _reasons(BACKEND, EVERYTHING, Scope(selector="app=web")) == []


def test_missing_tls_secret_needs_secrets_listed() -> None:
    assert _reasons(TLS, EVERYTHING) == ["TLSSecretNotFound"]
    assert _reasons(TLS, EVERYTHING - {"Secret"}) == []


def test_missing_class_needs_ingressclasses_listed() -> None:
    assert _reasons(CLASS, EVERYTHING) == ["IngressClassNotFound"]
    assert _reasons(CLASS, EVERYTHING - {"IngressClass"}) == []
