"""The cause graph: findings linked to the findings that explain them, collapsed into ranked root
causes. It is the one structure the report, every renderer and the explain stage read.

Two steps. First, findings that are one fault seen on many objects become one *fault*: the same
analyzer and reason on pods of one workload (forty pods of a Deployment in CrashLoopBackOff), or
the same reason naming the same missing object (every pod and claim that asks for StorageClass
``fast-ssd``). Second, each fault is linked to the fault that explains it, by the rules of
``cause_rules`` (stuck pods -> the missing ConfigMap key; the Deployment -> its pods; the Service
-> the pods it selects; the Ingress -> its Service). A link that would close a loop is dropped.
Each tree of linked faults is one root cause: its root is the fault nothing explains, and every
finding belongs to exactly one tree.

Root causes are ranked by severity (the worst of their findings), then by impact (how many pods,
workloads, Services, routes and webhooks they break), then by a stable key, so two runs on the
same state give the same ranks and ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from k8sdoctor.analysis.cause_rules import (
    ROUTE_KINDS,
    WEBHOOK_KINDS,
    WORKLOAD_KINDS,
    Rules,
)
from k8sdoctor.analysis.cause_summary import summarize
from k8sdoctor.analysis.finding import Finding
from k8sdoctor.analysis.rootcause import RootCause, RootObject, distinct_refs
from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.state import ClusterState, ObjectRef

IMPACT_KINDS = frozenset({"Pod", "Service"}) | WORKLOAD_KINDS | ROUTE_KINDS | WEBHOOK_KINDS
"""Objects whose breakage counts toward a root cause's impact."""

FaultKey = tuple[str, ...]


@dataclass
class Fault:
    """One fault, possibly seen on many objects; ``findings`` in report order."""

    key: FaultKey
    findings: list[Finding]
    root_object: RootObject

    @property
    def first(self) -> Finding:
        return self.findings[0]


def root_causes(findings: Sequence[Finding], state: ClusterState) -> list[RootCause]:
    """``findings`` partitioned into ranked root causes: rank 1 first."""
    faults = _faults(findings)
    explained_by = _link(faults, Rules(findings, state))
    trees: dict[FaultKey, list[Fault]] = defaultdict(list)
    for fault in faults.values():
        trees[_root_of(fault.key, explained_by)].append(fault)
    causes = [_root_cause(faults[root], _ordered(members, explained_by))
              for root, members in trees.items()]
    causes.sort(key=rank_key)
    return [replace(cause, rank=rank) for rank, cause in enumerate(causes, 1)]


def rank_key(cause: RootCause) -> tuple:
    """Worst severity first, then most objects broken, then a stable key."""
    impact = sum(1 for ref in cause.affected if ref.kind in IMPACT_KINDS)
    root = cause.root_object
    return (-cause.severity.rank, -impact, -len(cause.findings), root.namespace or "", root.kind,
            root.name, cause.reason, cause.root.id)


# -- faults: the same fault on many objects -----------------------------------------------------


def fault_key(finding: Finding) -> FaultKey:
    """Equal for findings that are one fault: the same missing object, or the same analyzer and
    reason on pods of one workload; otherwise the object and reason themselves."""
    if finding.refers_to is not None:
        ref = finding.refers_to
        return ("refers", ref.kind, ref.namespace or "", ref.name)
    if _pod_of_workload(finding):
        parent = finding.parent
        return ("pods-of", finding.analyzer, finding.reason, parent.kind,
                parent.namespace or finding.namespace or "", parent.name)
    return ("object", finding.analyzer, finding.reason, finding.kind, finding.namespace or "",
            finding.name)


def _faults(findings: Sequence[Finding]) -> dict[FaultKey, Fault]:
    faults: dict[FaultKey, Fault] = {}
    for finding in findings:
        key = fault_key(finding)
        if key in faults:
            faults[key].findings.append(finding)
        else:
            faults[key] = Fault(key, [finding], _root_object(finding))
    return faults


def _root_object(finding: Finding) -> RootObject:
    """The missing object a finding names; the workload of a pod's fault (its template is what
    to fix); otherwise the finding's own object."""
    if finding.refers_to is not None:
        return _as_root_object(finding.refers_to)
    if _pod_of_workload(finding):
        parent = finding.parent
        return _as_root_object(ObjectRef(parent.kind, parent.name,
                                         parent.namespace or finding.namespace))
    return RootObject(finding.kind, finding.api_version, finding.namespace, finding.name)


def _pod_of_workload(finding: Finding) -> bool:
    """A pod a controller made (not a static pod, whose "owner" is its Node)."""
    return (finding.kind == "Pod" and finding.parent is not None
            and finding.parent.kind in WORKLOAD_KINDS)


def _as_root_object(ref: ObjectRef) -> RootObject:
    known = KNOWN_KINDS.get(ref.kind)
    namespace = ref.namespace if known is None or known.namespaced else None
    return RootObject(ref.kind, known.api_version if known else "", namespace, ref.name)


# -- links: which fault explains which ----------------------------------------------------------


def _link(faults: dict[FaultKey, Fault], rules: Rules) -> dict[FaultKey, FaultKey]:
    """Each fault's explaining fault (roots have none), with no loops."""
    key_of = {id(f): fault.key for fault in faults.values() for f in fault.findings}
    explained_by: dict[FaultKey, FaultKey] = {}
    for fault in faults.values():
        votes: Counter[FaultKey] = Counter()
        first_seen: dict[FaultKey, int] = {}
        for finding in fault.findings:
            for explainer in rules.explainers(finding):
                target = key_of[id(explainer)]
                if target != fault.key:
                    votes[target] += 1
                    first_seen.setdefault(target, len(first_seen))
        for target in sorted(votes, key=lambda k: (-votes[k], first_seen[k])):
            if _root_of(target, explained_by) != fault.key:
                explained_by[fault.key] = target
                break
    return explained_by


def _root_of(key: FaultKey, explained_by: dict[FaultKey, FaultKey]) -> FaultKey:
    seen = {key}
    while key in explained_by:
        key = explained_by[key]
        if key in seen:  # cannot happen: _link refuses loops
            break
        seen.add(key)
    return key


def _depth(key: FaultKey, explained_by: dict[FaultKey, FaultKey]) -> int:
    depth = 0
    while key in explained_by and depth <= len(explained_by):
        key, depth = explained_by[key], depth + 1
    return depth


def _ordered(members: list[Fault], explained_by: dict[FaultKey, FaultKey]) -> list[Fault]:
    """The root first, then its consequences nearest first, each level in report order."""
    return sorted(members, key=lambda fault: _depth(fault.key, explained_by))


# -- root causes --------------------------------------------------------------------------------


def _root_cause(root: Fault, members: list[Fault]) -> RootCause:
    consequences = tuple(f for fault in members if fault is not root for f in fault.findings)
    every = (*root.findings, *consequences)
    cause = RootCause(
        rank=0,
        severity=max(f.severity for f in every),
        root_object=root.root_object,
        root=root.first,
        peers=tuple(root.findings[1:]),
        consequences=consequences,
        affected=distinct_refs(every),
    )
    return replace(cause, summary=summarize(cause))
