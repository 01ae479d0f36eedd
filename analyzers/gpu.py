"""GPU and other extended-resource workloads that cannot be placed, and GPU nodes that are down.

Faults reported:

- ``NoNodeOffersResource`` (error): a Pending pod requests an extended resource
  (``nvidia.com/gpu``, ``amd.com/gpu``, ``aws.amazon.com/neuron``...) that no node advertises:
  the device plugin (or GPU operator) is not installed or not running, or there is no GPU node
  pool. Fix: install the device plugin; check ``kubectl get nodes -o
  custom-columns=NAME:.metadata.name,GPU:.status.allocatable.nvidia\\.com/gpu``.
- ``DevicePluginUnhealthy`` (error): nodes have the resource in capacity but 0 allocatable: the
  device plugin reports every device unhealthy or has stopped. Fix: the device plugin pod's
  logs on those nodes, ``nvidia-smi`` there.
- ``GPUNodesUnavailable`` (error): every node with the resource free to allocate is NotReady or
  cordoned.
- ``GPUNodesNotSelected`` (error): nodes offer the resource, but the pod's ``nodeSelector`` /
  required node affinity excludes all of them. Fix: align the selector with the GPU nodes'
  labels.
- ``UntoleratedGPUTaint`` (error): the nodes that offer it carry a taint the pod does not
  tolerate (``nvidia.com/gpu=present:NoSchedule``); the toleration to add is given.
- ``InsufficientGPU`` (warning): every eligible node is full; the message says how many are
  requested and free where (``requests 2 nvidia.com/gpu; 3 nodes offer it: gpu-a100-1 (0 of 8
  free), ...``). Fix: wait, free GPUs (idle notebooks and finished jobs that still hold them),
  or add GPU nodes.
- ``GPUNodeNotReady`` (critical): a node with GPUs is NotReady or Unknown; its GPUs and GPU pods
  are lost to the cluster.
- ``GPUsUnhealthy`` (error when none is allocatable, else warning): a Ready node advertises
  fewer allocatable GPUs than it has (the device plugin marked some unhealthy: XID errors, a GPU
  fallen off the bus).
- ``GPUWithoutRequest`` (warning): a container sets ``NVIDIA_VISIBLE_DEVICES`` but requests no
  ``nvidia.com/gpu``: it bypasses the device plugin and uses GPUs the scheduler gives to other
  pods. Fix: request ``nvidia.com/gpu`` in ``resources.limits`` instead.

Not reported: extended-resource requests without limits or with requests different from limits
(the API server rejects such pods, so none can exist); pods the scheduler has not judged yet or
whose scheduling gates are still closed; pods waiting for a node the cluster autoscaler or
Karpenter is adding (``TriggeredScaleUp`` / ``Nominated`` in the last 15 minutes);
``NVIDIA_VISIBLE_DEVICES`` in DaemonSet pods (device plugins and GPU exporters need every GPU).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import (
    all_containers,
    conditions,
    is_terminated,
    ns_flag,
    pod_request,
    tolerates,
)
from k8sdoctor.cluster.quantity import parse_quantity
from k8sdoctor.cluster.selectors import Requirement
from k8sdoctor.cluster.state import event_time

SCALE_UP_SECONDS = 900
_MAX_NODES_NAMED = 5
_NATIVE = ("cpu", "memory", "ephemeral-storage", "pods", "storage")
_ACCELERATOR_HINTS = ("gpu", "mig-", "neuron", "gaudi", "tpu", "fpga")
_SCALE_UP_REASONS = {"TriggeredScaleUp", "Nominated"}


def is_extended(resource: str) -> bool:
    """A resource a device plugin or operator advertises, as the API defines extended ones:
    a qualified name outside the ``kubernetes.io`` domain."""
    if resource in _NATIVE or resource.startswith(("hugepages-", "requests.", "limits.")):
        return False
    domain, slash, _ = resource.partition("/")
    return bool(slash) and not domain.endswith("kubernetes.io")


def is_accelerator(resource: str) -> bool:
    return is_extended(resource) and any(hint in resource for hint in _ACCELERATOR_HINTS)


def analyze(state: ClusterState) -> Iterator[Finding]:
    nodes = state.objects("Node")
    offers: Callable[[str], tuple[_Offer, ...]] = cache(
        lambda resource: _offers(state, nodes, resource))
    for pod in state.objects("Pod"):
        if _unschedulable(pod):
            yield from _pending(state, pod, offers)
    for node in nodes:
        yield from _gpu_node(state, node)
    yield from _bypassing_device_plugin(state)


@dataclass(frozen=True)
class _Offer:
    """A node with an extended resource in its capacity, and what its pods already request."""

    node: Mapping[str, Any]
    capacity: float
    allocatable: float
    requested: float
    schedulable: bool
    """Ready and not cordoned."""

    @property
    def name(self) -> str:
        return self.node["metadata"]["name"]

    @property
    def free(self) -> float:
        return self.allocatable - self.requested


def _offers(
    state: ClusterState, nodes: Sequence[Mapping[str, Any]], resource: str
) -> tuple[_Offer, ...]:
    """The nodes that have ``resource`` in capacity: read once per resource, not per pod."""
    offers = []
    for node in nodes:
        capacity = _amount(node, "capacity", resource)
        if capacity > 0:
            requested = sum(pod_request(p.get("spec") or {}, resource)
                            for p in state.pods_on_node(node["metadata"]["name"])
                            if not is_terminated(p))
            schedulable = _ready(node) and not (node.get("spec") or {}).get("unschedulable")
            offers.append(_Offer(node, capacity, _amount(node, "allocatable", resource),
                                 requested, schedulable))
    return tuple(offers)


def _unschedulable(pod: Mapping[str, Any]) -> bool:
    if (pod.get("spec") or {}).get("nodeName") or (pod.get("status") or {}).get(
            "phase") != "Pending":
        return False
    scheduled = conditions(pod).get("PodScheduled") or {}
    return scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable"


def _amount(obj: Mapping[str, Any], field: str, resource: str) -> float:
    try:
        return parse_quantity(((obj.get("status") or {}).get(field) or {}).get(resource, "0"))
    except ValueError:
        return 0.0


def _pending(
    state: ClusterState, pod: Mapping[str, Any], offers: Callable[[str], tuple[_Offer, ...]]
) -> Iterator[Finding]:
    spec = pod.get("spec") or {}
    names = {name for _, c in all_containers(spec)
             for field in ("requests", "limits")
             for name in ((c.get("resources") or {}).get(field) or {})
             if is_extended(name)}
    if not names or _scale_up_in_progress(state, pod):
        return
    for resource in sorted(names):
        wanted = pod_request(spec, resource)
        if wanted > 0:
            finding = _placement(state, pod, resource, wanted, offers(resource))
            if finding:
                yield finding


def _placement(
    state: ClusterState, pod: Mapping[str, Any], resource: str, wanted: float,
    offering: Sequence[_Offer],
) -> Finding | None:
    """Walks the nodes through the filters that matter for ``resource``; the first filter that
    leaves none is the fault."""
    name, spec = pod["metadata"]["name"], pod.get("spec") or {}
    scheduler = (conditions(pod).get("PodScheduled") or {}).get("message", "")
    asks = f"Pod {name} requests {wanted:g} {resource}"
    evidence = [f"scheduler: {scheduler}"] if scheduler else []

    def finding(severity: Severity, reason: str, message: str, steps: list[str]) -> Finding:
        return Finding.about(pod, severity=severity, reason=reason, message=message,
                             evidence=evidence, remediation=steps,
                             parent=state.workload_of(pod))

    if not offering:
        return finding(Severity.ERROR, "NoNodeOffersResource",
                       f"{asks}, and no node offers {resource}: no device plugin advertises it.",
                       [f"kubectl get nodes -o custom-columns=NAME:.metadata.name,"
                        f"ALLOCATABLE:.status.allocatable.{resource.replace('.', chr(92) + '.')}",
                        f"Install the device plugin for {resource} (for NVIDIA: the GPU "
                        "operator or k8s-device-plugin) or add a node pool that has it."])
    healthy = [o for o in offering if o.allocatable > 0]
    if not healthy:
        return finding(Severity.ERROR, "DevicePluginUnhealthy",
                       f"{asks}; {_node_list(offering)} have it in capacity but 0 allocatable: "
                       "the device plugin reports no healthy device.",
                       [f"kubectl get pods -A -o wide --field-selector spec.nodeName="
                        f"{offering[0].name}  # the device plugin pod's logs",
                        "On the node: nvidia-smi (XID errors, a GPU fallen off the bus)"])
    usable = [o for o in healthy if o.schedulable]
    if not usable:
        return finding(Severity.ERROR, "GPUNodesUnavailable",
                       f"{asks}; every node offering it is NotReady or cordoned: "
                       f"{_node_list(healthy)}.",
                       [f"kubectl describe node {healthy[0].name}"])
    selected = [o for o in usable if _node_selected(spec, o.node)]
    if not selected:
        return finding(Severity.ERROR, "GPUNodesNotSelected",
                       f"{asks}, but its nodeSelector / node affinity excludes every node that "
                       f"offers it ({_node_list(usable)}).",
                       [f"kubectl get nodes --show-labels | grep {usable[0].name}  # compare "
                        "with the pod's nodeSelector and affinity", "Fix spec.nodeSelector or "
                        "spec.affinity.nodeAffinity in the pod template."])
    tolerated = [o for o in selected if not _blocking_taints(spec, o.node)]
    if not tolerated:
        taints = {_taint_text(t) for o in selected for t in _blocking_taints(spec, o.node)}
        first = _blocking_taints(spec, selected[0].node)[0]
        return finding(Severity.ERROR, "UntoleratedGPUTaint",
                       f"{asks}; the nodes that offer it ({_node_list(selected)}) carry taints "
                       f"it does not tolerate: {', '.join(sorted(taints))}.",
                       [f"Add to the pod template: tolerations: [{{key: {first.get('key')}, "
                        f"operator: Exists, effect: {first.get('effect')}}}]"])
    if any(o.free >= wanted for o in tolerated):
        return None  # the resource is not what keeps this pod Pending
    tolerated.sort(key=lambda o: o.name)
    where = ", ".join(f"{o.name} ({max(o.free, 0):g} of {o.allocatable:g} free)"
                      for o in tolerated[:_MAX_NODES_NAMED])
    more = " ..." if len(tolerated) > _MAX_NODES_NAMED else ""
    return finding(Severity.WARNING, "InsufficientGPU",
                   f"{asks}; {len(tolerated)} node(s) offer it and none has enough free: "
                   f"{where}{more}.",
                   [f"kubectl get pods -A -o wide --field-selector spec.nodeName="
                    f"{tolerated[0].name}  # which pods hold the {resource}",
                    f"Free {resource} (idle notebooks, finished jobs), lower the request, or "
                    "add nodes to the GPU pool."])


def _scale_up_in_progress(state: ClusterState, pod: Mapping[str, Any]) -> bool:
    for event in state.events_for(pod):
        age = state.age_of(event_time(event))
        if event.get("reason") in _SCALE_UP_REASONS and age is not None and (
                age <= SCALE_UP_SECONDS):
            return True
    return False


def _ready(node: Mapping[str, Any]) -> bool:
    return (conditions(node).get("Ready") or {}).get("status") == "True"


def _blocking_taints(spec: Mapping[str, Any], node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [t for t in (node.get("spec") or {}).get("taints") or ()
            if t.get("effect") in ("NoSchedule", "NoExecute")
            and not tolerates(spec.get("tolerations"), t)]


def _taint_text(taint: Mapping[str, Any]) -> str:
    value = f"={taint['value']}" if taint.get("value") else ""
    return f"{taint.get('key')}{value}:{taint.get('effect')}"


def _node_selected(spec: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or ()
    return not terms or any(_term_matches(term, node) for term in terms)


def _term_matches(term: Mapping[str, Any], node: Mapping[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    expressions = [(e, labels) for e in term.get("matchExpressions") or ()]
    expressions += [(e, fields) for e in term.get("matchFields") or ()]
    if not expressions:
        return False  # an empty term matches no node
    return all(_requirement(e, values) for e, values in expressions)


def _requirement(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A NodeSelectorRequirement: the label selector operators, plus ``Gt`` / ``Lt`` on
    integer values."""
    key, operator = expression.get("key", ""), expression.get("operator", "")
    values = tuple(expression.get("values") or ())
    if operator in ("Gt", "Lt"):
        try:
            have, bound = int(labels[key]), int(values[0])
        except (KeyError, IndexError, ValueError):
            return False
        return have > bound if operator == "Gt" else have < bound
    try:
        return Requirement(key, operator, values).holds(labels)
    except ValueError:  # an operator the API does not define
        return False


def _node_list(offers: Sequence[_Offer]) -> str:
    names = [o.name for o in offers[:_MAX_NODES_NAMED]]
    more = f" and {len(offers) - _MAX_NODES_NAMED} more" if len(offers) > _MAX_NODES_NAMED else ""
    return ", ".join(names) + more


def _gpu_node(state: ClusterState, node: Mapping[str, Any]) -> Iterator[Finding]:
    name = node["metadata"]["name"]
    capacity = (node.get("status") or {}).get("capacity") or {}
    accelerators = sorted(r for r in capacity if is_accelerator(r)
                          and _amount(node, "capacity", r) > 0)
    if not accelerators:
        return
    ready = conditions(node).get("Ready") or {}
    if ready and ready.get("status") != "True":
        gpu_pods = [p["metadata"]["name"] for p in state.pods_on_node(name)
                    if not is_terminated(p)
                    and any(pod_request(p.get("spec") or {}, r) > 0 for r in accelerators)]
        lost = ", ".join(f"{_amount(node, 'capacity', r):g} {r}" for r in accelerators)
        state_word = "NotReady" if ready.get("status") == "False" else "Unknown"
        yield Finding.about(
            node, severity=Severity.CRITICAL, reason="GPUNodeNotReady",
            message=f"GPU node {name} is {state_word} "
                    f"({ready.get('message') or ready.get('reason')}): its {lost} are "
                    f"unavailable" + (f"; GPU pods on it: {', '.join(gpu_pods[:5])}"
                                      if gpu_pods else "") + ".",
            evidence=[f"condition Ready={ready.get('status')}: {ready.get('message', '')}"],
            remediation=[f"kubectl describe node {name}",
                         "On the node: nvidia-smi; systemctl status kubelet containerd"],
        )
        return
    for resource in accelerators:
        total = _amount(node, "capacity", resource)
        healthy = _amount(node, "allocatable", resource)
        if healthy >= total:
            continue
        yield Finding.about(
            node, severity=Severity.ERROR if healthy == 0 else Severity.WARNING,
            reason="GPUsUnhealthy",
            message=f"Node {name} has {total:g} {resource} but only {healthy:g} allocatable: "
                    "the device plugin marked the others unhealthy.",
            evidence=[f"capacity {resource}={total:g}", f"allocatable {resource}={healthy:g}"],
            remediation=[f"On {name}: nvidia-smi -q | grep -i -A2 xid  # failing devices",
                         f"kubectl drain {name} --ignore-daemonsets  # then reset or replace "
                         "the GPU"],
        )


def _bypassing_device_plugin(state: ClusterState) -> Iterator[Finding]:
    seen: set[tuple[str, str, str]] = set()
    for pod in state.objects("Pod"):
        spec = pod.get("spec") or {}
        # the variable is rare and cheap to look for: the rest is read only when it is set
        visible = _visible_devices(spec)
        if (not visible or is_terminated(pod) or _owned_by_daemon_set(pod)
                or any(pod_request(spec, r) > 0 for r in _gpu_resources(spec))):
            continue
        for container, value in visible:
            parent = state.workload_of(pod)
            key = (pod["metadata"].get("namespace") or "",
                   str(parent) if parent else pod["metadata"]["name"], container.get("name", ""))
            if key in seen:
                continue
            seen.add(key)
            owner = f" of {parent.kind} {parent.name}" if parent else ""
            yield Finding.about(
                pod, severity=Severity.WARNING, reason="GPUWithoutRequest",
                message=f"Container {container.get('name')} of pod {pod['metadata']['name']}"
                        f"{owner} sets NVIDIA_VISIBLE_DEVICES={value} without requesting "
                        "nvidia.com/gpu: it uses GPUs the scheduler hands to other pods.",
                evidence=[f"env NVIDIA_VISIBLE_DEVICES={value}", "no nvidia.com/gpu limit"],
                remediation=[
                    f"Remove the variable from container {container.get('name')} and set "
                    "resources.limits nvidia.com/gpu on it instead: kubectl edit "
                    + (f"{parent.kind.lower()} {parent.name}" if parent
                       else f"pod {pod['metadata']['name']}")
                    + ns_flag(pod["metadata"].get("namespace")),
                ],
                parent=parent,
            )


def _gpu_resources(spec: Mapping[str, Any]) -> set[str]:
    return {name for _, c in all_containers(spec) for field in ("requests", "limits")
            for name in ((c.get("resources") or {}).get(field) or {}) if is_accelerator(name)}


def _visible_devices(spec: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], str]]:
    """``(container, value)`` for each container whose first ``NVIDIA_VISIBLE_DEVICES`` names
    devices."""
    visible = []
    for _, container in all_containers(spec):
        for env in container.get("env") or ():
            if env.get("name") == "NVIDIA_VISIBLE_DEVICES":
                value = env.get("value")
                if value is not None and value.strip().lower() not in ("", "void", "none"):
                    visible.append((container, value))
                break
    return visible


def _owned_by_daemon_set(pod: Mapping[str, Any]) -> bool:
    return any(ref.get("kind") == "DaemonSet" for ref in pod["metadata"].get("ownerReferences")
               or ())


ANALYZER = Analyzer(
    name="gpu",
    # ReplicaSet and Job so that findings name the Deployment or CronJob that owns a pod
    kinds=("Pod", "Node", "Event", "ReplicaSet", "Job"),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({"GPUWithoutRequest"}),
)
