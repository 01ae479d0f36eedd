"""Root-cause groups: findings that share one cause, so the cause is explained once.

Three rules build a group. First, findings with the same analyzer, kind and reason whose messages
are equal once names, hashes, IPs and numbers are normalised share a cause: forty pods of one
Deployment in CrashLoopBackOff are one group. Second, a finding on an object *above* the faulty
objects (the Deployment left unavailable, its ReplicaSet, a Job past its backoff limit) or *in
front* of faulty pods (a Service whose selector picks them, left without ready endpoints) follows
from their fault rather than having one of its own, and joins their group. Only findings whose
reason says "a consequence" (unavailable, not ready, no endpoints, deadline exceeded...) follow;
a paused Deployment or a Service whose targetPort no container exposes keeps its own group.
Third, when several analyzers report on one object (the pod analyzer's CreateContainerConfigError
and the references analyzer's missing ConfigMap key), the later ones join the first one's group.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis.finding import Finding
from k8sdoctor.cluster.state import ClusterState, K8sObject, ObjectRef, ref_of

CONTROLLER_KINDS = frozenset({
    "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
    "ReplicationController",
})
"""Kinds whose findings may follow from the objects they control."""

CONSEQUENCE_REASON = re.compile(
    r"Unavailable|NotReady|NoReady|NoEndpoints|NoReplicas|NotAvailable|ProgressDeadlineExceeded"
    r"|BackoffLimitExceeded|RolloutStuck|UpdateStuck|NotProgressing"
)
"""Reasons that describe a symptom of the objects below or behind, not a fault of their own."""

GroupKey = tuple[str, str, str, str]
"""(analyzer, kind, reason, normalised message)."""

_GENERATED_SUFFIX = r"[bcdfghjklmnpqrstvwxz2456789]"
_NORMALISERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uid>"),
    (re.compile(r"\b(?:sha256:)?[0-9a-f]{12,}\b"), "<hash>"),
    (re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?(?![\w.])"), "<ip>"),
    (re.compile(rf"-{_GENERATED_SUFFIX}{{8,10}}-{_GENERATED_SUFFIX}{{5}}\b"), "-<hash>-<id>"),
    (re.compile(rf"-{_GENERATED_SUFFIX}{{5}}\b"), "-<id>"),
    (re.compile(r"\d+"), "<n>"),
)


@dataclass(frozen=True)
class FindingGroup:
    """Findings that share one cause: the causes themselves, then their consequences."""

    key: GroupKey
    causes: tuple[Finding, ...]
    consequences: tuple[Finding, ...] = ()

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.causes + self.consequences

    @property
    def representative(self) -> Finding:
        """The first cause: its message and evidence stand for the group's."""
        return self.causes[0]

    @property
    def id(self) -> str:
        """Stable across runs for the same cause."""
        return hashlib.sha256("\x1f".join(self.key).encode()).hexdigest()[:12]

    @property
    def subject(self) -> str:
        """``CrashLoopBackOff: Pod/shop/web-7d4b9c8f5-x2x7k and 9 more`` for run errors."""
        first = self.representative
        more = len(self.causes) - 1
        return f"{first.reason}: {first.object_ref}" + (f" and {more} more" if more else "")


def normalise_message(finding: Finding) -> str:
    """The finding's message with its object's names, hashes, IPs and numbers made generic."""
    text = finding.message
    names = {finding.name, finding.namespace or "", finding.parent.name if finding.parent else ""}
    for name in sorted((n for n in names if n), key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z0-9-]){re.escape(name)}(?![A-Za-z0-9-])", "<name>", text)
    for pattern, replacement in _NORMALISERS:
        text = pattern.sub(replacement, text)
    return text


def group_key(finding: Finding) -> GroupKey:
    return (finding.analyzer, finding.kind, finding.reason, normalise_message(finding))


def correlate(findings: Sequence[Finding], state: ClusterState) -> list[FindingGroup]:
    """``findings`` partitioned into cause groups, in the order of each group's first cause."""
    by_object: dict[ObjectRef, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_object[finding.object_ref].append(finding)

    causes: dict[GroupKey, list[Finding]] = defaultdict(list)
    consequences: dict[GroupKey, list[Finding]] = defaultdict(list)
    home: dict[str, GroupKey] = {}
    first_cause_on: dict[ObjectRef, Finding] = {}
    pending_consequences: list[Finding] = []
    for finding in findings:
        if _may_be_consequence(finding):
            pending_consequences.append(finding)
            continue
        earlier = first_cause_on.setdefault(finding.object_ref, finding)
        if earlier.analyzer != finding.analyzer:
            # another analyzer's view of the same object's fault (a pod's
            # CreateContainerConfigError and the missing key behind it): one cause, one call
            home[finding.id] = home[earlier.id]
            consequences[home[finding.id]].append(finding)
        else:
            home[finding.id] = group_key(finding)
            causes[home[finding.id]].append(finding)

    for finding in pending_consequences:
        below = [
            f
            for ref in _objects_behind(finding, state)
            for f in by_object.get(ref, ())
            if not _may_be_consequence(f)
        ]
        if below:
            votes = Counter(home[f.id] for f in below)
            winner = min(votes, key=lambda key: (-votes[key], key))
            consequences[winner].append(finding)
        else:
            causes[group_key(finding)].append(finding)

    groups = [
        FindingGroup(key, tuple(members), tuple(consequences.get(key, ())))
        for key, members in causes.items()
    ]
    order = {finding.id: index for index, finding in enumerate(findings)}
    return sorted(groups, key=lambda g: min(order[f.id] for f in g.findings))


def _may_be_consequence(finding: Finding) -> bool:
    return (
        finding.kind in CONTROLLER_KINDS or finding.kind == "Service"
    ) and bool(CONSEQUENCE_REASON.search(finding.reason))


def _objects_behind(finding: Finding, state: ClusterState) -> Iterator[ObjectRef]:
    """What a controller controls (transitively), or the pods a Service selects."""
    obj = state.get(finding.kind, finding.namespace, finding.name)
    if obj is None:
        return
    if finding.kind == "Service":
        selector = (obj.get("spec") or {}).get("selector")
        if selector:
            yield from (ref_of(pod) for pod in state.pods_matching(finding.namespace, selector))
        return
    yield from (ref_of(o) for o in _descendants(obj, state))


def _descendants(obj: Mapping[str, Any], state: ClusterState) -> Iterable[K8sObject]:
    seen: set[str] = set()
    stack = [obj]
    while stack:
        uid = (stack.pop().get("metadata") or {}).get("uid", "")
        for child in state.owned_by(uid):
            child_uid = (child.get("metadata") or {}).get("uid", "")
            if child_uid not in seen:
                seen.add(child_uid)
                stack.append(child)
                yield child
