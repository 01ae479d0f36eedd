"""Workload controllers and the pods they own: Deployments (with the ReplicaSets of past
revisions), DaemonSets (one pod per node), StatefulSets (with the claims of their
``volumeClaimTemplates`` and the volumes provisioned for them) and Jobs, each with the status its
controller computes from its pods and the events it records.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, NamedTuple

from .kit import HOUR, MINUTE, Cluster, Obj, at, digest, suffix
from .pods import is_ready, pod, template

Place = Callable[[], Obj]
"""Picks the node for the next pod."""


def _status(**fields: Any) -> Obj:
    """A status as the API serializes it: zero counts are left out."""
    return {key: value for key, value in sorted(fields.items()) if value not in (0, None)}


# -- Deployments ------------------------------------------------------------------------------


def deployment(cluster: Cluster, place: Place, namespace: str, name: str, *, replicas: int,
               labels: Mapping[str, str], spec: Obj, age: float, updated: float,
               state: str = "Running", detail: str = "", pending: int = 0,
               new_spec: Obj | None = None) -> tuple[Obj, list[Obj]]:
    """A Deployment at revision 3, its ReplicaSets and its pods.

    The current ReplicaSet's pods are in ``state``, the last ``pending`` of them unschedulable
    (``detail``: the scheduler's message). With ``new_spec`` the rollout to it is stuck: its
    first pod is in ``state`` (``detail``: kubelet's message) while revision 2 keeps serving.
    """
    stuck = new_spec is not None
    dep: Obj = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": cluster.meta("Deployment", name, namespace, age=age, generation=3,
                                 labels=labels,
                                 annotations={"deployment.kubernetes.io/revision": "3"}),
        "spec": {"progressDeadlineSeconds": 600, "replicas": replicas,
                 "revisionHistoryLimit": 10, "selector": {"matchLabels": dict(labels)},
                 "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                              "type": "RollingUpdate"},
                 "template": template(labels, new_spec or spec)},
    }
    created = {1: age, 2: updated if stuck else (age + updated) / 2,
               3: 40 * MINUTE if stuck else updated}

    def plans(revision: int) -> list[tuple[str, str, float]]:
        """The state, detail and age of each pod of the ReplicaSet of ``revision``."""
        if stuck:
            return {2: [("Running", "", created[2] - 5)] * replicas,
                    3: [(state, detail, 40 * MINUTE)]}.get(revision, [])
        if revision < 3:
            return []
        return [("Unschedulable", detail, 25 * MINUTE) if k >= replicas - pending
                else (state, detail, created[3] - 5 - k * 7) for k in range(replicas)]

    pods: list[Obj] = []
    for revision in (1, 2, 3):
        pod_hash = suffix(10 - revision % 2, namespace, name, revision)
        rs_spec = new_spec if stuck and revision == 3 else spec
        planned = plans(revision)
        rs = replica_set(cluster, dep, pod_hash, revision=revision, age=created[revision],
                         replicas=len(planned), ready=sum(p[0] == "Running" for p in planned),
                         labels=labels, spec=rs_spec)
        rs_name = rs["metadata"]["name"]
        for k, (pod_state, pod_detail, pod_age) in enumerate(planned):
            pods.append(pod(cluster, namespace, f"{rs_name}-{suffix(5, rs_name, k)}", owner=rs,
                            labels={**labels, "pod-template-hash": pod_hash}, spec=rs_spec,
                            node_obj=None if pod_state == "Unschedulable" else place(),
                            age=pod_age, state=pod_state, detail=pod_detail))
    ready = sum(is_ready(p) for p in pods)
    current = f"{name}-{suffix(9, namespace, name, 3)}"
    available = ready >= replicas - replicas // 4
    since = updated - 30 if available else 25 * MINUTE if pending else min(updated, 2 * HOUR)
    dep["status"] = _status(
        availableReplicas=ready, observedGeneration=3, readyReplicas=ready, replicas=len(pods),
        updatedReplicas=1 if stuck else replicas, unavailableReplicas=len(pods) - ready,
        conditions=[
            {"lastTransitionTime": at(since), "lastUpdateTime": at(since),
             "message": "Deployment has minimum availability." if available
             else "Deployment does not have minimum availability.",
             "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
             "status": "True" if available else "False", "type": "Available"},
            {"lastTransitionTime": at(30 * MINUTE if stuck else updated - 60),
             "lastUpdateTime": at(30 * MINUTE if stuck else updated - 60),
             "message": f'ReplicaSet "{current}" has '
                        + ("timed out progressing." if stuck else "successfully progressed."),
             "reason": "ProgressDeadlineExceeded" if stuck else "NewReplicaSetAvailable",
             "status": "False" if stuck else "True", "type": "Progressing"}])
    return cluster.add(dep), pods


def replica_set(cluster: Cluster, deployment: Obj, pod_hash: str, *, revision: int, age: float,
                replicas: int, ready: int, labels: Mapping[str, str], spec: Obj) -> Obj:
    name = deployment["metadata"]["name"]
    namespace = deployment["metadata"]["namespace"]
    pod_labels = {**labels, "pod-template-hash": pod_hash}
    return cluster.add({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": cluster.meta(
            "ReplicaSet", f"{name}-{pod_hash}", namespace, age=age, generation=1,
            owner=deployment, labels=pod_labels,
            annotations={"deployment.kubernetes.io/desired-replicas":
                         str(deployment["spec"]["replicas"]),
                         "deployment.kubernetes.io/max-replicas":
                         str(deployment["spec"]["replicas"] + 1),
                         "deployment.kubernetes.io/revision": str(revision)}),
        "spec": {"replicas": replicas, "selector": {"matchLabels": pod_labels},
                 "template": template(pod_labels, spec)},
        "status": {"observedGeneration": 1, "replicas": replicas,
                   **_status(availableReplicas=ready, fullyLabeledReplicas=replicas,
                             readyReplicas=ready)},
    })


# -- DaemonSets -------------------------------------------------------------------------------


def daemonset(cluster: Cluster, namespace: str, name: str, *, labels: Mapping[str, str],
              spec: Obj, nodes: Sequence[Obj], age: float,
              crashing: Collection[int] = ()) -> list[Obj]:
    """A DaemonSet with one pod on each of ``nodes``, pinned there by the node affinity the
    controller adds; the pods on the nodes at the ``crashing`` indexes crash-loop."""
    ds: Obj = {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": cluster.meta("DaemonSet", name, namespace, age=age, generation=1,
                                 labels=labels, annotations={
                                     "deprecated.daemonset.template.generation": "1"}),
        "spec": {"revisionHistoryLimit": 10, "selector": {"matchLabels": dict(labels)},
                 "template": template(labels, spec),
                 "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                                    "type": "RollingUpdate"}},
    }
    revision = suffix(10, namespace, name, "revision")
    pods = []
    for index, node_obj in enumerate(nodes):
        node_name = node_obj["metadata"]["name"]
        pinned = {**spec, "affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
                "matchFields": [{"key": "metadata.name", "operator": "In",
                                 "values": [node_name]}]}]}}}}
        pods.append(pod(cluster, namespace, f"{name}-{suffix(5, name, node_name)}", owner=ds,
                        labels={**labels, "controller-revision-hash": revision,
                                "pod-template-generation": "1"},
                        spec=pinned, node_obj=node_obj, age=age - 60 - index * 5,
                        state="CrashLoop" if index in crashing else "Running"))
    ready = sum(is_ready(p) for p in pods)
    ds["status"] = _status(currentNumberScheduled=len(pods), desiredNumberScheduled=len(pods),
                           numberAvailable=ready, numberReady=ready,
                           numberUnavailable=len(pods) - ready, observedGeneration=1,
                           updatedNumberScheduled=len(pods))
    ds["status"]["numberMisscheduled"] = 0
    cluster.add(ds)
    return pods


# -- StatefulSets -----------------------------------------------------------------------------


def statefulset(cluster: Cluster, place: Place, namespace: str, name: str, *, replicas: int,
                labels: Mapping[str, str], spec: Obj, age: float, storage_class: str,
                size: str, provisioner: str, failure: str | None = None,
                unscheduled: str = "") -> list[Obj]:
    """A StatefulSet with a ``data`` claim per pod, each Bound to a provisioned volume.

    With ``failure`` (the provisioner's error) the first claim stays Pending, so pod 0 cannot be
    scheduled (``unscheduled``: the scheduler's message) and, the pods being created in order,
    no other pod exists yet.
    """
    sts: Obj = {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": cluster.meta("StatefulSet", name, namespace, age=age, generation=1,
                                 labels=labels),
        "spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain",
                                                          "whenScaled": "Retain"},
                 "podManagementPolicy": "OrderedReady", "replicas": replicas,
                 "revisionHistoryLimit": 10, "selector": {"matchLabels": dict(labels)},
                 "serviceName": name, "template": template(labels, spec),
                 "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
                 "volumeClaimTemplates": [{
                     "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"creationTimestamp": None, "name": "data"},
                     "spec": {"accessModes": ["ReadWriteOnce"],
                              "resources": {"requests": {"storage": size}},
                              "storageClassName": storage_class, "volumeMode": "Filesystem"},
                     "status": {"phase": "Pending"}}]},
    }
    revision = f"{name}-{suffix(10, namespace, name, 'sts')}"
    pods = []
    for ordinal in range(1 if failure else replicas):
        pod_name = f"{name}-{ordinal}"
        node_obj = None if failure else place()
        claim = _claim(cluster, namespace, f"data-{pod_name}", labels, age=age - ordinal * 40,
                       storage_class=storage_class, size=size, provisioner=provisioner,
                       node_obj=node_obj, failure=failure)
        pods.append(pod(cluster, namespace, pod_name, owner=sts, age=age - ordinal * 40 - 1,
                        labels={**labels, "apps.kubernetes.io/pod-index": str(ordinal),
                                "controller-revision-hash": revision,
                                "statefulset.kubernetes.io/pod-name": pod_name},
                        spec={**spec, "hostname": pod_name, "subdomain": name, "volumes": [
                            {"name": "data", "persistentVolumeClaim": {
                                "claimName": claim["metadata"]["name"]}}]},
                        node_obj=node_obj, state="Unschedulable" if failure else "Running",
                        detail=unscheduled))
    ready = sum(is_ready(p) for p in pods)
    sts["status"] = {"availableReplicas": ready, "collisionCount": 0,
                     "currentReplicas": len(pods), "currentRevision": revision,
                     "observedGeneration": 1, **_status(readyReplicas=ready),
                     "replicas": len(pods), "updateRevision": revision,
                     "updatedReplicas": len(pods)}
    cluster.add(sts)
    return pods


def _claim(cluster: Cluster, namespace: str, name: str, labels: Mapping[str, str], *,
           age: float, storage_class: str, size: str, provisioner: str, node_obj: Obj | None,
           failure: str | None) -> Obj:
    annotations = {"volume.beta.kubernetes.io/storage-provisioner": provisioner,
                   "volume.kubernetes.io/storage-provisioner": provisioner}
    meta = cluster.meta("PersistentVolumeClaim", name, namespace, age=age, labels=labels,
                        annotations=annotations)
    meta["finalizers"] = ["kubernetes.io/pvc-protection"]
    spec: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}},
                 "storageClassName": storage_class, "volumeMode": "Filesystem"}
    claim: Obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                  "spec": spec, "status": {"phase": "Pending"}}
    if failure is not None:
        cluster.add(claim)
        controller = f"{provisioner}_ebs-csi-controller-6f8d9c7b5-q4x2m_{cluster.uid('csi')}"
        cluster.event(claim, "ProvisioningFailed", failure, first=age - 2, last=40,
                      count=int(age // 60) + 3, component=controller)
        return claim
    volume = f"pvc-{meta['uid']}"
    meta["annotations"].update({"pv.kubernetes.io/bind-completed": "yes",
                                "pv.kubernetes.io/bound-by-controller": "yes"})
    if node_obj is not None:
        meta["annotations"]["volume.kubernetes.io/selected-node"] = node_obj["metadata"]["name"]
    spec["volumeName"] = volume
    claim["status"] = {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": size},
                       "phase": "Bound"}
    cluster.add(claim)
    zone = (node_obj or {}).get("metadata", {}).get("labels", {}).get(
        "topology.kubernetes.io/zone", "eu-west-1a")
    persistent_volume(cluster, volume, age=age - 3, claim=claim, zone=zone,
                      provisioner=provisioner)
    return claim


def persistent_volume(cluster: Cluster, name: str, *, age: float, claim: Obj, zone: str,
                      provisioner: str, released: bool = False) -> Obj:
    """The volume the CSI provisioner made for ``claim``; a ``released`` one outlived its
    claim and is kept (reclaim policy Retain)."""
    meta = cluster.meta("PersistentVolume", name, age=age,
                        annotations={"pv.kubernetes.io/provisioned-by": provisioner})
    meta["finalizers"] = ["external-provisioner.volume.kubernetes.io/finalizer",
                          "kubernetes.io/pv-protection"]
    claim_meta, claim_spec = claim["metadata"], claim["spec"]
    return cluster.add({
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta,
        "spec": {"accessModes": list(claim_spec["accessModes"]),
                 "capacity": dict(claim_spec["resources"]["requests"]),
                 "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                              "name": claim_meta["name"], "namespace": claim_meta["namespace"],
                              "resourceVersion": claim_meta["resourceVersion"],
                              "uid": claim_meta["uid"]},
                 "csi": {"driver": provisioner, "fsType": "ext4",
                         "volumeHandle": f"vol-0{digest(name)[:16]}"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "topology.kubernetes.io/zone", "operator": "In",
                      "values": [zone]}]}]}},
                 "persistentVolumeReclaimPolicy": "Retain" if released else "Delete",
                 "storageClassName": claim_spec["storageClassName"],
                 "volumeMode": "Filesystem"},
        "status": {"lastPhaseTransitionTime": at(age - 1),
                   "phase": "Released" if released else "Bound"},
    })


# -- Jobs -------------------------------------------------------------------------------------


class Attempt(NamedTuple):
    """One pod of a Job: its state, when it was created and finished, and on which node."""

    state: str
    created: float
    finished: float = 0.0
    detail: str = ""
    node: Obj | None = None


def job(cluster: Cluster, place: Place, namespace: str, name: str, *, labels: Mapping[str, str],
        spec: Obj, attempts: Sequence[Attempt], outcome: str | None = None,
        owner: Obj | None = None, backoff_limit: int = 6) -> Obj:
    """A Job and a pod per attempt; ``outcome`` is None while it runs, else ``Complete`` or
    ``BackoffLimitExceeded`` (when the last attempt finished)."""
    uid = cluster.uid("Job", namespace, name)
    ids = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
           "controller-uid": uid, "job-name": name}
    age = attempts[0].created + 1
    obj: Obj = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": cluster.meta("Job", name, namespace, age=age, generation=1, owner=owner,
                                 labels={**labels, **ids}),
        "spec": {"backoffLimit": backoff_limit, "completionMode": "NonIndexed", "completions": 1,
                 "manualSelector": False, "parallelism": 1,
                 "podReplacementPolicy": "TerminatingOrFailed",
                 "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
                 "suspend": False, "template": template({**labels, **ids}, spec)},
    }
    pods = [pod(cluster, namespace, f"{name}-{suffix(5, name, k)}", owner=obj,
                labels={**labels, **ids}, spec=spec, age=a.created, state=a.state,
                detail=a.detail, finished=a.finished,
                node_obj=None if a.state == "Unschedulable" else a.node or place())
            for k, a in enumerate(attempts)]
    phases = [p["status"]["phase"] for p in pods]
    active = sum(phase in ("Pending", "Running") for phase in phases)
    status: Obj = {"startTime": at(age - 1), "uncountedTerminatedPods": {},
                   **_status(active=active, failed=phases.count("Failed"),
                             succeeded=phases.count("Succeeded")),
                   "ready": sum(is_ready(p) for p in pods), "terminating": 0}
    done = attempts[-1].finished
    if outcome is not None:
        complete = outcome == "Complete"
        message = ("Reached expected number of succeeded pods" if complete
                   else "Job has reached the specified backoff limit")
        status["conditions"] = [
            {"lastProbeTime": at(done), "lastTransitionTime": at(done), "message": message,
             "reason": "CompletionsReached" if complete else outcome, "status": "True",
             "type": kind} for kind in (("SuccessCriteriaMet", "Complete") if complete
                                        else ("FailureTarget", "Failed"))]
        if complete:
            status["completionTime"] = at(done)
    obj["status"] = dict(sorted(status.items()))
    cluster.add(obj)
    for made, attempt in zip(pods, attempts, strict=True):
        if attempt.created < HOUR:
            cluster.event(obj, "SuccessfulCreate", f"Created pod: {made['metadata']['name']}",
                          first=attempt.created, warning=False, component="job-controller")
    if outcome is not None and done < HOUR:
        if outcome == "Complete":
            cluster.event(obj, "Completed", "Job completed", first=done, warning=False,
                          component="job-controller")
        else:
            cluster.event(obj, "BackoffLimitExceeded", "Job has reached the specified backoff "
                          "limit", first=done, component="job-controller")
    return obj
