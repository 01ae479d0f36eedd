"""A synthetic cluster of any size for the benchmarks, its objects shaped as the API returns them.

``build(pods)`` makes a cluster whose mix grows with its pod count: one worker node per 40 pods
and one GPU node per 25 workers; about sqrt(pods / 10) team namespaces (10 at 1,000 pods, 45 at
20,000), so namespaces grow as well as multiply; node agents on every node; one StatefulSet per
100 pods, one CronJob per 200, one migration Job per 250; training Jobs on every GPU; and
applications of 1 to 10 replicas for the rest. What is broken, and how often, is listed in
``workloads`` and ``infrastructure``. Everything derives from names and indexes (no random
source), so a size always gives the same cluster.
"""

from __future__ import annotations

import math

from .capacity import make_nodes, pod_metrics, resource_quotas
from .infrastructure import cluster_objects, namespace, platform
from .kit import NOW, Cluster, Obj, fraction
from .workloads import (
    REPLICAS,
    app,
    database,
    gpu_training,
    migration,
    refused_scale_up,
    scheduled_job,
)

__all__ = ["NOW", "Cluster", "Obj", "build"]

PLATFORM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "monitoring",
                       "logging", "ingress-nginx", "cert-manager", "gatekeeper-system",
                       "gpu-operator", "ci")
ML = "ml-training"


def build(pods: int) -> Cluster:
    """A cluster of about ``pods`` pods (exactly, unless its fixed components alone exceed it)."""
    cluster = Cluster()
    nodes = make_nodes(cluster, pods)
    teams = [f"team-{i:03d}" for i in range(max(4, round(math.sqrt(pods / 10))))]
    for name in PLATFORM_NAMESPACES:
        namespace(cluster, name, team=False)
    for name in (*teams, ML):
        namespace(cluster, name, team=True)
    cluster_objects(cluster)
    platform(cluster, nodes)

    def team(kind: str, index: int) -> str:
        """Spread by hash, so that the broken ones (every 20th...) do not share a namespace."""
        return teams[int(fraction("namespace", kind, index) * len(teams))]

    for index in range(pods // 100):
        database(cluster, nodes, team("database", index), index)
    for index in range(max(2, pods // 200)):
        scheduled_job(cluster, nodes, team("cronjob", index), index)
    for index in range(max(4, pods // 250)):
        migration(cluster, nodes, team("migration", index), index)
    gpu_training(cluster, nodes, ML)
    idle = []
    index = 0
    while (made := len(cluster.objects["Pod"])) < pods:
        replicas = min(REPLICAS[index % len(REPLICAS)], pods - made)
        if idler := app(cluster, nodes, team("app", index), index, replicas):
            idle.append(f"{idler}-")
        index += 1
    # one namespace in five close to its cpu quota, and one where it is used up
    resource_quotas(cluster, [*teams, ML], near_limit=teams[7::5], exhausted=teams[2:3])
    refused_scale_up(cluster, teams[2])
    pod_metrics(cluster, list(cluster.objects["Pod"]), idle=idle)
    return cluster
