"""The cause graph: findings linked to the findings that explain them, collapsed into ranked root
causes.

Every finding lands in exactly one root cause. Within a cause the root finding is the one nothing
else explains; the others are the same fault on sibling objects or its consequences. Root causes
are ranked by severity (the worst of their findings), then by impact (how many pods, workloads,
Services and routes they break), then by a stable key, so two runs on the same state agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from k8sdoctor.analysis.correlate import FindingGroup, correlate
from k8sdoctor.analysis.finding import Finding
from k8sdoctor.analysis.rootcause import RootCause, RootObject, distinct_refs
from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.state import ClusterState, ObjectRef

WORKLOAD_KINDS = frozenset({
    "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
    "ReplicationController",
})
ROUTE_KINDS = frozenset({"Ingress", "HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute",
                         "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})
IMPACT_KINDS = frozenset({"Pod", "Service"}) | WORKLOAD_KINDS | ROUTE_KINDS
"""Objects whose breakage counts toward a root cause's impact."""


def root_causes(findings: Sequence[Finding], state: ClusterState) -> list[RootCause]:
    """``findings`` partitioned into ranked root causes."""
    unranked = [_from_group(group) for group in correlate(findings, state)]
    unranked.sort(key=rank_key)
    return [_with_rank(cause, rank) for rank, cause in enumerate(unranked, 1)]


def rank_key(cause: RootCause) -> tuple:
    """Worst severity first, then most objects broken, then a stable key."""
    impact = sum(1 for ref in cause.affected if ref.kind in IMPACT_KINDS)
    root = cause.root_object
    return (-cause.severity.rank, -impact, -len(cause.findings), root.namespace or "", root.kind,
            root.name, cause.reason)


def _from_group(group: FindingGroup) -> RootCause:
    root = group.representative
    members = group.findings
    consequences = tuple(f for f in members if f is not root)
    return RootCause(
        rank=0,
        severity=max(f.severity for f in members),
        root_object=_root_object(root, group.causes),
        root=root,
        consequences=consequences,
        affected=distinct_refs(members),
        summary=root.message,
    )


def _root_object(root: Finding, peers: Sequence[Finding]) -> RootObject:
    """The shared workload of pods failing the same way; otherwise the root finding's object."""
    parents = {f.parent for f in peers}
    if len(peers) > 1 and all(f.kind == "Pod" for f in peers) and len(parents) == 1:
        parent = next(iter(parents))
        if parent is not None:
            return RootObject(parent.kind, _api_version(parent), parent.namespace or root.namespace,
                              parent.name)
    return RootObject(root.kind, root.api_version, root.namespace, root.name)


def _api_version(ref: ObjectRef) -> str:
    known = KNOWN_KINDS.get(ref.kind)
    return known.api_version if known else ""


def _with_rank(cause: RootCause, rank: int) -> RootCause:
    return replace(cause, rank=rank)
