"""Containers without resource requests or memory limits, and requests far above real usage.

Faults reported:

- ``BestEffortPods`` (warning): no container of the workload's pods requests or limits cpu or
  memory (QoS class BestEffort): the scheduler packs them blindly and the kubelet evicts them
  first under node pressure. Fix: set ``resources.requests`` (cpu and memory) on each container.
- ``MissingRequests`` (info): some containers lack a cpu or memory request, so the scheduler
  under-counts them and nodes get overcommitted. Fix: set the missing requests.
- ``MissingMemoryLimit`` (info): containers without a memory limit can use all of a node's
  free memory and push it into MemoryPressure. Fix: set ``resources.limits.memory``.
- ``OverProvisioned`` (info, one finding per namespace, on the Namespace): when metrics-server
  is installed (``PodMetrics`` served), containers whose request is more than 4 times what they
  use and wastes at least 200m of cpu or 256Mi of memory; the message sums the cores and GiB
  that could be freed in the namespace and names the biggest. Fix: lower those requests (a
  VerticalPodAutoscaler in recommendation mode gives values from history).

Findings are per workload (the Deployment, StatefulSet, DaemonSet, CronJob or Job that owns the
pods, else the pod), naming the containers. Requests are read from running pods, so defaults a
LimitRange added at admission count.

Not reported: finished pods; ephemeral (debug) containers; init containers that run to
completion (only restartable "sidecar" init containers hold resources); containers without
requests or limits of their own in a pod that sets pod-level ``spec.resources``; usage of pods
younger than 10 minutes or not Running (start-up is not steady state). ``PodMetrics`` is one
sample over a short window: treat ``OverProvisioned`` as a lead, not a verdict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, ObjectRef, Severity
from k8sdoctor.analysis.objects import (
    is_static_pod,
    ns_flag,
    one_pod_per_workload,
    running_containers,
)
from k8sdoctor.cluster.quantity import format_bytes, format_cores, parse_quantity

WASTE_RATIO = 4.0
MIN_CPU_WASTE = 0.2
MIN_MEMORY_WASTE = 256 * 2**20
MIN_POD_AGE_SECONDS = 600
_TOP = 3
_SETTABLE = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
                       "ReplicationController"})


def analyze(state: ClusterState) -> Iterator[Finding]:
    yield from _hygiene(state)
    if state.has_kind("PodMetrics"):
        yield from _over_provisioned(state)


def _resource(container: Mapping[str, Any], field: str, resource: str) -> str | None:
    return ((container.get("resources") or {}).get(field) or {}).get(resource)


def _hygiene(state: ClusterState) -> Iterator[Finding]:
    for pod, owner in one_pod_per_workload(state):
        yield from _check_pod(state, pod, owner)


def _check_pod(
    state: ClusterState, pod: Mapping[str, Any], owner: ObjectRef | None
) -> Iterator[Finding]:
    target = _object_for(state, pod, owner)
    parent = owner if target is pod else None
    what = (f"{owner.kind} {owner.name}" if owner
            else f"{'static ' if is_static_pod(pod) else ''}pod {pod['metadata']['name']}")
    qos = f"pod {pod['metadata']['name']} qosClass={(pod.get('status') or {}).get('qosClass')}"
    spec = pod.get("spec") or {}
    containers = running_containers(spec)
    whole_pod = {"resources": spec.get("resources") or {}}  # pod-level resources cover them all

    def sets(container: Mapping[str, Any], field: str, resource: str) -> bool:
        return bool(_resource(container, field, resource) or _resource(whole_pod, field, resource))

    lacking = {c["name"]: [r for r in ("cpu", "memory") if not sets(c, "requests", r)]
               for c in containers}
    lacking = {name: resources for name, resources in lacking.items() if resources}
    best_effort = bool(containers) and not any(
        sets(c, field, r) for c in containers for field in ("requests", "limits")
        for r in ("cpu", "memory"))
    if best_effort:
        yield Finding.about(
            target, severity=Severity.WARNING, reason="BestEffortPods",
            message=f"No container of {what} requests cpu or memory ({', '.join(lacking)}): "
                    "its pods are BestEffort, placed blindly and evicted first when a node runs "
                    "short.",
            evidence=[qos],
            remediation=[_fix(owner, pod, name, "--requests=cpu=<cores>,memory=<bytes>")
                         for name in list(lacking)[:_TOP]],
            parent=parent,
        )
    elif lacking:
        yield Finding.about(
            target, severity=Severity.INFO, reason="MissingRequests",
            message=f"Containers of {what} lack requests: "
                    + ", ".join(f"{name} ({', '.join(res)})" for name, res in lacking.items())
                    + "; the scheduler does not count what they use.",
            evidence=[qos],
            remediation=[_fix(owner, pod, name, "--requests=" + ",".join(
                f"{r}=<amount>" for r in res)) for name, res in list(lacking.items())[:_TOP]],
            parent=parent,
        )
    unlimited = [c["name"] for c in containers if not sets(c, "limits", "memory")]
    if unlimited and not best_effort:
        yield Finding.about(
            target, severity=Severity.INFO, reason="MissingMemoryLimit",
            message=f"Containers of {what} have no memory limit: {', '.join(unlimited)}; one "
                    "leak can fill the node's memory.",
            evidence=[f"container {name}: resources.limits.memory unset" for name in unlimited],
            remediation=[_fix(owner, pod, name, "--limits=memory=<bytes>")
                         for name in unlimited[:_TOP]],
            parent=parent,
        )


def _fix(owner: ObjectRef | None, pod: Mapping[str, Any], container: str, flags: str) -> str:
    """The command that sets ``flags`` (``--requests=...``) on ``container`` where it lives."""
    ns = ns_flag(pod["metadata"].get("namespace"))
    if owner is not None and owner.kind in _SETTABLE:
        return f"kubectl set resources {owner.kind.lower()}/{owner.name} -c {container} {flags}{ns}"
    if owner is not None:
        return (f"kubectl edit {owner.kind.lower()} {owner.name}{ns}  # set {flags} on "
                f"container {container} in the pod template")
    if is_static_pod(pod):
        return (f"Set {flags} on container {container} in the static pod manifest of "
                f"{pod['metadata']['name']} on node {(pod.get('spec') or {}).get('nodeName')} "
                "(the kubelet's staticPodPath, usually /etc/kubernetes/manifests)")
    return (f"Recreate pod {pod['metadata']['name']} with {flags} on container {container} "
            "(a pod's resources cannot be changed in place)")


def _object_for(
    state: ClusterState, pod: Mapping[str, Any], owner: ObjectRef | None
) -> Mapping[str, Any]:
    if owner is None:
        return pod
    return state.get(owner.kind, owner.namespace, owner.name) or pod


@dataclass(frozen=True)
class _Waste:
    where: str
    resource: str
    requested: float
    used: float

    @property
    def amount(self) -> float:
        return self.requested - self.used

    def describe(self) -> str:
        show = format_cores if self.resource == "cpu" else format_bytes
        return (f"{self.where} requests {show(self.requested)} {self.resource}, uses "
                f"{show(self.used)}")


def _over_provisioned(state: ClusterState) -> Iterator[Finding]:
    wastes: dict[str, list[_Waste]] = defaultdict(list)
    for metrics in state.objects("PodMetrics"):
        meta = metrics["metadata"]
        pod = state.get("Pod", meta.get("namespace"), meta["name"])
        if pod is None or (pod.get("status") or {}).get("phase") != "Running":
            continue
        age = state.age_of(pod["metadata"].get("creationTimestamp"))
        if age is None or age < MIN_POD_AGE_SECONDS:
            continue
        containers = {c["name"]: c for c in running_containers(pod.get("spec") or {})}
        for sample in metrics.get("containers") or ():
            container = containers.get(sample.get("name", ""))
            if container is None:
                continue
            for resource, floor in (("cpu", MIN_CPU_WASTE), ("memory", MIN_MEMORY_WASTE)):
                waste = _waste(container, sample, resource, f"{meta['name']}/{container['name']}")
                if waste and waste.requested > WASTE_RATIO * waste.used and waste.amount >= floor:
                    wastes[meta.get("namespace") or ""].append(waste)
    for namespace, found in sorted(wastes.items()):
        cpu = sum(w.amount for w in found if w.resource == "cpu")
        memory = sum(w.amount for w in found if w.resource == "memory")
        freed = " and ".join(part for part in (
            f"{cpu:.1f} CPU cores" if cpu else "",
            f"{memory / 2**30:.1f} GiB of memory" if memory else "") if part)
        biggest = sorted(found, key=lambda w: -(w.amount if w.resource == "cpu"
                                                 else w.amount / 2**30))[:_TOP]
        namespace_obj = state.get("Namespace", None, namespace) or {
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        yield Finding.about(
            namespace_obj, severity=Severity.INFO, reason="OverProvisioned",
            message=f"Pods in namespace {namespace} request {freed} more than they used in the "
                    f"last metrics sample ({len(found)} container requests over {WASTE_RATIO:g}x "
                    f"usage); biggest: {'; '.join(w.describe() for w in biggest)}.",
            evidence=[w.describe() for w in found],
            remediation=[f"kubectl top pods -n {namespace} --containers  # confirm over a day",
                         "Lower the requests of the containers named (or let a "
                         "VerticalPodAutoscaler in Off mode recommend values)."],
        )


def _waste(
    container: Mapping[str, Any], sample: Mapping[str, Any], resource: str, where: str
) -> _Waste | None:
    requested, used = _resource(container, "requests", resource), (
        sample.get("usage") or {}).get(resource)
    if requested is None or used is None:
        return None
    try:
        return _Waste(where, resource, parse_quantity(requested), parse_quantity(used))
    except ValueError:
        return None


ANALYZER = Analyzer(
    name="resources",
    kinds=("Pod", "PodMetrics", "Namespace", "ReplicaSet", "Deployment", "StatefulSet",
           "DaemonSet", "Job", "CronJob"),
    analyze=analyze,
    doc=__doc__ or "",
    default=False,
    spec_reasons=frozenset({"BestEffortPods", "MissingMemoryLimit", "MissingRequests"}),
)
