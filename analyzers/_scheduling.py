"""Reads kube-scheduler's ``0/N nodes are available: ...`` message as a list of causes.

For every node it rejected, the scheduler counts the first filter that said no and sums those
into ``COUNT reason`` items; what the post-filter plugins said follows after a full stop (``no
new claims to deallocate``, and ``preemption:``, whether evicting lower-priority pods would
help). This module splits that text into causes, sorts each into a category (resources, taints,
node selection, volumes, topology spread...) and says what to change for each, naming the pod's
own requests, selectors and constraints, and, where the scheduler no longer names them
(``untolerated taint(s)``), the taints of the nodes. It is private to the pod analyzer and
declares no analyzer of its own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis.objects import container_request, pod_request, tolerates
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
    """The scheduler's words up to the post-filter plugins' (``preemption: ...``)."""
    total_nodes: int | None
    causes: tuple[Cause, ...]
    preemption: str | None


def parse(message: str) -> SchedulingFailure:
    """The causes in a scheduler message; a message of another shape becomes one OTHER cause."""
    main, _, post_filter = message.strip().partition(". ")
    main = main.strip().rstrip(".")
    _, found, preemption = post_filter.partition("preemption: ")
    preemption_text = preemption.strip() if found else None
    head = _HEAD.match(main)
    if head is None:
        return SchedulingFailure(main, None, (Cause(main, None, _category(main)),),
                                 preemption_text)
    causes = []
    for item in _ITEM_SPLIT.split(head["rest"].strip()):
        item = item.strip()
        if not item:
            continue
        counted = _COUNTED.match(item)
        text, nodes = (counted["text"], int(counted["count"])) if counted else (item, None)
        causes.append(Cause(text, nodes, _category(text)))
    return SchedulingFailure(main, int(head["total"]), tuple(causes), preemption_text)


def _category(text: str) -> str:
    for needle, category in _CATEGORIES:
        if needle in text:
            return category
    return OTHER


Advice = tuple[str, list[str]]
"""An advisor's ``(detail for the evidence line, remediation steps)``."""


@dataclass(frozen=True)
class _Subject:
    """What the advice is about: the pending pod, where its spec is changed, and the nodes."""

    pod: Mapping[str, Any]
    workload: str
    """Where the pod spec is changed, e.g. "the pod template of Deployment web"."""
    nodes: tuple[Mapping[str, Any], ...]
    volumes: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    """``(claim name, PersistentVolume)`` for the pod's bound claims."""

    @property
    def spec(self) -> Mapping[str, Any]:
        return self.pod.get("spec") or {}


def advice(
    failure: SchedulingFailure, pod: Mapping[str, Any], workload: str,
    nodes: Iterable[Mapping[str, Any]] = (),
    volumes: Iterable[tuple[str, Mapping[str, Any]]] = (),
) -> tuple[list[str], list[str]]:
    """Evidence lines (one per cause, with the pod's own figures) and remediation steps.

    ``workload`` says where the pod spec is changed, e.g. "the pod template of Deployment web";
    ``nodes`` are the cluster's Nodes, read for the taints a newer scheduler no longer names and
    the zones of the nodes that could take the pod; ``volumes`` are the PersistentVolumes bound
    to its claims, read for the zone a volume node affinity conflict is about.
    """
    subject = _Subject(pod, workload, tuple(nodes), tuple(volumes))
    evidence: list[str] = []
    remediation: list[str] = []
    for cause in failure.causes:
        detail, fixes = _ADVISORS[cause.category](cause, subject)
        evidence.append(f"scheduler: {cause}" + (f" ({detail})" if detail else ""))
        remediation += [fix for fix in fixes if fix not in remediation]
    if failure.preemption:
        evidence.append(f"scheduler preemption: {failure.preemption}")
    return evidence, remediation


def _resources(cause: Cause, subject: _Subject) -> Advice:
    if cause.text.startswith("Too many pods"):
        return "", ["The nodes hold their maximum number of pods (status.allocatable.pods): "
                    "add nodes or raise the kubelet's maxPods."]
    resource = cause.text.removeprefix("Insufficient ").strip()
    spec, workload = subject.spec, subject.workload
    amount = _format_amount(resource, pod_request(spec, resource))
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
    return detail, [fix]


def _format_amount(resource: str, amount: float) -> str:
    if resource == "cpu":
        return f"{amount:g}" if amount == int(amount) else f"{amount * 1000:.0f}m"
    if resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        return format_bytes(amount)
    return f"{amount:g}"


def _taints(cause: Cause, subject: _Subject) -> Advice:
    named = _TAINT.search(cause.text)
    if named is not None:  # the scheduler named the first taint those nodes did not tolerate
        detail, fix = _taint_advice(named["key"].strip(), named["value"].strip(),
                                    subject.workload)
        return detail, [fix] if fix else []
    taints = _untolerated_taints(subject)
    if not taints:
        return "", [f"Add the missing tolerations to {subject.workload}, or make room on the "
                    "untainted nodes."]
    details, fixes = [], []
    for (key, value, effect), count in taints.most_common():
        detail, fix = _taint_advice(key, value, subject.workload, effect)
        details.append(f"{key}{'=' + value if value else ''} on {count} "
                       f"node{'s' if count > 1 else ''}" + (f": {detail}" if detail else ""))
        fixes += [fix] if fix else []
    return "; ".join(details), fixes


def _untolerated_taints(subject: _Subject) -> Counter[tuple[str, str, str]]:
    """``(key, value, effect)`` of the first NoSchedule / NoExecute taint the pod does not
    tolerate on each schedulable node, counted as the scheduler counts them (its newer
    ``untolerated taint(s)`` names none; cordoned nodes count as unschedulable before taints)."""
    tolerations = subject.spec.get("tolerations")
    found: Counter[tuple[str, str, str]] = Counter()
    for node in subject.nodes:
        spec = node.get("spec") or {}
        if spec.get("unschedulable"):
            continue
        taint = next((t for t in spec.get("taints") or ()
                      if t.get("effect") in ("NoSchedule", "NoExecute")
                      and not tolerates(tolerations, t)), None)
        if taint is not None:
            found[(taint.get("key", ""), taint.get("value") or "", taint.get("effect", ""))] += 1
    return found


def _taint_advice(key: str, value: str, workload: str,
                  effect: str = "<the taint's effect>") -> tuple[str, str]:
    """``(what those nodes are, the fix)`` for nodes carrying an untolerated taint."""
    if key in _CONDITION_TAINTS:
        state = _CONDITION_TAINTS[key]
        return (f"those nodes are {state}",
                f"Nodes tainted {key} are {state}: fix the nodes (see the node findings); "
                "tolerating the taint would only move the pod onto an unhealthy node.")
    if key in _CONTROL_PLANE_TAINTS:
        return "control-plane nodes", ""
    toleration = (f"{{key: {key}, operator: Equal, value: {value}, effect: {effect}}}" if value
                  else f"{{key: {key}, operator: Exists, effect: {effect}}}")
    return "", (f"Nodes tainted {key}{'=' + value if value else ''} are reserved: if the pod "
                f"belongs there, add tolerations: [{toleration}] to {workload}; otherwise it "
                "needs room on the untainted nodes.")


def _node_selection(cause: Cause, subject: _Subject) -> Advice:
    spec, workload = subject.spec, subject.workload
    if "requested node name" in cause.text:
        return (f"spec.nodeName={spec.get('nodeName')}",
                [f"Remove or fix spec.nodeName in {workload}."])
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
    return detail, [f"No schedulable node carries the labels the pod requires{hint}: label the "
                    f"right nodes, or fix nodeSelector / affinity.nodeAffinity in {workload}."]


def _volume(cause: Cause, subject: _Subject) -> Advice:
    claims = [v["persistentVolumeClaim"].get("claimName", "")
              for v in subject.spec.get("volumes") or () if v.get("persistentVolumeClaim")]
    namespace = (subject.pod.get("metadata") or {}).get("namespace")
    describe = (f"kubectl describe pvc {' '.join(claims)}"
                f"{' -n ' + namespace if namespace else ''}") if claims else ""
    text = cause.text
    if "volume node affinity conflict" in text:
        return _volume_affinity(subject, claims, describe)
    if "unbound immediate" in text or "persistent volumes to bind" in text:
        fix = ("A PersistentVolumeClaim of the pod is not bound and no volume can be bound for "
               "it: see the PVC's events (provisioner, StorageClass, size, access mode).")
    elif "not found" in text:
        fix = (f"Create the missing PersistentVolumeClaim, or fix "
               f"spec.volumes[].persistentVolumeClaim.claimName in {subject.workload}.")
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
            [fix.rstrip(".") + (f" (see {describe})." if describe else ".")])


_ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone",
                "topology.ebs.csi.aws.com/zone", "topology.gke.io/zone",
                "topology.disk.csi.azure.com/zone")


def _volume_affinity(subject: _Subject, claims: list[str], describe: str) -> Advice:
    """Each bound volume's required zone (or host), and the zones of the schedulable nodes."""
    required = []
    for claim, pv in subject.volumes:
        for term in ((((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {})
                     .get("nodeSelectorTerms") or ()):
            for expr in term.get("matchExpressions") or ():
                values = ", ".join(expr.get("values") or ())
                required.append(f"PersistentVolume {pv['metadata']['name']} (claim {claim}) "
                                f"needs {expr.get('key')} {expr.get('operator')} ({values})")
    zones: Counter[str] = Counter()
    for node in subject.nodes:
        if (node.get("spec") or {}).get("unschedulable"):
            continue
        labels = (node.get("metadata") or {}).get("labels") or {}
        zone = next((labels[k] for k in _ZONE_LABELS if k in labels), None)
        if zone and all(labels.get(k) == v for k, v in
                        (subject.spec.get("nodeSelector") or {}).items()):
            zones[zone] += 1
    where = ", ".join(f"{zone} ({count} node{'s' if count > 1 else ''})"
                      for zone, count in sorted(zones.items()))
    detail = "; ".join(required + ([f"schedulable nodes are in {where}"] if where else []))
    if not detail and claims:
        detail = f"claims: {', '.join(claims)}"
    fix = ("The pod's bound volumes can only be used from nodes in another zone or host "
           "(the PersistentVolume's nodeAffinity)"
           + (f"; the nodes that could take the pod are in {', '.join(sorted(zones))}"
              if zones else "")
           + ": add a node where the volume is (the node group of that zone), or move the "
             "data to a volume in a zone with nodes")
    return detail, [fix + (f" (see {describe})." if describe else ".")]


def _topology_spread(cause: Cause, subject: _Subject) -> Advice:
    strict = [c for c in subject.spec.get("topologySpreadConstraints") or ()
              if c.get("whenUnsatisfiable", "DoNotSchedule") == "DoNotSchedule"]
    detail = "; ".join(f"topologyKey {c.get('topologyKey')} maxSkew {c.get('maxSkew')}"
                       for c in strict)
    if "missing required label" in cause.text:
        return detail, ["Nodes lack the constraint's topologyKey label: label them, or change "
                        f"topologySpreadConstraints in {subject.workload}."]
    return detail, ["Placing the pod would exceed maxSkew: add nodes in the domains that have "
                    "fewer pods, raise maxSkew, or set whenUnsatisfiable: ScheduleAnyway in "
                    f"{subject.workload}."]


def _pod_affinity(cause: Cause, subject: _Subject) -> Advice:
    if "existing pods anti-affinity" in cause.text:
        return "", ["Pods already on those nodes have anti-affinity rules that exclude this pod: "
                    "see their podAntiAffinity, or add nodes."]
    return "", ["The pod's podAffinity / podAntiAffinity rules exclude those nodes; with a "
                "required anti-affinity per hostname every replica needs its own node: add "
                f"nodes, or use preferredDuringScheduling rules in {subject.workload}."]


def _host_ports(cause: Cause, subject: _Subject) -> Advice:
    ports = sorted({str(p["hostPort"]) for c in subject.spec.get("containers") or ()
                    for p in c.get("ports") or () if p.get("hostPort")})
    detail = f"hostPort {', '.join(ports)}" if ports else ""
    return detail, ["Another pod already uses the hostPort on those nodes: drop hostPort from "
                    f"{subject.workload} (use a Service) or add nodes."]


def _cordoned(cause: Cause, subject: _Subject) -> Advice:
    return "", ["Those nodes are cordoned (spec.unschedulable): kubectl uncordon NODE once "
                "their maintenance is over."]


def _other(cause: Cause, subject: _Subject) -> Advice:
    return "", []


_ADVISORS: dict[str, Callable[[Cause, _Subject], Advice]] = {
    RESOURCES: _resources,
    TAINT: _taints,
    NODE_SELECTION: _node_selection,
    VOLUME: _volume,
    TOPOLOGY_SPREAD: _topology_spread,
    POD_AFFINITY: _pod_affinity,
    HOST_PORTS: _host_ports,
    CORDONED: _cordoned,
    OTHER: _other,
}
