"""PersistentVolumeClaims that cannot bind, failed or lost volumes, and StorageClass defaults.

Faults reported:

- ``StorageClassNotFound`` (error): a Pending claim names a StorageClass that does not exist
  and no PersistentVolume carries that class either. Fix: ``storageClassName`` is immutable, so
  recreate the claim with an existing class (they are listed), or create the missing class.
- ``NoDefaultStorageClass`` (error): a Pending claim names no class and the cluster has no
  default StorageClass, so nothing provisions it. Fix: mark one class default
  (``storageclass.kubernetes.io/is-default-class: "true"``); since Kubernetes 1.28 the waiting
  claim then gets it on its own.
- ``ProvisioningFailed`` (error): the provisioner tried and failed; its event message is quoted
  (quota, permissions, invalid parameters, unsupported zone). Fix: what the message names, then
  check the CSI controller's logs.
- ``ConsumerPodPending`` (warning): the class binds ``WaitForFirstConsumer`` and the pod using
  the claim cannot be scheduled, so the volume is never provisioned; the scheduler's message is
  quoted. Fix: the pod's scheduling problem (resources, affinity, taints, zones).
- ``NoMatchingVolume`` (warning): a claim for static binding (``storageClassName: ""``, a
  class only PersistentVolumes carry, a ``volumeName`` or a volume ``selector``) has found no
  fitting volume for 5 minutes. Fix: create a PersistentVolume matching its size, access modes
  and class.
- ``ProvisioningStalled`` (warning): a claim has been Pending for 10 minutes with no failure
  reported - usually the external provisioner is not running. Fix: check the CSI controller pods.
- ``ClaimLost`` (error): the claim's PersistentVolume is gone; its data is unreachable. Fix:
  restore the volume from backup or recreate the claim.
- ``VolumeFailed`` (error): a PersistentVolume's reclamation failed (its message is quoted).
  Fix: clean up the backing disk by hand and delete the PersistentVolume.
- ``VolumeDeletionFailing`` (warning): a Released volume with reclaimPolicy Delete whose
  deletion keeps failing (``VolumeFailedDelete`` events). Fix: what the event names.
- ``ReleasedRetained`` (info): a volume whose claim was deleted and that is kept because its
  reclaimPolicy is Retain. Fix: back up and delete it, or clear ``spec.claimRef`` to reuse it.
- ``MultipleDefaultStorageClasses`` (warning): more than one class is marked default; new claims
  without a class get the most recently created one. Fix: remove the annotation from all but one.

Not reported: a WaitForFirstConsumer claim no pod uses yet (binding waits by design), or whose
pod is scheduled and being provisioned; a claim Pending for only a few minutes; "missing"
classes or volumes when StorageClasses or PersistentVolumes could not be listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, ObjectRef, Severity
from k8sdoctor.analysis.objects import (
    absence_is_known,
    conditions,
    describe_event,
    format_duration,
    is_terminated,
    ns_flag,
)

DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)
SELECTED_NODE = "volume.kubernetes.io/selected-node"
STATIC_BINDING_GRACE_SECONDS = 300
PROVISIONING_GRACE_SECONDS = 600


_Users = Mapping[tuple[str, str], Sequence[Mapping[str, Any]]]
"""Live pods by the ``(namespace, claim name)`` they mount."""


def analyze(state: ClusterState) -> Iterator[Finding]:
    claims = state.objects("PersistentVolumeClaim")
    users = _claim_users(state) if claims else {}
    for claim in claims:
        phase = (claim.get("status") or {}).get("phase")
        if phase == "Pending":
            finding = _pending(state, claim, users)
            if finding:
                yield finding
        elif phase == "Lost":
            yield _lost(state, claim, users)
    for volume in state.objects("PersistentVolume"):
        finding = _volume(state, volume)
        if finding:
            yield finding
    yield from _default_classes(state)


def is_default_class(storage_class: Mapping[str, Any]) -> bool:
    annotations = storage_class["metadata"].get("annotations") or {}
    return any(annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS)


def _pending(state: ClusterState, claim: Mapping[str, Any], users: _Users) -> Finding | None:
    meta = claim["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    spec = claim.get("spec") or {}
    class_name = spec.get("storageClassName")
    events = state.events_for(claim)
    age = state.age_of(meta.get("creationTimestamp")) or 0.0
    evidence = [f"phase=Pending for {format_duration(age)}",
                f"storageClassName={class_name!r}" if class_name is not None
                else "storageClassName unset", *(describe_event(e) for e in events[-3:])]
    classes = state.objects("StorageClass")
    class_names = ", ".join(sorted(c["metadata"]["name"] for c in classes)) or "none"

    # a claim that names its volume, or selects volumes by label, binds statically
    names_its_volume = bool(spec.get("volumeName") or spec.get("selector"))
    no_default = not any(is_default_class(c) for c in classes)
    if (class_name is None and not names_its_volume and absence_is_known(state, "StorageClass")
            and no_default):
        return Finding.about(
            claim, severity=Severity.ERROR, reason="NoDefaultStorageClass",
            message=f"PersistentVolumeClaim {name} names no storageClassName and the cluster "
                    "has no default StorageClass, so no volume is provisioned for it"
                    + _quoted(_latest(events, "FailedBinding")) + ".",
            evidence=evidence,
            remediation=[
                "kubectl patch storageclass <class> -p '{\"metadata\":{\"annotations\":"
                "{\"storageclass.kubernetes.io/is-default-class\":\"true\"}}}'  "
                f"# existing classes: {class_names}",
                f"Or give the claim a class (allowed while it has none): kubectl patch pvc {name}"
                f"{ns_flag(namespace)} -p '{{\"spec\":{{\"storageClassName\":\"<class>\"}}}}'",
            ],
        )
    storage_class = state.get("StorageClass", None, class_name) if class_name else None
    static_class = names_its_volume or class_name == "" or (
        class_name is not None and storage_class is None and any(
            (pv.get("spec") or {}).get("storageClassName") == class_name
            for pv in state.objects("PersistentVolume")))

    if (class_name and storage_class is None and not static_class
            and absence_is_known(state, "StorageClass")
            and absence_is_known(state, "PersistentVolume")):
        return Finding.about(
            claim, severity=Severity.ERROR, reason="StorageClassNotFound",
            message=f"PersistentVolumeClaim {name} asks for StorageClass {class_name}, which "
                    "does not exist" + _quoted(_latest(events, "ProvisioningFailed")) + ".",
            evidence=evidence,
            remediation=[
                f"kubectl get storageclass  # existing classes: {class_names}",
                "storageClassName is immutable: recreate the claim (or the StatefulSet's "
                f"volumeClaimTemplate) with an existing class, or create a StorageClass named "
                f"{class_name}.",
            ],
            refers_to=ObjectRef("StorageClass", class_name),
        )

    failed = _latest(events, "ProvisioningFailed")
    if failed is not None:
        return Finding.about(
            claim, severity=Severity.ERROR, reason="ProvisioningFailed",
            message=f"Provisioning a volume for PersistentVolumeClaim {name} failed: "
                    f"{_message(failed)}",
            evidence=evidence,
            remediation=[
                f"kubectl describe pvc {name}{ns_flag(namespace)}",
                "Fix what the provisioner reports (cloud permissions, quota, class parameters, "
                "zone), then check the CSI controller logs: kubectl logs -n kube-system "
                "-l app=<csi-controller> -c csi-provisioner",
            ],
        )

    waits_for_consumer = (storage_class or {}).get("volumeBindingMode") == "WaitForFirstConsumer"
    if waits_for_consumer and SELECTED_NODE not in (meta.get("annotations") or {}):
        return _consumer_pending(state, claim, users, evidence)

    if static_class:
        if age < STATIC_BINDING_GRACE_SECONDS:
            return None
        return Finding.about(
            claim, severity=Severity.WARNING, reason="NoMatchingVolume",
            message=f"PersistentVolumeClaim {name} waits for a pre-created PersistentVolume "
                    + (f"({spec['volumeName']}) " if spec.get("volumeName")
                       else f"(class {class_name!r}) ")
                    + "and none fits" + _quoted(_latest(events, "FailedBinding")) + ".",
            evidence=evidence,
            remediation=[
                "kubectl get pv  # is there an Available volume with the claim's class, "
                f"at least {_size(claim)} and access modes {spec.get('accessModes')}?",
                "Create a matching PersistentVolume, or set a provisioning storageClassName.",
            ],
        )

    if age < PROVISIONING_GRACE_SECONDS:
        return None
    latest = events[-1] if events else None
    return Finding.about(
        claim, severity=Severity.WARNING, reason="ProvisioningStalled",
        message=f"PersistentVolumeClaim {name} has been Pending for {format_duration(age)} with "
                "no provisioning error reported" + _quoted(latest) + ".",
        evidence=evidence,
        remediation=[
            f"kubectl describe pvc {name}{ns_flag(namespace)}",
            "Check that the provisioner named by the StorageClass "
            f"({(storage_class or {}).get('provisioner', 'unknown')}) is running: "
            "kubectl get pods -A | grep csi",
        ],
    )


def _consumer_pending(
    state: ClusterState, claim: Mapping[str, Any], users: _Users, evidence: list[str]
) -> Finding | None:
    name, namespace = claim["metadata"]["name"], claim["metadata"].get("namespace")
    for pod in users.get((namespace or "", name), ()):
        status = pod.get("status") or {}
        scheduled = conditions(pod).get("PodScheduled") or {}
        if (pod.get("spec") or {}).get("nodeName") or status.get("phase") != "Pending":
            continue
        if scheduled.get("status") != "False":
            continue
        pod_name = pod["metadata"]["name"]
        return Finding.about(
            claim, severity=Severity.WARNING, reason="ConsumerPodPending",
            message=f"PersistentVolumeClaim {name} waits for its first consumer, and pod "
                    f"{pod_name} cannot be scheduled: {scheduled.get('message', '')}",
            evidence=[*evidence, f"pod {pod_name} PodScheduled=False "
                                 f"reason={scheduled.get('reason')}"],
            remediation=[
                f"kubectl describe pod {pod_name}{ns_flag(namespace)}  # fix its scheduling; "
                "the volume is provisioned in the zone of the node it lands on",
            ],
            parent=state.workload_of(pod),
        )
    return None


def _claim_users(state: ClusterState) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    """Live pods by the claims they mount, directly or as a generic ephemeral volume (whose
    claim is named ``<pod>-<volume>``)."""
    users: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for pod in state.objects("Pod"):
        claims: set[str] = set()
        for volume in (pod.get("spec") or {}).get("volumes") or ():
            if claim := (volume.get("persistentVolumeClaim") or {}).get("claimName"):
                claims.add(claim)
            elif "ephemeral" in volume:
                claims.add(f"{pod['metadata']['name']}-{volume.get('name')}")
        if not claims or is_terminated(pod):
            continue
        namespace = pod["metadata"].get("namespace") or ""
        for claim in claims:
            users[(namespace, claim)].append(pod)
    return users


def _lost(state: ClusterState, claim: Mapping[str, Any], users: _Users) -> Finding:
    name, namespace = claim["metadata"]["name"], claim["metadata"].get("namespace")
    volume = (claim.get("spec") or {}).get("volumeName") or "its volume"
    pods = [p["metadata"]["name"] for p in users.get((namespace or "", name), ())]
    return Finding.about(
        claim, severity=Severity.ERROR, reason="ClaimLost",
        message=f"PersistentVolumeClaim {name} is Lost: PersistentVolume {volume} no longer "
                "exists" + (f"; used by {', '.join(pods)}" if pods else "") + ".",
        evidence=["phase=Lost", f"spec.volumeName={volume}",
                  *(describe_event(e) for e in state.events_for(claim)[-3:])],
        remediation=[
            f"kubectl get pv {volume}  # gone: restore the disk from a backup or snapshot",
            f"Or delete and recreate the claim (data is lost): kubectl delete pvc {name}"
            f"{ns_flag(namespace)}",
        ],
    )


def _volume(state: ClusterState, volume: Mapping[str, Any]) -> Finding | None:
    name = volume["metadata"]["name"]
    spec, status = volume.get("spec") or {}, volume.get("status") or {}
    phase, policy = status.get("phase"), spec.get("persistentVolumeReclaimPolicy", "Delete")
    claim = spec.get("claimRef") or {}
    claim_text = f"{claim.get('namespace')}/{claim.get('name')}" if claim else "none"
    evidence = [f"phase={phase}", f"reclaimPolicy={policy}", f"claimRef={claim_text}"]
    if status.get("message"):
        evidence.append(f"message: {status['message']}")
    if phase == "Failed":
        return Finding.about(
            volume, severity=Severity.ERROR, reason="VolumeFailed",
            message=f"PersistentVolume {name} failed reclamation: "
                    f"{status.get('message') or status.get('reason') or 'no message'}",
            evidence=evidence,
            remediation=[
                f"kubectl describe pv {name}",
                "Clean up the backing storage by hand, then: kubectl delete pv " + name,
            ],
        )
    if phase != "Released":
        return None
    if policy == "Retain":
        return Finding.about(
            volume, severity=Severity.INFO, reason="ReleasedRetained",
            message=f"PersistentVolume {name} was released by claim {claim_text} and is kept "
                    f"({_size(volume)}, reclaimPolicy Retain); no new claim can bind it as is.",
            evidence=evidence,
            remediation=[
                f"Back up what you need, then delete it: kubectl delete pv {name} (and its disk)",
                f"Or make it bindable again: kubectl patch pv {name} --type json "
                "-p '[{\"op\":\"remove\",\"path\":\"/spec/claimRef\"}]'",
            ],
        )
    failed_delete = _latest(state.events_for(volume), "VolumeFailedDelete")
    if policy == "Delete" and failed_delete is not None:
        return Finding.about(
            volume, severity=Severity.WARNING, reason="VolumeDeletionFailing",
            message=f"PersistentVolume {name} should be deleted but deletion fails: "
                    f"{_message(failed_delete)}",
            evidence=[*evidence, *(describe_event(e) for e in state.events_for(volume)[-3:])],
            remediation=[f"kubectl describe pv {name}", "Fix what the message names (often "
                         "the disk is still attached, or the provisioner lacks permission)."],
        )
    return None


def _default_classes(state: ClusterState) -> Iterator[Finding]:
    defaults = sorted(
        (c for c in state.objects("StorageClass") if is_default_class(c)),
        key=lambda c: (c["metadata"].get("creationTimestamp") or "", c["metadata"]["name"]),
    )
    if len(defaults) < 2:
        return
    chosen = defaults[-1]["metadata"]["name"]
    names = ", ".join(c["metadata"]["name"] for c in defaults)
    for storage_class in defaults[:-1]:
        name = storage_class["metadata"]["name"]
        yield Finding.about(
            storage_class, severity=Severity.WARNING, reason="MultipleDefaultStorageClasses",
            message=f"StorageClass {name} is marked default, and so are others ({names}); "
                    f"claims without a class get {chosen}, the most recently created.",
            evidence=[f"default classes: {names}"],
            remediation=[
                "Keep exactly one default: kubectl patch storageclass " + name + " -p "
                "'{\"metadata\":{\"annotations\":{\"storageclass.kubernetes.io/"
                "is-default-class\":\"false\"}}}'",
            ],
        )


def _latest(events: Sequence[Mapping[str, Any]], reason: str) -> Mapping[str, Any] | None:
    return next((e for e in reversed(events) if e.get("reason") == reason), None)


def _message(event: Mapping[str, Any]) -> str:
    return (event.get("message") or event.get("note") or "").strip()


def _quoted(event: Mapping[str, Any] | None) -> str:
    return f" ({event.get('reason')}: {_message(event)})" if event else ""


def _size(obj: Mapping[str, Any]) -> str:
    spec = obj.get("spec") or {}
    return ((spec.get("capacity") or {}).get("storage")
            or ((spec.get("resources") or {}).get("requests") or {}).get("storage")
            or "unknown size")


ANALYZER = Analyzer(
    name="storage",
    kinds=("PersistentVolumeClaim", "PersistentVolume", "StorageClass", "Pod", "Event",
           "ReplicaSet"),
    analyze=analyze,
    doc=__doc__ or "",
)
