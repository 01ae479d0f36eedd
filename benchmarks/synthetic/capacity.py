"""What the cluster has and uses: control-plane, worker and GPU nodes (with the scheduler's
message for a pod none of them fits), per-namespace ResourceQuotas whose usage the quota
controller computed from the pods, and PodMetrics as metrics-server serves them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from k8sdoctor.cluster.quantity import parse_quantity

from .kit import DAY, Cluster, Obj, at, digest, fraction, quantity_cpu, quantity_memory

ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
CONTROL_PLANE_TAINT = "{node-role.kubernetes.io/control-plane: }"
GPU_TAINT = {"effect": "NoSchedule", "key": "nvidia.com/gpu", "value": "present"}


def node(cluster: Cluster, index: int, *, role: str, capacity: Mapping[str, str],
         allocatable: Mapping[str, str], taints: Sequence[Obj] = (),
         labels: Mapping[str, str] | None = None) -> Obj:
    """An EKS-style node named after its address, in one of three zones."""
    zone = ZONES[index % len(ZONES)]
    ip = f"10.0.{index // 250}.{10 + index % 250}"
    name = f"ip-10-0-{index // 250}-{10 + index % 250}.eu-west-1.compute.internal"
    all_labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name,
                  "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type":
                  {"control-plane": "m6i.xlarge", "gpu": "p4d.24xlarge"}.get(role, "m6i.4xlarge"),
                  "topology.kubernetes.io/region": "eu-west-1",
                  "topology.kubernetes.io/zone": zone, **(labels or {})}
    if role == "control-plane":
        all_labels["node-role.kubernetes.io/control-plane"] = ""
    spec: Obj = {"podCIDR": f"10.64.{index}.0/24", "podCIDRs": [f"10.64.{index}.0/24"],
                 "providerID": f"aws:///{zone}/i-0{digest('instance', name)[:16]}"}
    if taints:
        spec["taints"] = list(taints)
    kubelet = [("MemoryPressure", "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available"),
               ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
               ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
               ("Ready", "KubeletReady", "kubelet is posting ready status")]
    return cluster.add({
        "apiVersion": "v1", "kind": "Node",
        "metadata": cluster.meta("Node", name, age=40 * DAY + index * 600, labels=all_labels,
                                 annotations={"node.alpha.kubernetes.io/ttl": "0",
                                              "volumes.kubernetes.io/controller-managed-attach-"
                                              "detach": "true"}),
        "spec": spec,
        "status": {
            "addresses": [{"address": ip, "type": "InternalIP"},
                          {"address": name, "type": "InternalDNS"},
                          {"address": name, "type": "Hostname"}],
            "allocatable": dict(allocatable), "capacity": dict(capacity),
            "conditions": [{"lastHeartbeatTime": at(20 + index % 30),
                            "lastTransitionTime": at(40 * DAY), "message": message,
                            "reason": reason, "status": "True" if kind == "Ready" else "False",
                            "type": kind} for kind, reason, message in kubelet],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {"architecture": "amd64", "bootID": cluster.uid("boot", name),
                         "containerRuntimeVersion": "containerd://1.7.23",
                         "kernelVersion": "6.1.115-126.197.amzn2023.x86_64",
                         "kubeProxyVersion": "v1.31.2", "kubeletVersion": "v1.31.2",
                         "machineID": digest("machine", name)[:32], "operatingSystem": "linux",
                         "osImage": "Amazon Linux 2023.6.20241111",
                         "systemUUID": cluster.uid("system", name)},
        },
    })


def unschedulable(total: int, failed: Mapping[str, int], victims: Mapping[str, int]) -> str:
    """kube-scheduler's message: each filter's count, then what preemption would do, each part
    sorted as the scheduler sorts its reason strings."""
    def listing(counts: Mapping[str, int]) -> str:
        return ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items() if n))

    return (f"0/{total} nodes are available: {listing(failed)}. preemption: 0/{total} nodes are "
            f"available: {listing(victims)}.")


@dataclass
class Nodes:
    """The cluster's nodes by role, and where the next pod goes."""

    control: list[Obj]
    workers: list[Obj]
    gpus: list[Obj]
    _placed: int = 0

    @property
    def all(self) -> list[Obj]:
        return self.control + self.workers + self.gpus

    def place(self) -> Obj:
        """The next worker, round robin, as a scheduler spreading pods would."""
        self._placed += 1
        return self.workers[self._placed % len(self.workers)]

    def insufficient(self, resource: str, *, selects_gpu: bool = False) -> str:
        """The scheduler's message for a pod that fits no node for lack of ``resource``."""
        taint = f"node(s) had untolerated taint {CONTROL_PLANE_TAINT}"
        if selects_gpu:
            failed = {f"Insufficient {resource}": len(self.gpus), taint: len(self.control),
                      "node(s) didn't match Pod's node affinity/selector": len(self.workers)}
            unhelpful = len(self.control) + len(self.workers)
            victims = len(self.gpus)
        else:
            failed = {f"Insufficient {resource}": len(self.workers), taint: len(self.control),
                      "node(s) had untolerated taint {nvidia.com/gpu: present}": len(self.gpus)}
            unhelpful = len(self.control) + len(self.gpus)
            victims = len(self.workers)
        return unschedulable(len(self.all), failed, {
            "No preemption victims found for incoming pod": victims,
            "Preemption is not helpful for scheduling": unhelpful})


def make_nodes(cluster: Cluster, pods: int) -> Nodes:
    """Three control-plane nodes, a worker per 40 pods and a GPU node (8 A100s) per 25 workers;
    on the last GPU node one GPU fell off the bus, so the device plugin reports 7 of 8."""
    workers = max(3, pods // 40)
    gpus = max(1, workers // 25)
    storage = {"ephemeral-storage": "104845292Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0"}

    def sizes(cpu: int, memory_gi: int, **extra: str) -> dict[str, dict[str, str]]:
        capacity = {"cpu": str(cpu), **storage, "memory": f"{memory_gi * 1024 * 1024}Ki",
                    "pods": "110", **extra}
        allocatable = {**capacity, "cpu": f"{cpu * 1000 - 110}m",
                       "memory": f"{memory_gi * 1024 * 1024 - 1_022_976}Ki"}
        return {"capacity": capacity, "allocatable": allocatable}

    control = [node(cluster, i, role="control-plane", **sizes(4, 16),
                    taints=[{"effect": "NoSchedule",
                             "key": "node-role.kubernetes.io/control-plane"}])
               for i in range(3)]
    worker = [node(cluster, 3 + i, role="worker", **sizes(16, 64)) for i in range(workers)]
    gpu = []
    for i in range(gpus):
        shape = sizes(96, 1152, **{"nvidia.com/gpu": "8"})
        if i == gpus - 1:
            shape["allocatable"]["nvidia.com/gpu"] = "7"
        gpu.append(node(cluster, 3 + workers + i, role="gpu", taints=[GPU_TAINT], **shape,
                        labels={"nvidia.com/gpu.count": "8", "nvidia.com/gpu.present": "true",
                                "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"}))
    return Nodes(control, worker, gpu)


def pod_metrics(cluster: Cluster, pods: Iterable[Obj], *, idle: Iterable[str] = ()) -> None:
    """PodMetrics for every running pod, as metrics-server serves them: each container uses a
    share of its request; those of the ``idle`` workloads (name prefixes) almost nothing."""
    idle_prefixes = tuple(idle)
    for p in pods:
        meta, status = p["metadata"], p["status"]
        if status["phase"] != "Running" or not all(
                "running" in s["state"] for s in status.get("containerStatuses") or ()):
            continue
        share = 0.03 if meta["name"].startswith(idle_prefixes) else 0.2 + 0.5 * fraction(
            meta["uid"])
        containers = []
        for c in p["spec"]["containers"]:
            requests = c["resources"].get("requests") or {}
            cpu = parse_quantity(requests.get("cpu", "20m")) * share
            memory = parse_quantity(requests.get("memory", "64Mi")) * (0.3 + share)
            containers.append({"name": c["name"], "usage": {
                "cpu": f"{round(cpu * 1e9)}n", "memory": f"{round(memory / 1024)}Ki"}})
        cluster.add({
            "apiVersion": "metrics.k8s.io/v1beta1", "containers": containers,
            "kind": "PodMetrics",
            "metadata": {"creationTimestamp": at(0), "labels": dict(meta.get("labels") or {}),
                         "name": meta["name"], "namespace": meta["namespace"]},
            "timestamp": at(4 + int(meta["uid"][:2], 16) % 20), "window": "15.012s",
        })


def resource_quotas(cluster: Cluster, namespaces: Sequence[str], *,
                    near_limit: Iterable[str] = (), exhausted: Iterable[str] = ()) -> None:
    """A ``compute-resources`` quota in each namespace, its usage summed from the pods that
    count against it (those not finished) as the quota controller does. Limits leave 25-45%
    headroom, except for requests.cpu in the ``near_limit`` namespaces (at about 94%) and the
    ``exhausted`` ones (at 100%)."""
    wanted, tight, full = set(namespaces), set(near_limit), set(exhausted)
    used: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for p in cluster.objects["Pod"]:
        namespace = p["metadata"]["namespace"]
        if namespace not in wanted or p["status"]["phase"] in ("Succeeded", "Failed"):
            continue
        usage = used[namespace]
        usage["pods"] += 1
        for c in p["spec"]["containers"]:
            for kind in ("requests", "limits"):
                for resource, value in (c["resources"].get(kind) or {}).items():
                    usage[f"{kind}.{resource}"] += parse_quantity(value)
    for namespace in namespaces:
        usage = used[namespace]
        hard, status = {}, {}
        for key in ("limits.memory", "pods", "requests.cpu", "requests.memory",
                    "requests.nvidia.com/gpu"):
            if key not in usage:
                continue
            amount = usage[key]
            if key == "requests.cpu" and namespace in full:
                hard[key] = status[key] = quantity_cpu(amount)
                continue
            share = (0.94 if key == "requests.cpu" and namespace in tight
                     else 0.55 + 0.2 * fraction(namespace, key))
            if key.endswith("memory"):
                hard[key] = f"{math.ceil(amount / share / 2**30)}Gi"
                status[key] = quantity_memory(amount)
            else:
                hard[key] = str(math.ceil(amount / share))
                status[key] = quantity_cpu(amount) if key.endswith("cpu") else str(round(amount))
        cluster.add({"apiVersion": "v1", "kind": "ResourceQuota",
                     "metadata": cluster.meta("ResourceQuota", "compute-resources", namespace,
                                              age=60 * DAY),
                     "spec": {"hard": hard}, "status": {"hard": hard, "used": status}})
