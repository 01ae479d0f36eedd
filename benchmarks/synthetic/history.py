"""The Normal events a busy cluster holds: what the scheduler and kubelet record as each pod starts.

``build`` records only the Warning events of what is broken, so its clusters hold far fewer
events than a real one where pods come and go all day. ``startup_events`` adds, for every pod
placed on a node, the scheduler's ``Scheduled`` and, per container, kubelet's ``Pulling``,
``Pulled``, ``Created`` and ``Started``, word for word as they write them: about five events a
pod, the event volume of a cluster under steady rollouts. They report nothing broken, so the
findings stay those of ``build``.
"""

from __future__ import annotations

from datetime import datetime

from .kit import NOW, Cluster, digest


def startup_events(cluster: Cluster) -> int:
    """Record the start-up events of every scheduled pod; returns how many were added."""
    added = 0
    for pod in list(cluster.objects["Pod"]):
        meta, spec = pod["metadata"], pod["spec"]
        host = spec.get("nodeName")
        if not host:
            continue
        created = datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00"))
        age = (NOW - created).total_seconds()
        cluster.event(pod, "Scheduled", f"Successfully assigned {meta['namespace']}/"
                      f"{meta['name']} to {host}", first=age, warning=False,
                      component="default-scheduler")
        added += 1
        for item in spec["containers"]:
            image, name = item["image"], item["name"]
            pull = 0.4 + int(digest(meta["uid"], name)[:4], 16) % 9000 / 1000
            where = {"warning": False, "host": host, "field_path": f"spec.containers{{{name}}}"}
            cluster.event(pod, "Pulling", f'Pulling image "{image}"', first=age - 1, **where)
            cluster.event(pod, "Pulled", f'Successfully pulled image "{image}" in {pull:.3f}s '
                          f"({pull:.3f}s including waiting)", first=age - 2, **where)
            cluster.event(pod, "Created", f"Created container: {name}", first=age - 2, **where)
            cluster.event(pod, "Started", f"Started container {name}", first=age - 2, **where)
            added += 4
    return added
