"""How long analysis takes on a large cluster, and how much memory it needs.

Builds a synthetic cluster in memory (Deployments -> ReplicaSets -> Pods with Services,
EndpointSlices, Events, ConfigMaps and nodes; a share of the pods broken in realistic ways), then
times building the ``ClusterState`` and running every installed analyzer over it, and reports the
peak memory of the whole run. Prints one line of figures per size.

    python benchmarks/analyze.py                # 1,000 / 5,000 / 20,000 pods
    python benchmarks/analyze.py --pods 50000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from k8sdoctor.analysis.engine import run_analyzers
from k8sdoctor.analysis.registry import discover
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import ClusterState, Scope

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
PODS_PER_DEPLOYMENT = 10
PODS_PER_NODE = 50


def _ts(minutes_ago: int) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _meta(name: str, namespace: str | None, uid: str, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": uid, "creationTimestamp": _ts(600),
                            "resourceVersion": "1"}
    if namespace:
        meta["namespace"] = namespace
    meta.update(extra)
    return meta


def _node(index: int) -> dict[str, Any]:
    name = f"node-{index:04d}"
    ready = {"type": "Ready", "status": "True", "reason": "KubeletReady",
             "message": "kubelet is posting ready status", "lastHeartbeatTime": _ts(1),
             "lastTransitionTime": _ts(600)}
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": _meta(name, None, f"node-{index}", labels={"kubernetes.io/hostname": name}),
        "spec": {},
        "status": {"capacity": {"cpu": "16", "memory": "64Gi", "pods": "110"},
                   "allocatable": {"cpu": "15800m", "memory": "62Gi", "pods": "110"},
                   "conditions": [ready]},
    }


def _container_status(broken: bool) -> dict[str, Any]:
    if broken:
        return {
            "name": "app", "ready": False, "restartCount": 14, "image": "registry.example/app:1",
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s "
                                  "restarting failed container=app pod=x"}},
            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                         "startedAt": _ts(7), "finishedAt": _ts(6)}},
        }
    return {"name": "app", "ready": True, "restartCount": 0, "image": "registry.example/app:1",
            "state": {"running": {"startedAt": _ts(500)}}}


def _workload(ns: str, index: int, nodes: int, broken: bool) -> Iterator[dict[str, Any]]:
    name = f"app-{index:04d}"
    labels = {"app": name}
    dep_uid, rs_uid = f"dep-{ns}-{index}", f"rs-{ns}-{index}"
    replicas = PODS_PER_DEPLOYMENT
    available = 0 if broken else replicas
    yield {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": _meta(name, ns, dep_uid, generation=1, labels=labels),
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": {"containers": [
                     {"name": "app", "image": "registry.example/app:1",
                      "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                      "envFrom": [{"configMapRef": {"name": f"{name}-config"}}]}]}}},
        "status": {"observedGeneration": 1, "replicas": replicas, "readyReplicas": available,
                   "availableReplicas": available, "updatedReplicas": replicas,
                   "conditions": [
                       {"type": "Available", "status": "False" if broken else "True",
                        "reason": ("MinimumReplicasUnavailable" if broken
                                   else "MinimumReplicasAvailable"),
                        "lastTransitionTime": _ts(300)},
                       {"type": "Progressing", "status": "True",
                        "reason": "NewReplicaSetAvailable", "lastTransitionTime": _ts(300)}]},
    }
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{name}-5d8f7c9b4",
             "uid": rs_uid, "controller": True, "blockOwnerDeletion": True}
    yield {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": _meta(f"{name}-5d8f7c9b4", ns, rs_uid, labels=labels, ownerReferences=[
            {**owner, "kind": "Deployment", "name": name, "uid": dep_uid}]),
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}},
        "status": {"replicas": replicas, "readyReplicas": available,
                   "availableReplicas": available},
    }
    yield {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": _meta(f"{name}-config", ns, f"cm-{ns}-{index}"), "data": {"A": "1"}}
    endpoints = []
    for replica in range(replicas):
        pod_name = f"{name}-5d8f7c9b4-{replica:05d}"
        pod_uid = f"pod-{ns}-{index}-{replica}"
        node = f"node-{(index * replicas + replica) % nodes:04d}"
        yield {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": _meta(pod_name, ns, pod_uid, labels={**labels,
                              "pod-template-hash": "5d8f7c9b4"}, ownerReferences=[owner]),
            "spec": {"nodeName": node, "containers": [
                {"name": "app", "image": "registry.example/app:1",
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                 "envFrom": [{"configMapRef": {"name": f"{name}-config"}}]}]},
            "status": {"phase": "Running", "podIP": f"10.{index % 250}.{replica}.{index % 200}",
                       "conditions": [{"type": "Ready", "status": "False" if broken else "True"}],
                       "containerStatuses": [_container_status(broken)]},
        }
        endpoints.append({"addresses": [f"10.{index % 250}.{replica}.{index % 200}"],
                          "conditions": {"ready": not broken},
                          "targetRef": {"kind": "Pod", "name": pod_name, "namespace": ns,
                                        "uid": pod_uid}})
        if broken:
            yield {
                "apiVersion": "v1", "kind": "Event",
                "metadata": _meta(f"{pod_name}.1800f", ns, f"ev-{pod_uid}"),
                "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod_name,
                                   "uid": pod_uid, "fieldPath": "spec.containers{app}"},
                "reason": "BackOff", "type": "Warning", "count": 30,
                "message": f"Back-off restarting failed container app in pod "
                           f"{pod_name}_{ns}({pod_uid})",
                "firstTimestamp": _ts(120), "lastTimestamp": _ts(1),
                "source": {"component": "kubelet", "host": node},
            }
    yield {
        "apiVersion": "v1", "kind": "Service",
        "metadata": _meta(name, ns, f"svc-{ns}-{index}", labels=labels),
        "spec": {"type": "ClusterIP", "selector": labels,
                 "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}]},
    }
    yield {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": _meta(f"{name}-x7k2p", ns, f"eps-{ns}-{index}",
                          labels={"kubernetes.io/service-name": name}),
        "addressType": "IPv4", "endpoints": endpoints,
        "ports": [{"port": 8080, "protocol": "TCP"}],
    }


def synthetic_cluster(pods: int, broken_share: float = 0.05) -> dict[str, list[dict[str, Any]]]:
    deployments = max(1, pods // PODS_PER_DEPLOYMENT)
    nodes = max(1, pods // PODS_PER_NODE)
    broken_every = max(1, round(1 / broken_share))
    objects: dict[str, list[dict[str, Any]]] = {"Node": [_node(i) for i in range(nodes)]}
    for index in range(deployments):
        namespace = f"team-{index % 20:02d}"
        for obj in _workload(namespace, index, nodes, broken=index % broken_every == 0):
            objects.setdefault(obj["kind"], []).append(obj)
    return objects


def _analyze(objects: dict[str, list[dict[str, Any]]], analyzers) -> tuple[int, int]:
    state = ClusterState(objects, now=NOW)
    findings, errors = run_analyzers(state, analyzers)
    return len(findings), len(errors)


def measure(pods: int) -> str:
    objects = synthetic_cluster(pods)
    total_objects = sum(len(items) for items in objects.values())
    analyzers, _ = discover()
    started = time.perf_counter()
    findings, errors = _analyze(objects, analyzers)
    elapsed = time.perf_counter() - started
    # a second pass for memory: tracemalloc slows every allocation several times over
    tracemalloc.start()
    _analyze(objects, analyzers)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with tempfile.NamedTemporaryFile("w", suffix=".json") as snapshot:
        items = [obj for kind_items in objects.values() for obj in kind_items]
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, snapshot)
        snapshot.flush()
        started = time.perf_counter()
        SnapshotSource(snapshot.name).load((), Scope())
        load_seconds = time.perf_counter() - started
    return (f"{pods:>7,} pods {total_objects:>8,} objects | snapshot load {load_seconds:6.2f} s"
            f" | {len(analyzers):>2} analyzers {elapsed:6.2f} s, peak +{peak / 2**20:6.1f} MiB"
            f" | {findings:>5,} findings, {errors} errors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, action="append",
                        help="cluster size in pods (repeatable)")
    sizes = parser.parse_args().pods or [1_000, 5_000, 20_000]
    print("snapshot load = parsing a JSON List file; analyzers = state indexes + every installed "
          "analyzer (peak = memory allocated while analyzing)")
    for size in sizes:
        print(measure(size), flush=True)


if __name__ == "__main__":
    main()
