"""The storage analyzer says nothing is missing when the kind that would hold it was not listed."""

from __future__ import annotations

from pathlib import Path

from k8sdoctor.cluster.state import ClusterState, parse_time
from k8sdoctor.testing import installed_analyzer, load_cases

analyze = installed_analyzer("storage").analyze
CASES = {case.name: case for case in load_cases(Path(__file__).parent / "cases" / "storage.yaml")}


def _state(case_name: str, listed: set[str]) -> ClusterState:
    case = CASES[case_name]
    objects: dict[str, list] = {}
    for obj in case.objects:
        objects.setdefault(obj["kind"], []).append(obj)
    now = case.now or parse_time("2026-11-20T10:00:00Z")
    assert now is not None
    return ClusterState(objects, now=now, listed_kinds=listed)


def test_missing_class_is_not_claimed_when_storage_classes_were_not_listed() -> None:
    name = "a claim naming a StorageClass that does not exist is an error that lists the real ones"
    listed = {"PersistentVolumeClaim", "PersistentVolume", "Pod", "Event"}
    reasons = {f.reason for f in analyze(_state(name, listed))}
    assert "StorageClassNotFound" not in reasons
    assert reasons == {"ProvisioningFailed"}  # the provisioner's own word still stands


def test_missing_class_is_claimed_when_everything_was_listed() -> None:
    name = "a claim naming a StorageClass that does not exist is an error that lists the real ones"
    listed = {"PersistentVolumeClaim", "PersistentVolume", "StorageClass", "Pod", "Event"}
    assert {f.reason for f in analyze(_state(name, listed))} == {"StorageClassNotFound"}


def test_no_default_class_is_not_claimed_when_storage_classes_were_not_listed() -> None:
    name = "a claim without a class in a cluster with no default StorageClass is an error"
    listed = {"PersistentVolumeClaim", "PersistentVolume", "Pod", "Event"}
    assert "NoDefaultStorageClass" not in {f.reason for f in analyze(_state(name, listed))}
