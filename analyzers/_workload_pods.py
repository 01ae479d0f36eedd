"""The pods of a workload as its analyzer sees them: live or not, ready or not, and why.

Shared by the workload analyzers (and the pod, Job and CronJob analyzers, for the order of
attempts) so that "which pod is failing, and how" reads the same everywhere, and so that pods
that are merely starting (created moments ago, still creating their containers) are never taken
for failing ones. Private; it declares no analyzer of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from k8sdoctor.analysis import ClusterState
from k8sdoctor.analysis.objects import conditions
from k8sdoctor.cluster.state import controller_ref

STARTING_GRACE_SECONDS = 180
"""Pods younger than this (3 minutes) that are still creating their containers are starting,
not failing."""

_STARTING_WAITS = {None, "ContainerCreating", "PodInitializing"}


def creation_order(obj: Mapping[str, Any]) -> tuple[str, str]:
    """Sort key: oldest first by ``creationTimestamp``, ties broken by name."""
    meta = obj.get("metadata") or {}
    return meta.get("creationTimestamp", ""), meta.get("name", "")


def live_pods(state: ClusterState, owner_uids: Iterable[str]) -> list[Mapping[str, Any]]:
    """Pods controlled by any of ``owner_uids`` that are neither finished nor being deleted,
    oldest first."""
    pods = [
        pod
        for uid in owner_uids
        for pod in state.owned_by(uid)
        if pod.get("kind") == "Pod" and not pod["metadata"].get("deletionTimestamp")
        and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    return sorted(pods, key=creation_order)


def superseded(state: ClusterState, job: Mapping[str, Any]) -> bool:
    """A CronJob's run that a newer, completed run of the same CronJob has made history."""
    owner = controller_ref(job)
    if owner is None or owner.get("kind") != "CronJob":
        return False
    created = job["metadata"].get("creationTimestamp", "")
    return any(
        sibling.get("kind") == "Job"
        and sibling["metadata"].get("creationTimestamp", "") > created
        and (conditions(sibling).get("Complete") or {}).get("status") == "True"
        for sibling in state.owned_by(owner.get("uid", ""))
    )


def is_ready(pod: Mapping[str, Any]) -> bool:
    return (conditions(pod).get("Ready") or {}).get("status") == "True"


def container_statuses(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The statuses of the init containers, then of the app containers."""
    status = pod.get("status") or {}
    return [*(status.get("initContainerStatuses") or ()), *(status.get("containerStatuses") or ())]


def is_starting(state: ClusterState, pod: Mapping[str, Any],
                grace_seconds: float = STARTING_GRACE_SECONDS) -> bool:
    """Created less than ``grace_seconds`` ago, scheduled, and with no container that has
    failed yet: a pod on its way up, not a failing one."""
    age = state.age_of(pod["metadata"].get("creationTimestamp"))
    if age is None or age >= grace_seconds:
        return False
    if (conditions(pod).get("PodScheduled") or {}).get("status") == "False":
        return False
    return all(s.get("restartCount", 0) == 0
               and ((s.get("state") or {}).get("waiting") or {}).get("reason") in _STARTING_WAITS
               for s in container_statuses(pod))


def why_not_ready(pod: Mapping[str, Any], state: ClusterState) -> str:
    """The most telling reason a pod is not ready: the scheduler's, its node's (the node
    controller marks the pods of an unreachable node not ready, while their container statuses
    go stale), or a container's waiting or terminated reason."""
    scheduled = conditions(pod).get("PodScheduled") or {}
    if scheduled.get("status") == "False":
        return scheduled.get("reason") or "not scheduled"
    node_name = (pod.get("spec") or {}).get("nodeName")
    node = state.get("Node", None, node_name) if node_name else None
    node_ready = (conditions(node).get("Ready") or {}) if node is not None else {}
    if node_ready and node_ready.get("status") != "True":
        why = node_ready.get("reason") or f"Ready={node_ready.get('status')}"
        return f"node {node_name} not Ready ({why})"
    for container in container_statuses(pod):
        container_state = container.get("state") or {}
        reason = (container_state.get("waiting") or container_state.get("terminated")
                  or {}).get("reason")
        if reason and reason not in ("Completed", "PodInitializing"):
            return f"{reason} ({container.get('name')})"
        if "running" in container_state and not container.get("ready"):
            return f"container {container.get('name')} running but not ready"
    ready = conditions(pod).get("Ready") or {}
    if ready.get("status") == "False":
        return f"Ready=False{' (' + ready['reason'] + ')' if ready.get('reason') else ''}"
    return (pod.get("status") or {}).get("phase") or "unknown"


def describe_not_ready(pods: Iterable[Mapping[str, Any]], state: ClusterState,
                       limit: int = 3) -> str:
    """``web-0: CrashLoopBackOff (app); web-1: Unschedulable`` for the first ``limit`` pods."""
    return "; ".join(f"{p['metadata']['name']}: {why_not_ready(p, state)}"
                     for p in list(pods)[:limit])
