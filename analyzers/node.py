"""Nodes that are down, under resource pressure, reported unhealthy by a node agent, or cordoned.

Faults reported:

- ``NotReady`` (critical; warning while a node created less than 5 minutes ago is still
  joining, or while it is being removed - see below): the Ready condition is False; the
  kubelet's own message is quoted (``container runtime network not ready: ... cni plugin not
  initialized``, ``PLEG is not healthy``). Fix: what the message names - the CNI DaemonSet pod
  on that node, the container runtime, the kubelet (``journalctl -u kubelet`` on the node).
- ``NodeStatusUnknown`` (critical; warning while the node is being removed): Ready is
  Unknown, "Kubelet stopped posting node status.": the node is powered off, unreachable, or its
  kubelet is down. Its pods are evicted after the ``node.kubernetes.io/unreachable`` toleration
  (300 s by default). Fix: check the machine in the cloud console, ``systemctl status
  kubelet``; replace the node if it does not come back.
- ``MemoryPressure`` / ``DiskPressure`` / ``PIDPressure`` (error): the kubelet is short of the
  resource and evicts pods (the evicted pods are named). Fix: find the consumers
  (``kubectl top pods``, images and logs filling the disk), set requests and limits, or grow the
  node.
- ``NetworkUnavailable`` (error; not reported while the node is joining, before the route
  controller has created its route): the node's network (routes, CNI) is not configured; pods
  on it get no network. Fix: check the CNI or the cloud route controller.
- Conditions set by node agents (node-problem-detector, AKS, EKS node monitoring agent), judged
  by a table of known condition types and which status is the bad one: ``KernelDeadlock``,
  ``ReadonlyFilesystem``, ``XfsShutdown``, ``CorruptDockerOverlay2``,
  ``FilesystemCorruptionProblem``, ``KubeletUnhealthy``, ``ContainerRuntimeUnhealthy``,
  ``KubeletProblem``, ``ContainerRuntimeProblem`` (error when True); ``FrequentKubeletRestart``,
  ``FrequentDockerRestart``, ``FrequentContainerdRestart``, ``FrequentUnregisterNetDevice``,
  ``KubeProxyUnhealthy``, ``DiskSizeCheckFailure`` and scheduled VM maintenance
  (``VMEventScheduled``, ``RebootScheduled``, ``RedeployScheduled``, ``PreemptScheduled``,
  ``TerminateScheduled``, ``FreezeScheduled``) (warning when True); EKS ``KernelReady``,
  ``NetworkingReady``, ``StorageReady``, ``ContainerRuntimeReady``,
  ``AcceleratedHardwareReady`` (error when False). The finding's reason is the condition type.
  Fix: drain and repair or replace the node (``kubectl drain NODE --ignore-daemonsets``).
- ``Cordoned`` (info): ``spec.unschedulable`` is set, so no new pod lands there (said to be
  an autoscaler scale-down when its taint is present). Fix: ``kubectl uncordon NODE`` when the
  maintenance is over.
- ``DrainBlocked`` (warning, instead of ``Cordoned``): the node has been cordoned for 10
  minutes or more (by its ``node.kubernetes.io/unschedulable`` taint's ``timeAdded``; at once
  without it) and pods are still on it that a PodDisruptionBudget allowing 0 disruptions
  selects, so the Eviction API refuses them and the drain cannot finish. The budget and its
  pods are named. Fix: scale the workload up, relax the budget, or heal its unhealthy pods.

A node is being removed when it carries the cluster autoscaler's ``ToBeDeletedByClusterAutoscaler``
or Karpenter's ``karpenter.sh/disrupted`` taint, or has been deleted: its machine shuts down, so
its kubelet stops reporting as part of a healthy scale-down.

Not reported: a condition type this table does not know (vendors add their own, with either
polarity: GKE's ``FrequentUnregisterNetDevice`` False, AKS's ``KubeletProblem`` False, k3s's
``EtcdIsVoter`` True are all healthy); any condition in its healthy state; pressure conditions
of a node whose status is Unknown (they are Unknown too, and NodeStatusUnknown says it all).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import conditions, describe_condition, format_duration

from . import _drain
from ._node_health import being_removed, is_joining

_MAX_NAMED_PODS = 5

_PRESSURE = {
    "MemoryPressure": "memory",
    "DiskPressure": "disk space or inodes",
    "PIDPressure": "process IDs",
}


@dataclass(frozen=True)
class AgentCondition:
    """A node condition some agent sets, and the status that means trouble."""

    bad_status: str
    severity: Severity
    meaning: str


def _agent(bad_status: str, severity: Severity, meaning: str) -> AgentCondition:
    return AgentCondition(bad_status, severity, meaning)


_E, _W = Severity.ERROR, Severity.WARNING
AGENT_CONDITIONS: dict[str, AgentCondition] = {
    # node-problem-detector (upstream configs; GKE, AKS and bare-metal distributions use them)
    "KernelDeadlock": _agent("True", _E, "a kernel task is hung (deadlock)"),
    "ReadonlyFilesystem": _agent("True", _E, "a filesystem was remounted read-only"),
    "XfsShutdown": _agent("True", _E, "an XFS filesystem shut down"),
    "CorruptDockerOverlay2": _agent("True", _E, "Docker's overlay2 storage is corrupt"),
    "KubeletUnhealthy": _agent("True", _E, "the kubelet fails its health check"),
    "ContainerRuntimeUnhealthy": _agent(
        "True", _E, "the container runtime fails its health check"),
    "KubeProxyUnhealthy": _agent("True", _W, "kube-proxy fails its health check"),
    "FrequentKubeletRestart": _agent("True", _W, "the kubelet restarts repeatedly"),
    "FrequentDockerRestart": _agent("True", _W, "Docker restarts repeatedly"),
    "FrequentContainerdRestart": _agent("True", _W, "containerd restarts repeatedly"),
    "FrequentUnregisterNetDevice": _agent(
        "True", _W, "the kernel keeps waiting on unregister_netdevice"),
    "DiskSizeCheckFailure": _agent("True", _W, "the boot disk size check failed"),
    # AKS node-problem-detector
    "FilesystemCorruptionProblem": _agent("True", _E, "filesystem corruption was detected"),
    "KubeletProblem": _agent("True", _E, "the kubelet is down"),
    "ContainerRuntimeProblem": _agent("True", _E, "the container runtime is down"),
    "VMEventScheduled": _agent("True", _W, "the VM has a maintenance event scheduled"),
    "FreezeScheduled": _agent("True", _W, "the VM is scheduled to be paused briefly"),
    "RebootScheduled": _agent("True", _W, "the VM is scheduled to reboot"),
    "RedeployScheduled": _agent("True", _W, "the VM is scheduled to move to another host"),
    "PreemptScheduled": _agent("True", _W, "the spot VM is about to be preempted"),
    "TerminateScheduled": _agent("True", _W, "the VM is scheduled to be deleted"),
    # EKS node monitoring agent: the healthy state is True
    "KernelReady": _agent("False", _E, "the kernel has a problem"),
    "NetworkingReady": _agent("False", _E, "node networking has a problem"),
    "StorageReady": _agent("False", _E, "node storage has a problem"),
    "ContainerRuntimeReady": _agent("False", _E, "the container runtime has a problem"),
    "AcceleratedHardwareReady": _agent("False", _E, "a GPU or accelerator has a problem"),
}


def analyze(state: ClusterState) -> Iterator[Finding]:
    for node in state.objects("Node"):
        yield from _check(state, node)


def _check(state: ClusterState, node: Mapping[str, Any]) -> Iterator[Finding]:
    name = node["metadata"]["name"]
    by_type = conditions(node)
    ready = by_type.get("Ready")
    pods_here = [p for p in state.pods_on_node(name)
                 if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    pod_count = (f"{len(pods_here)} pod is bound to it" if len(pods_here) == 1
                 else f"{len(pods_here)} pods are bound to it")
    describe = f"kubectl describe node {name}"
    removal = being_removed(node)
    removing = f" ({removal})" if removal else ""
    joining = is_joining(state, node)

    if ready and ready.get("status") == "Unknown":
        yield Finding.about(
            node, severity=Severity.WARNING if removal else Severity.CRITICAL,
            reason="NodeStatusUnknown",
            message=f"Node {name} stopped reporting: {ready.get('message') or 'status Unknown'}"
                    f"{_since(state, ready)}{removing}; {pod_count}.",
            evidence=[describe_condition(ready), _heartbeat(ready), pod_count],
            remediation=[
                describe,
                f"Check that the machine behind {name} is running and reachable (cloud "
                "console), then on it: systemctl status kubelet; journalctl -u kubelet -n 100",
                f"If it does not come back, drain and delete it: kubectl drain {name} "
                f"--ignore-daemonsets --delete-emptydir-data && kubectl delete node {name}",
            ],
        )
        return  # the other conditions are Unknown too: nothing more to learn
    if ready and ready.get("status") == "False":
        yield Finding.about(
            node, severity=Severity.WARNING if joining or removal else Severity.CRITICAL,
            reason="NotReady",
            message=f"Node {name} is NotReady: {ready.get('message') or ready.get('reason')}"
                    f"{_since(state, ready)}"
                    + (" (it joined the cluster minutes ago)." if joining
                       else f"{removing}; {pod_count}."),
            evidence=[describe_condition(ready), pod_count],
            remediation=[describe, *_not_ready_steps(name, ready.get("message") or "", pods_here)],
        )

    for condition_type, resource in _PRESSURE.items():
        condition = by_type.get(condition_type)
        if condition and condition.get("status") == "True":
            yield _pressure(state, node, condition, resource)
    network = by_type.get("NetworkUnavailable")
    if network and network.get("status") == "True" and not joining:
        yield Finding.about(
            node, severity=Severity.ERROR, reason="NetworkUnavailable",
            message=f"Node {name} has no configured network: "
                    f"{network.get('message') or network.get('reason')}; pods on it cannot "
                    "reach anything.",
            evidence=[describe_condition(network)],
            remediation=[
                f"kubectl get pods -A -o wide --field-selector spec.nodeName={name}  "
                "# is the CNI pod on this node running?",
                "On clouds, check the route controller (cloud-controller-manager logs) for "
                "route creation errors.",
            ],
        )

    for condition_type, condition in by_type.items():
        known = AGENT_CONDITIONS.get(condition_type)
        if known and condition.get("status") == known.bad_status:
            yield Finding.about(
                node, severity=known.severity, reason=condition_type,
                message=f"Node {name}: {known.meaning} ({condition_type}="
                        f"{condition.get('status')}"
                        + (f", {condition['reason']}" if condition.get("reason") else "")
                        + (f": {condition['message']}" if condition.get("message") else "")
                        + f"){_since(state, condition)}.",
                evidence=[describe_condition(condition)],
                remediation=[
                    describe,
                    f"Move the workloads off and repair or replace the node: kubectl drain "
                    f"{name} --ignore-daemonsets --delete-emptydir-data",
                ],
            )

    if (node.get("spec") or {}).get("unschedulable"):
        blockers = _drain.drain_blockers(state, node, pods_here)
        yield (_drain.drain_blocked_finding(state, node, blockers) if blockers
               else _cordoned(node, pod_count))


def _pressure(
    state: ClusterState, node: Mapping[str, Any], condition: Mapping[str, Any], resource: str
) -> Finding:
    name = node["metadata"]["name"]
    evicted = [p for p in state.pods_on_node(name)
               if (p.get("status") or {}).get("reason") == "Evicted"]
    named = ", ".join(f"{p['metadata'].get('namespace')}/{p['metadata']['name']}"
                      for p in evicted[:_MAX_NAMED_PODS])
    more = f" and {len(evicted) - _MAX_NAMED_PODS} more" if len(evicted) > _MAX_NAMED_PODS else ""
    evictions = f"; it evicted {len(evicted)} pod(s): {named}{more}" if evicted else ""
    evidence = [describe_condition(condition)]
    evidence += [f"pod {p['metadata'].get('namespace')}/{p['metadata']['name']} Evicted: "
                 f"{(p.get('status') or {}).get('message', '').strip()}"
                 for p in evicted[:_MAX_NAMED_PODS]]
    steps = {
        "MemoryPressure": [
            f"kubectl top pods -A --sort-by=memory  # find the biggest consumers on {name}",
            "Give the heavy containers memory limits and realistic requests, or move them to "
            "bigger nodes.",
        ],
        "DiskPressure": [
            f"On {name}: df -h /var/lib/kubelet /var/lib/containerd; crictl rmi --prune",
            "Look for containers writing large logs or emptyDir data; set "
            "ephemeral-storage limits.",
        ],
        "PIDPressure": [
            f"On {name}: ps -eLf | wc -l, and find the process forking without bound",
            "Set the kubelet's podPidsLimit so one pod cannot exhaust the node.",
        ],
    }[condition["type"]]
    return Finding.about(
        node, severity=Severity.ERROR, reason=condition["type"],
        message=f"Node {name} is short of {resource}: {condition.get('message') or 'pressure'}"
                f"{_since(state, condition)}{evictions}.",
        evidence=evidence,
        remediation=[f"kubectl describe node {name}", *steps],
    )


def _cordoned(node: Mapping[str, Any], pod_count: str) -> Finding:
    name = node["metadata"]["name"]
    taints = (node.get("spec") or {}).get("taints") or ()
    why = being_removed(node)
    return Finding.about(
        node, severity=Severity.INFO, reason="Cordoned",
        message=f"Node {name} is cordoned: no new pod is scheduled on it"
                + (f" ({why})." if why else "."),
        evidence=["spec.unschedulable=true", pod_count,
                  *(f"taint {t.get('key')}={t.get('value', '')}:{t.get('effect')}"
                    for t in taints)],
        remediation=[f"kubectl uncordon {name}  # when the maintenance is over"],
    )


def _not_ready_steps(
    name: str, message: str, pods_here: list[Mapping[str, Any]]
) -> list[str]:
    pods_on_node = f"kubectl get pods -A -o wide --field-selector spec.nodeName={name}"
    if "NetworkPluginNotReady" in message or "cni" in message.lower():
        failing_agents = [
            pod for pod in pods_here
            if any(ref.get("kind") == "DaemonSet"
                   for ref in pod["metadata"].get("ownerReferences") or ())
            and not all(s.get("ready") for s in (pod.get("status") or {}).get(
                "containerStatuses") or ({},))
        ]
        if failing_agents:
            return [f"kubectl logs {p['metadata']['name']} -n {p['metadata'].get('namespace')} "
                    "--all-containers --previous  # a node agent on this node is not ready; "
                    "the CNI is usually one of them" for p in failing_agents[:_MAX_NAMED_PODS]]
        return [f"{pods_on_node}  # the CNI pod (calico, cilium, aws-node, ...) on this node "
                "is not running",
                "kubectl get daemonsets -n kube-system  # is the CNI DaemonSet scheduled here?"]
    if "PLEG" in message or "container runtime" in message:
        return [f"On {name}: systemctl status containerd; journalctl -u containerd -n 100",
                "crictl ps  # does the runtime answer?"]
    return [f"On {name}: systemctl status kubelet; journalctl -u kubelet -n 100",
            pods_on_node]


def _since(state: ClusterState, condition: Mapping[str, Any]) -> str:
    seconds = state.age_of(condition.get("lastTransitionTime"))
    return "" if seconds is None or seconds < 0 else f" (for {format_duration(seconds)})"


def _heartbeat(condition: Mapping[str, Any]) -> str:
    return f"last heartbeat {condition.get('lastHeartbeatTime') or 'unknown'}"


ANALYZER = Analyzer(
    name="node",
    kinds=("Node", "Pod", "PodDisruptionBudget"),
    analyze=analyze,
    doc=__doc__ or "",
)
