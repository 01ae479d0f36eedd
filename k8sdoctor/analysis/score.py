"""The health score: the share of workloads with no error or critical finding, per namespace and
for the whole cluster.

A workload is an object nothing else controls among Deployments, StatefulSets, DaemonSets,
CronJobs, Jobs, ReplicaSets and Pods (so a Deployment counts once, not again through its
ReplicaSets and pods, and a CronJob's Jobs belong to the CronJob). A workload is unhealthy when a
finding of severity ``error`` or ``critical`` is on it or on an object it owns (its pods, its
ReplicaSets, its Jobs). The score is ``100 * healthy / workloads``, rounded down, so one broken
workload keeps a namespace below 100. Warnings and info findings do not lower it, and neither do
findings on objects outside any workload (a node, a webhook): those are in the findings and the
severity counts. A namespace with no workload has no score; nor has a cluster.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.cluster.state import ClusterState, ObjectRef, ref_of

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet", "Pod")
BASIS = ("share of workloads (objects nothing controls among Deployments, StatefulSets, "
         "DaemonSets, CronJobs, Jobs, ReplicaSets and Pods) with no error or critical finding "
         "on them or on what they own; 100 * healthy / workloads, rounded down")


@dataclass(frozen=True)
class NamespaceScore:
    score: int
    workloads: int
    unhealthy: int

    def to_dict(self) -> dict[str, int]:
        return {"score": self.score, "workloads": self.workloads, "unhealthy": self.unhealthy}


@dataclass(frozen=True)
class HealthScore:
    cluster: NamespaceScore | None
    namespaces: Mapping[str, NamespaceScore]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster.score if self.cluster else None,
            "workloads": self.cluster.workloads if self.cluster else 0,
            "unhealthy": self.cluster.unhealthy if self.cluster else 0,
            "namespaces": {ns: s.to_dict() for ns, s in sorted(self.namespaces.items())},
            "basis": BASIS,
        }


def health_score(state: ClusterState, findings: Iterable[Finding],
                 counts_namespace: Callable[[str], bool] | None = None) -> HealthScore:
    """Score the workloads in ``state`` against ``findings``; ``counts_namespace(ns) -> bool``
    leaves out namespaces (``--namespace-exclude``)."""
    workloads: dict[ObjectRef, str] = {}
    for kind in WORKLOAD_KINDS:
        for obj in state.objects(kind):
            namespace = (obj.get("metadata") or {}).get("namespace")
            if namespace is None or state.workload_of(obj) is not None:
                continue
            if counts_namespace is not None and not counts_namespace(namespace):
                continue
            workloads[ref_of(obj)] = namespace
    failing = {f.parent or f.object_ref for f in findings if f.severity >= Severity.ERROR}
    total: dict[str, int] = defaultdict(int)
    bad: dict[str, int] = defaultdict(int)
    for ref, namespace in workloads.items():
        total[namespace] += 1
        bad[namespace] += ref in failing
    namespaces = {ns: _score(total[ns], bad[ns]) for ns in total}
    cluster = _score(sum(total.values()), sum(bad.values())) if total else None
    return HealthScore(cluster=cluster, namespaces=namespaces)


def _score(workloads: int, unhealthy: int) -> NamespaceScore:
    return NamespaceScore(score=100 * (workloads - unhealthy) // workloads,
                          workloads=workloads, unhealthy=unhealthy)
