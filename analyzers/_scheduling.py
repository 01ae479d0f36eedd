"""Reads kube-scheduler's ``0/N nodes are available: ...`` message as a list of causes.

For every node it rejected, the scheduler counts the first filter that said no and sums those
into ``COUNT reason`` items; a ``preemption:`` tail says whether evicting lower-priority pods
would help. This module splits that text into causes, sorts each into a category (resources,
taints, node selection, volumes, topology spread...) and says what to change for each, naming
the pod's own requests, selectors and constraints. It is private to the pod analyzer and
declares no analyzer of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis.objects import container_request, pod_request
from k8sdoctor.cluster.quantity import format_bytes

RESOURCES = "resources"
TAINT = "taint"
NODE_SELECTION = "node-selection"
VOLUME = "volume"
TOPOLOGY_SPREAD = "topology-spread"
POD_AFFINITY = "pod-affinity"
HOST_PORTS = "host-ports"
CORDONED = "cordoned"
OTHER = "other"

_HEAD = re.compile(r"^\s*\d+/(?P<total>\d+) nodes are available:?\s*(?P<rest>.*)$", re.DOTALL)
_ITEM_SPLIT = re.compile(r",\s+(?=\d+ )")
_COUNTED = re.compile(r"^(?P<count>\d+) (?P<text>.+)$", re.DOTALL)
_TAINT = re.compile(r"\{(?P<key>[^:}]+):\s?(?P<value>[^}]*)\}")

# Substrings of the scheduler plugins' reasons, in the order they are tried.
_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("Insufficient ", RESOURCES),
    ("Too many pods", RESOURCES),
    ("untolerated taint", TAINT),
    ("the pod didn't tolerate", TAINT),
    ("volume node affinity conflict", VOLUME),
    ("persistent volume", VOLUME),
    ("PersistentVolumeClaim", VOLUME),
    ("persistentvolumeclaim", VOLUME),
    ("pvc(s)", VOLUME),
    ("volume zone", VOLUME),
    ("free storage", VOLUME),
    ("max volume count", VOLUME),
    ("available disk", VOLUME),
    ("node affinity/selector", NODE_SELECTION),
    ("node selector", NODE_SELECTION),
    ("requested node name", NODE_SELECTION),
    ("topology spread", TOPOLOGY_SPREAD),
    ("affinity rules", POD_AFFINITY),
    ("free ports", HOST_PORTS),
    ("were unschedulable", CORDONED),
)

# Taints the node lifecycle controller and kubelet set on unhealthy nodes.
_CONDITION_TAINTS = {
    "node.kubernetes.io/not-ready": "NotReady",
    "node.kubernetes.io/unreachable": "unreachable",
    "node.kubernetes.io/memory-pressure": "under MemoryPressure",
    "node.kubernetes.io/disk-pressure": "under DiskPressure",
    "node.kubernetes.io/pid-pressure": "under PIDPressure",
    "node.kubernetes.io/network-unavailable": "without a configured network",
    "node.kubernetes.io/unschedulable": "cordoned",
    "node.cloudprovider.kubernetes.io/uninitialized": "not yet initialized by the cloud provider",
}
_CONTROL_PLANE_TAINTS = {"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}


@dataclass(frozen=True)
class Cause:
    """One reason the scheduler gave, with how many nodes it ruled out (None: the whole pod)."""

    text: str
    nodes: int | None
    category: str

    def __str__(self) -> str:
        return self.text if self.nodes is None else f"{self.nodes} {self.text}"


@dataclass(frozen=True)
class SchedulingFailure:
    """A parsed ``FailedScheduling`` message."""

    message: str
    """The scheduler's words before the ``preemption:`` tail."""
    total_nodes: int | None
    causes: tuple[Cause, ...]
    preemption: str | None


def parse(message: str) -> SchedulingFailure:
    """The causes in a scheduler message; a message of another shape becomes one OTHER cause."""
    main, _, preemption = message.partition(" preemption: ")
    main = main.strip()
    head = _HEAD.match(main)
    if head is None:
        text = main.rstrip(".")
        return SchedulingFailure(main, None, (Cause(text, None, _category(text)),),
                                 preemption.strip() or None)
    causes = []
    for item in _ITEM_SPLIT.split(head["rest"].strip().rstrip(".")):
        item = item.strip()
        if not item:
            continue
        counted = _COUNTED.match(item)
        text, nodes = (counted["text"], int(counted["count"])) if counted else (item, None)
        causes.append(Cause(text, nodes, _category(text)))
    return SchedulingFailure(main, int(head["total"]), tuple(causes), preemption.strip() or None)


def _category(text: str) -> str:
    for needle, category in _CATEGORIES:
        if needle in text:
            return category
    return OTHER


def advice(
    failure: SchedulingFailure, pod: Mapping[str, Any], workload: str
) -> tuple[list[str], list[str]]:
    """Evidence lines (one per cause, with the pod's own figures) and remediation steps.

    ``workload`` says where the pod spec is changed, e.g. "the pod template of Deployment web".
    """
    spec = pod.get("spec") or {}
    evidence: list[str] = []
    remediation: list[str] = []
    for cause in failure.causes:
        detail, fix = _ADVISORS[cause.category](cause, spec, pod, workload)
        evidence.append(f"scheduler: {cause}" + (f" ({detail})" if detail else ""))
        if fix and fix not in remediation:
            remediation.append(fix)
    if failure.preemption:
        evidence.append(f"scheduler preemption: {failure.preemption}")
    return evidence, remediation


def _resources(cause: Cause, spec: Mapping[str, Any], _pod: Mapping[str, Any],
               workload: str) -> tuple[str, str]:
    if cause.text.startswith("Too many pods"):
        return "", ("The nodes hold their maximum number of pods (status.allocatable.pods): "
                    "add nodes or raise the kubelet's maxPods.")
    resource = cause.text.removeprefix("Insufficient ").strip()
    total = pod_request(spec, resource)
    amount = _format_amount(resource, total)
    per_container = ", ".join(
        f"{c.get('name')}={_format_amount(resource, request)}"
        for c in spec.get("containers") or ()
        if (request := container_request(c, resource))
    )
    detail = f"the pod requests {resource} {amount}" + (
        f" ({per_container})" if per_container else "")
    if "/" in resource:
        fix = (f"No node has {amount} {resource} free: check that the nodes offering it exist, "
               "are Ready and run the device plugin (kubectl get nodes -o "
               f"custom-columns=NAME:.metadata.name,ALLOC:.status.allocatable), or lower the "
               f"request in {workload}.")
    else:
        fix = (f"No node has {amount} {resource} unrequested: lower "
               f"resources.requests.{resource} in {workload}, free capacity, or add a node "
               "(kubectl describe nodes shows 'Allocated resources' per node).")
    return detail, fix


def _format_amount(resource: str, amount: float) -> str:
    if resource == "cpu":
        return f"{amount:g}" if amount == int(amount) else f"{amount * 1000:.0f}m"
    if resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        return format_bytes(amount)
    return f"{amount:g}"


def _taint(cause: Cause, spec: Mapping[str, Any], _pod: Mapping[str, Any],
           workload: str) -> tuple[str, str]:
    match = _TAINT.search(cause.text)
    if match is None:
        return "", f"Add the missing tolerations to {workload}, or make room on other nodes."
    key, value = match["key"].strip(), match["value"].strip()
    if key in _CONDITION_TAINTS:
        state = _CONDITION_TAINTS[key]
        return (f"those nodes are {state}",
                f"Nodes tainted {key} are {state}: fix the nodes (see the node findings); "
                "tolerating the taint would only move the pod onto an unhealthy node.")
    if key in _CONTROL_PLANE_TAINTS:
        return "control-plane nodes", ""
    toleration = f"{{key: {key}, operator: Equal, value: {value}, effect: <the taint's effect>}}" \
        if value else f"{{key: {key}, operator: Exists, effect: <the taint's effect>}}"
    return "", (f"Nodes tainted {key}{'=' + value if value else ''} are reserved: if the pod "
                f"belongs there, add tolerations: [{toleration}] to {workload}; otherwise it "
                "needs room on the untainted nodes.")


def _node_selection(cause: Cause, spec: Mapping[str, Any], _pod: Mapping[str, Any],
                    workload: str) -> tuple[str, str]:
    if "requested node name" in cause.text:
        return (f"spec.nodeName={spec.get('nodeName')}",
                f"Remove or fix spec.nodeName in {workload}.")
    wanted = [f"{k}={v}" for k, v in (spec.get("nodeSelector") or {}).items()]
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or ():
        for expr in term.get("matchExpressions") or ():
            values = ",".join(expr.get("values") or ())
            wanted.append(f"{expr.get('key')} {expr.get('operator')} ({values})"
                          if values else f"{expr.get('key')} {expr.get('operator')}")
    detail = "the pod requires " + "; ".join(wanted) if wanted else ""
    label = next((w for w in wanted if "=" in w), None)
    hint = f" (kubectl get nodes -l {label})" if label else ""
    return detail, (f"No schedulable node carries the labels the pod requires{hint}: label the "
                    f"right nodes, or fix nodeSelector / affinity.nodeAffinity in {workload}.")


def _volume(cause: Cause, spec: Mapping[str, Any], pod: Mapping[str, Any],
            workload: str) -> tuple[str, str]:
    claims = [v["persistentVolumeClaim"].get("claimName", "")
              for v in spec.get("volumes") or () if v.get("persistentVolumeClaim")]
    namespace = (pod.get("metadata") or {}).get("namespace")
    describe = (f"kubectl describe pvc {' '.join(claims)}"
                f"{' -n ' + namespace if namespace else ''}") if claims else ""
    text = cause.text
    if "volume node affinity conflict" in text:
        fix = ("The pod's bound volumes can only be used from nodes in another zone or host "
               "(the PersistentVolume's nodeAffinity): add capacity there, or move the data.")
    elif "unbound immediate" in text or "persistent volumes to bind" in text:
        fix = ("A PersistentVolumeClaim of the pod is not bound and no volume can be bound for "
               "it: see the PVC's events (provisioner, StorageClass, size, access mode).")
    elif "not found" in text:
        fix = (f"Create the missing PersistentVolumeClaim, or fix "
               f"spec.volumes[].persistentVolumeClaim.claimName in {workload}.")
    elif "non-existent pv" in text:
        fix = ("A claim is bound to a PersistentVolume that no longer exists: restore the PV or "
               "recreate the claim.")
    elif "free storage" in text:
        fix = ("No node has enough free capacity in the CSI driver's storage pool "
               "(CSIStorageCapacity): free space or shrink the claim.")
    elif "max volume count" in text:
        fix = ("The nodes reached their limit of attachable volumes: spread the workload or use "
               "nodes that can attach more volumes.")
    elif "ReadWriteOncePod" in text:
        fix = "A ReadWriteOncePod claim is in use by another pod: only one pod may mount it."
    else:
        fix = ("The pod's volumes cannot be used on the remaining nodes (zone or disk "
               "conflict): see the PVC and PV.")
    return (f"claims: {', '.join(claims)}" if claims else "",
            fix.rstrip(".") + (f" (see {describe})." if describe else "."))


def _topology_spread(cause: Cause, spec: Mapping[str, Any], _pod: Mapping[str, Any],
                     workload: str) -> tuple[str, str]:
    strict = [c for c in spec.get("topologySpreadConstraints") or ()
              if c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"]
    detail = "; ".join(f"topologyKey {c.get('topologyKey')} maxSkew {c.get('maxSkew')}"
                       for c in strict)
    if "missing required label" in cause.text:
        return detail, ("Nodes lack the constraint's topologyKey label: label them, or change "
                        f"topologySpreadConstraints in {workload}.")
    return detail, ("Placing the pod would exceed maxSkew: add nodes in the domains that have "
                    "fewer pods, raise maxSkew, or set whenUnsatisfiable: ScheduleAnyway in "
                    f"{workload}.")


def _pod_affinity(cause: Cause, spec: Mapping[str, Any], _pod: Mapping[str, Any],
                  workload: str) -> tuple[str, str]:
    if "existing pods anti-affinity" in cause.text:
        return "", ("Pods already on those nodes have anti-affinity rules that exclude this pod: "
                    "see their podAntiAffinity, or add nodes.")
    return "", ("The pod's podAffinity / podAntiAffinity rules exclude those nodes; with a "
                "required anti-affinity per hostname every replica needs its own node: add "
                f"nodes, or use preferredDuringScheduling rules in {workload}.")


def _host_ports(cause: Cause, spec: Mapping[str, Any], _pod: Mapping[str, Any],
                workload: str) -> tuple[str, str]:
    ports = sorted({str(p["hostPort"]) for c in spec.get("containers") or ()
                    for p in c.get("ports") or () if p.get("hostPort")})
    detail = f"hostPort {', '.join(ports)}" if ports else ""
    return detail, (f"Another pod already uses the hostPort on those nodes: drop hostPort from "
                    f"{workload} (use a Service) or add nodes.")


def _cordoned(cause: Cause, spec: Mapping[str, Any], _pod: Mapping[str, Any],
              workload: str) -> tuple[str, str]:
    return "", ("Those nodes are cordoned (spec.unschedulable): kubectl uncordon NODE once "
                "their maintenance is over.")


def _other(cause: Cause, spec: Mapping[str, Any], _pod: Mapping[str, Any],
           workload: str) -> tuple[str, str]:
    return "", ""


_ADVISORS = {
    RESOURCES: _resources,
    TAINT: _taint,
    NODE_SELECTION: _node_selection,
    VOLUME: _volume,
    TOPOLOGY_SPREAD: _topology_spread,
    POD_AFFINITY: _pod_affinity,
    HOST_PORTS: _host_ports,
    CORDONED: _cordoned,
    OTHER: _other,
}


def categories(failure: SchedulingFailure) -> Sequence[str]:
    """The distinct categories of the causes, in message order."""
    return tuple(dict.fromkeys(cause.category for cause in failure.causes))
