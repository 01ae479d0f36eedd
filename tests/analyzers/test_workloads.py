"""Workload analyzers must not call a referenced object missing when its kind was not listed,
and read the controllers' FailedCreate messages whatever their prefix."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from k8sdoctor.analysis.engine import run_analyzers
from k8sdoctor.analyzers._admission import api_error
from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.testing import installed_analyzer

NOW = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)

STATEFUL_SET = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "kafka", "namespace": "data", "uid": "8b9c0d1e", "generation": 2,
                 "creationTimestamp": "2026-11-01T00:00:00Z"},
    "spec": {
        "replicas": 3,
        "serviceName": "kafka-headless",
        "selector": {"matchLabels": {"app": "kafka"}},
        "template": {"metadata": {"labels": {"app": "kafka"}},
                     "spec": {"containers": [{"name": "kafka", "image": "kafka:3.8.1"}]}},
        "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                  "spec": {"storageClassName": "premium-rwo"}}],
    },
    "status": {"observedGeneration": 2, "replicas": 3, "readyReplicas": 3,
               "currentRevision": "kafka-7b9d5c6f4", "updateRevision": "kafka-7b9d5c6f4"},
}


def findings(obj: dict, analyzer: str, listed: set[str]) -> list[str]:
    state = ClusterState({obj["kind"]: [obj]}, now=NOW, listed_kinds=listed)
    found, errors = run_analyzers(state, [installed_analyzer(analyzer)])
    assert not errors
    return [f.reason for f in found]


def test_statefulset_service_and_storage_class_are_not_missing_when_unlisted() -> None:
    assert findings(STATEFUL_SET, "statefulset", {"StatefulSet", "Pod"}) == []
    assert sorted(findings(STATEFUL_SET, "statefulset",
                           {"StatefulSet", "Pod", "Service", "StorageClass"})) == [
        "GoverningServiceMissing", "StorageClassNotFound"]


DAEMON_SET = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "node-agent", "namespace": "monitoring", "uid": "1a2b3c4d",
                 "generation": 1, "creationTimestamp": "2026-11-20T09:00:00Z"},
    "spec": {
        "selector": {"matchLabels": {"app": "node-agent"}},
        "template": {"metadata": {"labels": {"app": "node-agent"}},
                     "spec": {"containers": [{"name": "agent", "image": "node-agent:1.4.0"}],
                              "imagePullSecrets": [{"name": "regcred"}]}},
    },
    "status": {"observedGeneration": 1, "desiredNumberScheduled": 1,
               "currentNumberScheduled": 1, "numberReady": 1, "numberAvailable": 1},
}


def test_daemonset_pull_secret_is_not_missing_when_secrets_could_not_be_listed() -> None:
    assert findings(DAEMON_SET, "daemonset", {"DaemonSet", "Pod"}) == []
    assert findings(DAEMON_SET, "daemonset", {"DaemonSet", "Pod", "Secret"}) == [
        "ImagePullSecretMissing"]


@pytest.mark.parametrize(
    "message",
    [
        'Error creating: pods "web-7d4b9c8f5-x2x7k" is forbidden: exceeded quota: compute, '
        "requested: limits.cpu=2, used: limits.cpu=6, limited: limits.cpu=7",
        'create Pod web-0 in StatefulSet web failed error: pods "web-0" is forbidden: exceeded '
        "quota: compute, requested: limits.cpu=2, used: limits.cpu=6, limited: limits.cpu=7",
    ],
)
def test_failed_create_messages_are_read_without_the_controllers_prefix(message: str) -> None:
    assert api_error(message).startswith('pods "web-')
    assert api_error(message).endswith("limited: limits.cpu=7")
