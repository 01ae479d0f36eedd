"""The references analyzer stays silent about what it could not see: kinds that were not listed,
and pod lists cut down by ``-l`` (data cases always list every declared kind)."""

from __future__ import annotations

from collections.abc import Collection

from k8sdoctor.analysis.finding import Finding
from k8sdoctor.cluster.state import ClusterState, Scope
from k8sdoctor.testing import installed_analyzer
from tests.analyzers.case_state import case_state

ANALYZER = installed_analyzer("references")
EVERYTHING = set(ANALYZER.kinds)
UNUSED = "ConfigMap nothing references is info only"
CRONJOB = "a CronJob's ConfigMap between runs and a rollback ReplicaSet's ConfigMap are not unused"
SECRET = "Secret missing for an init container's envFrom"


def _reasons(case: str, listed: Collection[str], scope: Scope | None = None) -> list[str]:
    whole = case_state("references", case, listed)
    # a kind that could not be listed has no objects either
    state = ClusterState({kind: whole.objects(kind) for kind in whole.kinds if kind in listed},
                         now=whole.now, listed_kinds=listed, scope=scope)
    findings: list[Finding] = list(ANALYZER.analyze(state))
    return sorted(f.reason for f in findings)


def test_unused_configmap_is_reported_when_everything_was_listed() -> None:
    assert _reasons(UNUSED, EVERYTHING) == ["UnusedConfigMap"]


def test_no_configmap_is_called_unused_under_a_label_selector() -> None:
    assert _reasons(UNUSED, EVERYTHING, Scope(selector="app=web")) == []


def test_no_configmap_is_called_unused_when_pods_were_not_listed() -> None:
    assert _reasons(UNUSED, EVERYTHING - {"Pod"}) == []


def test_a_cronjob_configmap_is_not_called_unused_when_cronjobs_were_not_listed() -> None:
    assert _reasons(CRONJOB, EVERYTHING) == []
    assert _reasons(CRONJOB, EVERYTHING - {"CronJob"}) == []


def test_missing_secret_is_claimed_only_when_secrets_were_listed() -> None:
    assert _reasons(SECRET, EVERYTHING) == ["SecretNotFound"]
    assert _reasons(SECRET, EVERYTHING - {"Secret"}) == []


def test_missing_secret_is_not_claimed_for_a_namespace_outside_the_run() -> None:
    assert _reasons(SECRET, EVERYTHING, Scope(namespace="shop")) == []
