"""The one-sentence summary of a root cause: what is wrong, then what it breaks.

``ConfigMap shop/web-config is missing: 3 pods of Deployment web cannot start, Service web has no
endpoints, Ingress web returns 503``. Pods are counted per workload, every other broken object is
named once, and the list stops after a few objects with a count of the rest.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence

from k8sdoctor.analysis.cause_rules import (
    ROUTE_KINDS,
    WEBHOOK_KINDS,
    WORKLOAD_KINDS,
    is_failed_pod,
)
from k8sdoctor.analysis.finding import Finding
from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.cluster.state import ObjectRef

MAX_CLAUSES = 5
MISSING_REASONS = frozenset({
    "ConfigMapNotFound", "SecretNotFound", "ServiceAccountNotFound", "ImagePullSecretNotFound",
    "StorageClassNotFound",
})
START_FAILURES = re.compile(
    r"CreateContainer|ContainerCreating|FailedMount|FailedAttach|ImagePull|ErrImage|RunContainer"
    r"|InvalidImageName|ConfigMap|Secret|ServiceAccount")


def summarize(cause: RootCause) -> str:
    """``<what is wrong>: <what it breaks>``, one sentence."""
    pods_named = _pods_of_workload(cause)
    skip = {f.object_ref for f in cause.causes} if pods_named else {cause.root_object.ref}
    clauses = _clauses([f for f in cause.findings if f.object_ref not in skip],
                       cause.root_object.namespace)
    if len(clauses) > MAX_CLAUSES:
        rest = len(clauses) - MAX_CLAUSES
        clauses = [*clauses[:MAX_CLAUSES], f"and {rest} more object{'s' * (rest != 1)}"]
    what = _what(cause, pods_named, short=bool(clauses))
    return f"{what}: {', '.join(clauses)}" if clauses else what


def _pods_of_workload(cause: RootCause) -> list[Finding]:
    """The root fault's pods, when the root object is their workload (the sentence counts them)."""
    pods = [f for f in cause.causes if f.kind == "Pod"]
    return pods if pods and cause.root_object.kind not in ("Pod", *_REFERRED_KINDS) else []


_REFERRED_KINDS = ("ConfigMap", "Secret", "ServiceAccount", "StorageClass",
                   "PersistentVolumeClaim")


def _what(cause: RootCause, pods: Sequence[Finding], short: bool) -> str:
    root, obj = cause.root, cause.root_object
    if cause.reason == "ConfigMapKeyNotFound":
        return f"{obj} lacks a key that pods read"
    if root.refers_to is not None or (cause.reason in MISSING_REASONS
                                      and obj.ref != root.object_ref):
        return f"{obj} is missing"
    if pods:
        on_pods = [f for f in cause.findings if f.object_ref in {p.object_ref for p in pods}]
        return (f"{_count_pods(len(_distinct(pods)))} of {obj} {_pod_state(on_pods)} "
                f"({root.reason})")
    if root.kind == "Job" and root.reason in ("BackoffLimitExceeded", "DeadlineExceeded"):
        return f"{obj} failed ({root.reason})"
    sentence = _first_sentence(root.message)
    if short:
        sentence = re.split(r":\s|;\s", sentence, maxsplit=1)[0]
    return sentence


def _clauses(findings: Sequence[Finding], home: str | None) -> list[str]:
    pods_of: dict[ObjectRef | None, list[Finding]] = defaultdict(list)
    others: dict[ObjectRef, Finding] = {}
    order: list[ObjectRef | tuple[str, ObjectRef | None]] = []
    for finding in findings:
        if finding.kind == "Pod":
            parent = finding.parent
            owned = parent is not None and parent.kind in WORKLOAD_KINDS
            key = ("pods", parent if owned else finding.object_ref)
            if key not in order:
                order.append(key)
            pods_of[key[1]].append(finding)
        elif finding.object_ref not in others:
            others[finding.object_ref] = finding
            order.append(finding.object_ref)
    clauses = []
    for entry in order:
        if isinstance(entry, tuple):
            pods = _distinct(pods_of[entry[1]])
            owner = entry[1]
            if owner is not None and owner.kind != "Pod":
                clauses.append(f"{_count_pods(len(pods))} of {_name(owner, home)} "
                               f"{_pod_state(pods)}")
            else:
                clauses.append(f"{_name(pods[0].object_ref, home)} {_pod_state(pods)}")
        else:
            clauses.append(f"{_name(entry, home)} {_object_state(others[entry])}")
    return clauses


def _pod_state(pods: Sequence[Finding]) -> str:
    """What the pods suffer, the most telling state first."""
    reasons = {f.reason for f in pods}
    plural = len(_distinct(pods)) != 1
    if any("Unschedulable" in r or "Insufficient" in r for r in reasons):
        return "cannot be scheduled"
    if any(START_FAILURES.search(r) for r in reasons):
        return "cannot start"
    if any("CrashLoopBackOff" in r for r in reasons):
        return "keep crashing" if plural else "keeps crashing"
    if any(is_failed_pod(f) for f in pods):
        return "failed"
    if any("Probe" in r for r in reasons):
        return "fail their probes" if plural else "fails its probe"
    if any("Evicted" in r for r in reasons):
        return "were evicted" if plural else "was evicted"
    if any("Terminating" in r for r in reasons):
        return "are stuck terminating" if plural else "is stuck terminating"
    if any("Node" in r or "Ready" in r for r in reasons):
        return "are not ready" if plural else "is not ready"
    reason = Counter(f.reason for f in pods).most_common(1)[0][0]
    return f"report {reason}" if plural else f"reports {reason}"


def _object_state(finding: Finding) -> str:
    reason, kind = finding.reason, finding.kind
    if kind in ROUTE_KINDS and re.search(r"503|Endpoint|Unavailable|NotReady", reason):
        return "returns 503"
    if kind in WEBHOOK_KINDS:
        return "cannot be called (API requests it guards fail)"
    if kind == "Service":
        if reason in ("NoEndpoints", "SelectorMatchesNoPods"):
            return "has no endpoints"
        if reason == "NoReadyEndpoints":
            return "has no ready endpoints"
        if reason == "NotReadyEndpoints":
            return "has endpoints that are not ready"
    if reason in ("BackoffLimitExceeded", "DeadlineExceeded"):
        return "failed"
    if kind == "PersistentVolumeClaim":
        return "stays Pending" if reason in MISSING_REASONS else f"reports {reason}"
    if reason in MISSING_REASONS:
        return "cannot provision its claims" if kind == "StatefulSet" else f"reports {reason}"
    if finding.refers_to is not None:
        return "refers to it"
    if reason == "NoRecentSuccess":
        return "has not succeeded recently"
    if reason == "ProgressDeadlineExceeded":
        return "is stuck rolling out"
    if reason in ("FailedCreate", "ReplicaFailure"):
        return "cannot create its pods"
    if re.search(r"Unavailable|NoReplicas|NotReady|NotAvailable", reason):
        return "is unavailable" if "Pods" not in reason else "has unavailable pods"
    return f"reports {reason}"


def _name(ref: ObjectRef, home: str | None) -> str:
    where = f"{ref.namespace}/" if ref.namespace and ref.namespace != home else ""
    return f"{ref.kind} {where}{ref.name}"


def _count_pods(count: int) -> str:
    return f"{count} pod{'s' * (count != 1)}"


def _distinct(findings: Sequence[Finding]) -> list[Finding]:
    return list({f.object_ref: f for f in reversed(findings)}.values())[::-1]


def _first_sentence(message: str) -> str:
    sentence = re.split(r"(?<=[a-z0-9)\"'])\.\s", message.strip(), maxsplit=1)[0]
    return sentence.rstrip(".")
