"""Services with the EndpointSlice and Endpoints their controllers derive from the pods, Ingresses
and NetworkPolicies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .kit import DAY, HOUR, Cluster, Obj, at, digest, suffix
from .pods import is_ready


def service(cluster: Cluster, namespace: str, name: str, *, age: float,
            selector: Mapping[str, str], ports: Sequence[tuple[str, int, int | str]],
            pods: Iterable[Obj], headless: bool = False,
            load_balancer: str | None = None) -> Obj:
    """A Service with the EndpointSlice and Endpoints its controllers derive from ``pods``."""
    ip = "None" if headless else f"172.20.{int(digest(namespace, name)[:4], 16) % 250}." \
                                 f"{1 + int(digest(name, namespace)[:4], 16) % 250}"
    spec: Obj = {"clusterIP": ip, "clusterIPs": [ip], "internalTrafficPolicy": "Cluster",
                 "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                 "ports": [{"name": port_name, "port": port, "protocol": "TCP",
                            "targetPort": target} for port_name, port, target in ports],
                 "selector": dict(selector), "sessionAffinity": "None",
                 "type": "LoadBalancer" if load_balancer else "ClusterIP"}
    svc = cluster.add({
        "apiVersion": "v1", "kind": "Service",
        "metadata": cluster.meta("Service", name, namespace, age=age, labels=selector),
        "spec": spec,
        "status": {"loadBalancer": {"ingress": [{"hostname": load_balancer}]}
                   if load_balancer else {}},
    })
    live = [p for p in pods if p["status"].get("podIP")
            and p["status"]["phase"] not in ("Succeeded", "Failed")]
    numbers = {port["name"]: port["containerPort"] for p in live[:1]
               for c in p["spec"]["containers"] for port in c.get("ports") or ()}
    resolved = [{"name": port_name, "port": numbers.get(target, target) if isinstance(
        target, str) else target, "protocol": "TCP"} for port_name, _, target in ports]
    endpoints = []
    for p in sorted(live, key=lambda p: p["metadata"]["name"]):
        ready = is_ready(p)
        endpoints.append({"addresses": [p["status"]["podIP"]],
                          "conditions": {"ready": ready, "serving": ready, "terminating": False},
                          "nodeName": p["spec"]["nodeName"],
                          "targetRef": {"kind": "Pod", "name": p["metadata"]["name"],
                                        "namespace": namespace, "uid": p["metadata"]["uid"]}})
    changed = {"endpoints.kubernetes.io/last-change-trigger-time": at(min(age, 3 * HOUR))}
    cluster.add({
        "addressType": "IPv4", "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "endpoints": endpoints or None,
        "metadata": cluster.meta(
            "EndpointSlice", f"{name}-{suffix(5, namespace, name)}", namespace, age=age,
            owner=svc, generation=1 + len(endpoints), generate_name=f"{name}-",
            annotations=changed,
            labels={**selector,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                    "kubernetes.io/service-name": name}),
        "ports": resolved if live else None,
    })
    subset: Obj = {}
    for key, wanted in (("addresses", True), ("notReadyAddresses", False)):
        chosen = [{"ip": e["addresses"][0], "nodeName": e["nodeName"],
                   "targetRef": e["targetRef"]} for e in endpoints
                  if e["conditions"]["ready"] is wanted]
        if chosen:
            subset[key] = chosen
    endpoints_obj: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                          "metadata": cluster.meta("Endpoints", name, namespace, age=age,
                                                   labels=selector, annotations=changed)}
    if subset:
        endpoints_obj["subsets"] = [{**subset, "ports": resolved}]
    cluster.add(endpoints_obj)
    return svc


def ingress(cluster: Cluster, namespace: str, name: str, *, age: float, host: str, port: int,
            tls_secret: str, load_balancer: str) -> Obj:
    """An Ingress of the default class routing ``host`` to Service ``name``, with a certificate
    cert-manager issues into ``tls_secret``."""
    return cluster.add({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": cluster.meta(
            "Ingress", name, namespace, age=age, generation=1,
            annotations={"cert-manager.io/cluster-issuer": "letsencrypt-prod",
                         "nginx.ingress.kubernetes.io/proxy-body-size": "8m"}),
        "spec": {"ingressClassName": "nginx",
                 "rules": [{"host": host, "http": {"paths": [{
                     "backend": {"service": {"name": name, "port": {"number": port}}},
                     "path": "/", "pathType": "Prefix"}]}}],
                 "tls": [{"hosts": [host], "secretName": tls_secret}]},
        "status": {"loadBalancer": {"ingress": [{"hostname": load_balancer}]}},
    })


def network_policy(cluster: Cluster, namespace: str, name: str, selector: Mapping[str, str],
                   rules: list[Obj]) -> Obj:
    """An ingress policy for the pods ``selector`` picks (every pod when empty), allowing what
    ``rules`` allow (nothing when empty: a default deny)."""
    spec: Obj = {"podSelector": {"matchLabels": dict(selector)} if selector else {},
                 "policyTypes": ["Ingress"]}
    if rules:
        spec["ingress"] = rules
    return cluster.add({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": cluster.meta("NetworkPolicy", name, namespace, age=50 * DAY, generation=1),
        "spec": spec,
    })
