"""Deployments whose rollout failed or whose replicas are not available.

Faults reported:

- ``ProgressDeadlineExceeded`` (error; critical when no replica is available): the Progressing
  condition is False because the new ReplicaSet did not become available within
  ``spec.progressDeadlineSeconds``. Fix: look at the new pods' findings (crash, image, scheduling),
  fix the cause, or roll back with ``kubectl rollout undo deployment/NAME``.
- ``ReplicaFailure`` (error): the ReplicaSet controller could not create pods (quota, Pod
  Security admission, a webhook denial); the controller's message is quoted. Fix: what the
  message names - raise the quota, fix the pod spec, or the webhook.
- ``NoReplicasAvailable`` (critical): the rollout is complete but not one replica is available.
  The first pods that are not ready are named with why (``CrashLoopBackOff``, ``Unschedulable``).
  Fix: see those pods' findings; ``kubectl describe deployment NAME``.
- ``ReplicasUnavailable`` (warning; error below minimum availability, the Available condition
  False): some replicas are not available although no rollout is in progress; the pods that are
  not ready are named.
- ``Paused`` (info): the rollout is paused and spec changes are not being rolled out. Fix:
  ``kubectl rollout resume deployment/NAME``.

Not reported: a rollout still progressing inside its deadline; replicas missing only because
their pods were created less than ``STARTING_GRACE_SECONDS`` ago and are still starting (a
scale-up, a rescheduled pod); a Deployment scaled to zero, or one whose latest spec the
controller has not observed yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import conditions, describe_condition, ns_flag, selector_flag

STARTING_GRACE_SECONDS = 180
"""Pods younger than this (plus the Deployment's minReadySeconds) that are creating their
containers are starting, not failing."""

_ROLLOUT_IN_PROGRESS = {"NewReplicaSetCreated", "FoundNewReplicaSet", "ReplicaSetUpdated"}
_STARTING_WAITS = {None, "ContainerCreating", "PodInitializing"}
_MAX_NAMED_PODS = 3


def analyze(state: ClusterState) -> Iterator[Finding]:
    for deployment in state.objects("Deployment"):
        yield from _check(state, deployment)


def _check(state: ClusterState, deployment: Mapping[str, Any]) -> Iterator[Finding]:
    meta, spec = deployment["metadata"], deployment.get("spec") or {}
    status = deployment.get("status") or {}
    name, namespace = meta["name"], meta.get("namespace")
    ns = ns_flag(namespace)
    selector = selector_flag(spec.get("selector"))
    by_type = conditions(deployment)
    progressing = by_type.get("Progressing") or {}
    available_cond = by_type.get("Available") or {}
    replica_failure = by_type.get("ReplicaFailure") or {}
    desired = spec.get("replicas", 1)
    available = status.get("availableReplicas", 0)
    evidence = [
        f"replicas desired={desired} updated={status.get('updatedReplicas', 0)} "
        f"ready={status.get('readyReplicas', 0)} available={available}"
    ]
    evidence += [describe_condition(c) for c in by_type.values()]

    if spec.get("paused"):
        yield Finding.about(
            deployment, severity=Severity.INFO, reason="Paused",
            message=f"Deployment {name} is paused: changes to its pod template are not rolled "
                    "out.",
            evidence=evidence,
            remediation=[f"kubectl rollout resume deployment/{name}{ns}"],
        )
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return  # the controller has not acted on the latest spec yet

    if replica_failure.get("status") == "True":
        yield Finding.about(
            deployment, severity=Severity.ERROR, reason="ReplicaFailure",
            message=f"Deployment {name} cannot create pods: "
                    f"{replica_failure.get('message', '').rstrip('.')}.",
            evidence=evidence,
            remediation=[
                f"kubectl describe replicaset -l {selector}{ns}  # see the FailedCreate events",
                "Fix what the message names: raise the ResourceQuota, make the pod spec pass "
                "Pod Security admission, or fix the denying webhook.",
            ],
        )

    if desired == 0:
        return
    none_available = available == 0
    if progressing.get("status") == "False" and progressing.get("reason") == (
        "ProgressDeadlineExceeded"
    ):
        yield Finding.about(
            deployment,
            severity=Severity.CRITICAL if none_available else Severity.ERROR,
            reason="ProgressDeadlineExceeded",
            message=f"Rollout of Deployment {name} failed: {progressing.get('message', '')} "
                    f"({available}/{desired} replicas available).",
            evidence=evidence,
            remediation=[
                f"kubectl rollout status deployment/{name}{ns}",
                "Fix the new pods' fault (see their findings), or roll back: "
                f"kubectl rollout undo deployment/{name}{ns}",
            ],
        )
        return
    rollout_in_progress = (
        progressing.get("status") == "True"
        and progressing.get("reason") in _ROLLOUT_IN_PROGRESS
    )
    if available >= desired or rollout_in_progress:
        return
    pods = _pods_of(state, deployment)
    not_ready = [pod for pod in pods if not _ready(pod)]
    min_ready = spec.get("minReadySeconds", 0)
    if state.has_kind("Pod") and len(pods) >= desired and all(
        _starting(state, pod, min_ready) for pod in not_ready
    ):
        return  # pods of a scale-up or a replacement are still starting
    evidence += [f"pod {pod['metadata']['name']} not ready: {_why_not_ready(pod)}"
                 for pod in not_ready[:_MAX_NAMED_PODS]]
    named = "; ".join(f"{p['metadata']['name']}: {_why_not_ready(p)}"
                      for p in not_ready[:_MAX_NAMED_PODS])
    suffix = f" (not ready: {named})" if named else ""
    if none_available:
        yield Finding.about(
            deployment, severity=Severity.CRITICAL, reason="NoReplicasAvailable",
            message=f"Deployment {name} has no available replica (0/{desired}){suffix}.",
            evidence=evidence,
            remediation=[
                f"kubectl get pods -l {selector}{ns}  # then see the pods' findings",
                f"kubectl describe deployment {name}{ns}",
            ],
        )
        return
    below_minimum = available_cond.get("status") == "False"
    yield Finding.about(
        deployment,
        severity=Severity.ERROR if below_minimum else Severity.WARNING,
        reason="ReplicasUnavailable",
        message=f"Deployment {name} has {desired - available} of {desired} replicas "
                "unavailable" + (", below its minimum availability" if below_minimum else "")
                + f"{suffix}.",
        evidence=evidence,
        remediation=[f"kubectl get pods -l {selector}{ns}  # then see the pods' findings",
                     f"kubectl describe deployment {name}{ns}"],
    )


def _pods_of(state: ClusterState, deployment: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The live pods of the Deployment's ReplicaSets, oldest first."""
    pods = [
        pod
        for replica_set in state.owned_by(deployment["metadata"].get("uid", ""))
        if replica_set.get("kind") == "ReplicaSet"
        for pod in state.owned_by(replica_set["metadata"].get("uid", ""))
        if pod.get("kind") == "Pod" and not pod["metadata"].get("deletionTimestamp")
        and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    return sorted(pods, key=lambda p: (p["metadata"].get("creationTimestamp", ""),
                                       p["metadata"].get("name", "")))


def _ready(pod: Mapping[str, Any]) -> bool:
    return (conditions(pod).get("Ready") or {}).get("status") == "True"


def _starting(state: ClusterState, pod: Mapping[str, Any], min_ready_seconds: int) -> bool:
    age = state.age_of(pod["metadata"].get("creationTimestamp"))
    if age is None or age >= STARTING_GRACE_SECONDS + min_ready_seconds:
        return False
    if (conditions(pod).get("PodScheduled") or {}).get("status") == "False":
        return False
    return all(s.get("restartCount", 0) == 0
               and ((s.get("state") or {}).get("waiting") or {}).get("reason") in _STARTING_WAITS
               for s in _container_statuses(pod))


def _container_statuses(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]


def _why_not_ready(pod: Mapping[str, Any]) -> str:
    """The most telling reason a pod is not ready: a container's waiting or terminated reason,
    or the scheduler's."""
    scheduled = conditions(pod).get("PodScheduled") or {}
    if scheduled.get("status") == "False":
        return scheduled.get("reason") or "not scheduled"
    for container in _container_statuses(pod):
        state = container.get("state") or {}
        reason = (state.get("waiting") or state.get("terminated") or {}).get("reason")
        if reason and reason not in ("Completed", "PodInitializing"):
            return f"{reason} ({container.get('name')})"
        if "running" in state and not container.get("ready"):
            return f"container {container.get('name')} running but not ready"
    return (pod.get("status") or {}).get("phase") or "unknown"


ANALYZER = Analyzer(
    name="deployment",
    kinds=("Deployment", "ReplicaSet", "Pod"),
    analyze=analyze,
    doc=__doc__ or "",
)
