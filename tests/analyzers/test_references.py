"""The references analyzer stays silent about what it could not see: kinds that were not listed,
and pod lists cut down by ``-l`` or ``-n`` (data cases always list every declared kind; the
case "Secrets that could not be listed (403) are never called missing" covers Secrets)."""

from __future__ import annotations

from functools import partial

from k8sdoctor.cluster.state import Scope
from k8sdoctor.testing import installed_analyzer
from tests.analyzers.case_state import case_reasons

reasons = partial(case_reasons, "references")
EVERYTHING = set(installed_analyzer("references").kinds)
UNUSED = "ConfigMap nothing references is info only"
CRONJOB = "a CronJob's ConfigMap between runs and a rollback ReplicaSet's ConfigMap are not unused"
SECRET = "Secret missing for an init container's envFrom"


def test_unused_configmap_is_reported_when_everything_was_listed() -> None:
    assert reasons(UNUSED, EVERYTHING) == ["UnusedConfigMap"]


def test_no_configmap_is_called_unused_under_a_label_selector() -> None:
    assert reasons(UNUSED, EVERYTHING, Scope(selector="app=web")) == []


def test_no_configmap_is_called_unused_when_pods_were_not_listed() -> None:
    assert reasons(UNUSED, EVERYTHING - {"Pod"}) == []


def test_a_cronjob_configmap_is_not_called_unused_when_cronjobs_were_not_listed() -> None:
    assert reasons(CRONJOB, EVERYTHING) == []
    assert reasons(CRONJOB, EVERYTHING - {"CronJob"}) == []


def test_missing_secret_is_not_claimed_for_a_namespace_outside_the_run() -> None:
    assert reasons(SECRET, EVERYTHING) == ["SecretNotFound"]
    assert reasons(SECRET, EVERYTHING, Scope(namespace="shop")) == []
