"""The storage analyzer says nothing is missing when the kind that would hold it was not listed."""

from __future__ import annotations

from k8sdoctor.testing import installed_analyzer
from tests.analyzers.case_state import case_state

analyze = installed_analyzer("storage").analyze
MISSING_CLASS = ("a claim naming a StorageClass that does not exist is an error that lists the "
                 "real ones")
NO_DEFAULT = "a claim without a class in a cluster with no default StorageClass is an error"


def test_missing_class_is_not_claimed_when_storage_classes_were_not_listed() -> None:
    state = case_state("storage", MISSING_CLASS,
                       {"PersistentVolumeClaim", "PersistentVolume", "Pod", "Event"})
    # the provisioner's own word still stands
    assert {f.reason for f in analyze(state)} == {"ProvisioningFailed"}


def test_missing_class_is_claimed_when_everything_was_listed() -> None:
    state = case_state("storage", MISSING_CLASS, {"PersistentVolumeClaim", "PersistentVolume",
                                                  "StorageClass", "Pod", "Event"})
    assert {f.reason for f in analyze(state)} == {"StorageClassNotFound"}


def test_no_default_class_is_not_claimed_when_storage_classes_were_not_listed() -> None:
    state = case_state("storage", NO_DEFAULT,
                       {"PersistentVolumeClaim", "PersistentVolume", "Pod", "Event"})
    assert "NoDefaultStorageClass" not in {f.reason for f in analyze(state)}
