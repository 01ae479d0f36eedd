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
their pods were created less than 3 minutes (plus ``minReadySeconds``) ago and are still
starting (a scale-up, a rescheduled pod); a Deployment scaled to zero, or one whose latest spec
the controller has not observed yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import conditions, describe_condition, ns_flag, selector_flag

from ._workload_pods import (
    STARTING_GRACE_SECONDS,
    describe_not_ready,
    is_ready,
    is_starting,
    live_pods,
    why_not_ready,
)

_ROLLOUT_IN_PROGRESS = {"NewReplicaSetCreated", "FoundNewReplicaSet", "ReplicaSetUpdated"}
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
    replica_sets = [rs["metadata"].get("uid", "") for rs in state.owned_by(meta.get("uid", ""))
                    if rs.get("kind") == "ReplicaSet"]
    pods = live_pods(state, replica_sets)
    not_ready = [pod for pod in pods if not is_ready(pod)]
    grace = STARTING_GRACE_SECONDS + spec.get("minReadySeconds", 0)
    if state.has_kind("Pod") and len(pods) >= desired and all(
        is_starting(state, pod, grace) for pod in not_ready
    ):
        return  # pods of a scale-up or a replacement are still starting
    evidence += [f"pod {pod['metadata']['name']} not ready: {why_not_ready(pod, state)}"
                 for pod in not_ready[:_MAX_NAMED_PODS]]
    named = describe_not_ready(not_ready, state, _MAX_NAMED_PODS)
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


ANALYZER = Analyzer(
    name="deployment",
    kinds=("Deployment", "ReplicaSet", "Pod", "Node"),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({"Paused"}),
)
