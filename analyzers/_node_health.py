"""Whether a node is down, as the node analyzer judges it, for the analyzers of what runs there.

A node is down when its Ready condition is False or Unknown, unless it is still joining (created
minutes ago) or on its way out (an autoscaler's deletion taint, a pending delete): those are
normal moments of a node's life, not faults. The node analyzer reports the node itself; the pod
analyzer reports the pods bound to it with this same judgement, so the two never disagree.
Private; it declares no analyzer of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis import ClusterState
from k8sdoctor.analysis.objects import conditions

JOINING_GRACE_SECONDS = 300
"""A node younger than this is still joining; NotReady is expected for a short while."""

_AUTOSCALER_TAINTS = {
    "ToBeDeletedByClusterAutoscaler": "the cluster autoscaler is removing it",
    "karpenter.sh/disrupted": "Karpenter is removing it",
    "karpenter.sh/disruption": "Karpenter is removing it",
}


@dataclass(frozen=True)
class DownNode:
    """A node whose kubelet is not running its pods: its name and its Ready condition."""

    name: str
    ready: Mapping[str, Any]

    @property
    def status(self) -> str:
        """``NodeStatusUnknown`` (unreachable) or ``NotReady``, as the node analyzer names it."""
        return "NodeStatusUnknown" if self.ready.get("status") == "Unknown" else "NotReady"


def being_removed(node: Mapping[str, Any]) -> str | None:
    """Why the node is on its way out (an autoscaler's deletion taint, a pending delete), if it
    is."""
    for taint in (node.get("spec") or {}).get("taints") or ():
        if reason := _AUTOSCALER_TAINTS.get(taint.get("key", "")):
            return reason
    return "it is being deleted" if node["metadata"].get("deletionTimestamp") else None


def is_joining(state: ClusterState, node: Mapping[str, Any]) -> bool:
    age = state.age_of(node["metadata"].get("creationTimestamp"))
    return age is not None and age < JOINING_GRACE_SECONDS


def down_node(state: ClusterState, node_name: str | None) -> DownNode | None:
    """The node ``node_name`` when it is down (Ready False or Unknown), neither joining nor
    being removed; None otherwise, or when it is unknown."""
    node = state.get("Node", None, node_name) if node_name else None
    if node is None:
        return None
    ready = conditions(node).get("Ready")
    if not ready or ready.get("status") not in ("False", "Unknown"):
        return None
    if being_removed(node) or is_joining(state, node):
        return None
    return DownNode(node["metadata"]["name"], ready)
