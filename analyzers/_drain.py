"""Whether a cordoned node's drain is held up by PodDisruptionBudgets. Private to the node
analyzer.

``kubectl drain`` (and the cluster autoscaler, Karpenter, managed node upgrades) evicts each pod
through the Eviction API, which refuses while a budget selecting the pod allows no disruption
(``Cannot evict pod as it would violate the pod's disruption budget``). The node then stays
cordoned with its pods on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis import ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import absence_is_known, format_duration, is_terminated
from k8sdoctor.cluster.selectors import matches_label_selector

DRAIN_GRACE_SECONDS = 10 * 60
"""A drain younger than this may be waiting for evicted pods to become ready elsewhere."""
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


@dataclass(frozen=True)
class Blocker:
    budget: Mapping[str, Any]
    pods: tuple[str, ...]

    @property
    def label(self) -> str:
        meta = self.budget["metadata"]
        return f"PodDisruptionBudget {meta.get('namespace')}/{meta['name']}"


def drain_blockers(state: ClusterState, node: Mapping[str, Any],
                   pods_here: list[Mapping[str, Any]]) -> list[Blocker]:
    """The budgets that allow no disruption of a pod still on the cordoned ``node``, once the
    node has been cordoned for ``DRAIN_GRACE_SECONDS`` (when its taint says since when)."""
    if not absence_is_known(state, "PodDisruptionBudget"):
        return []
    cordoned_for = _cordoned_for(state, node)
    if cordoned_for is not None and cordoned_for < DRAIN_GRACE_SECONDS:
        return []
    blockers = []
    for budget in state.objects("PodDisruptionBudget"):
        if (budget.get("status") or {}).get("disruptionsAllowed", 1) != 0:
            continue
        namespace = budget["metadata"].get("namespace")
        selector = (budget.get("spec") or {}).get("selector")
        if selector is None:
            continue
        held = tuple(p["metadata"]["name"] for p in pods_here
                     if p["metadata"].get("namespace") == namespace and not is_terminated(p)
                     and not _daemon_pod(p)
                     and matches_label_selector(selector, p["metadata"].get("labels")))
        if held:
            blockers.append(Blocker(budget, held))
    return blockers


def drain_blocked_finding(state: ClusterState, node: Mapping[str, Any],
                          blockers: list[Blocker]) -> Finding:
    name = node["metadata"]["name"]
    cordoned_for = _cordoned_for(state, node)
    since = f" for {format_duration(cordoned_for)}" if cordoned_for is not None else ""
    first = blockers[0]
    status = first.budget.get("status") or {}
    budget_ns = first.budget["metadata"].get("namespace")
    return Finding.about(
        node, severity=Severity.WARNING, reason="DrainBlocked",
        message=f"Node {name} has been cordoned{since} but cannot be drained: "
                f"{first.label} allows 0 disruptions ({status.get('currentHealthy', 0)} healthy, "
                f"{status.get('desiredHealthy', 0)} required), so its pod "
                f"{first.pods[0]} cannot be evicted"
                + (f", and {len(blockers) - 1} more budget(s) hold pods here"
                   if len(blockers) > 1 else "") + ".",
        evidence=["spec.unschedulable=true",
                  *(f"{b.label}: disruptionsAllowed=0, holds pods on this node: "
                    f"{', '.join(b.pods[:5])}" for b in blockers)],
        remediation=[f"kubectl get pdb {first.budget['metadata']['name']} -n {budget_ns} -o yaml"
                     "  # minAvailable/maxUnavailable against the replicas",
                     "Scale the workload up (so one pod may move), relax the budget, or make "
                     "its unhealthy pods healthy; then kubectl drain "
                     f"{name} --ignore-daemonsets --delete-emptydir-data"],
    )


def _cordoned_for(state: ClusterState, node: Mapping[str, Any]) -> float | None:
    for taint in (node.get("spec") or {}).get("taints") or ():
        if taint.get("key") == UNSCHEDULABLE_TAINT:
            return state.age_of(taint.get("timeAdded"))
    return None


def _daemon_pod(pod: Mapping[str, Any]) -> bool:
    return any(ref.get("kind") == "DaemonSet"
               for ref in pod["metadata"].get("ownerReferences") or ())
