"""Whether anything answers behind a Service, for the analyzers of what routes traffic to it.

An Ingress or an HTTPRoute whose backend Service has no ready endpoint returns 503 for every
request there: a consequence of the Service's pods, reported on the route so that the chain from
a broken pod to the URL a user sees is whole. The judgement is the service analyzer's: no
verdict without endpoint or pod data, none for Services without a selector (endpoints managed by
hand), ExternalName or ``publishNotReadyAddresses`` Services, nor while every selected pod (or
the Service itself) is minutes old, nor for Services selecting only finished Job pods. The
endpoint controller writes an EndpointSlice for every Service with a selector, even an empty
one: a Service with none at all (a partial dump) gets no verdict unless its pods show one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from k8sdoctor.analysis.endpoints import endpoints_from_pods, service_endpoints
from k8sdoctor.analysis.objects import is_terminated, pod_template_labels
from k8sdoctor.cluster.selectors import matches_map
from k8sdoctor.cluster.state import ClusterState

STARTING_GRACE_SECONDS = 5 * 60
"""A Service, or pods, younger than this are starting up: no endpoint yet is no outage."""
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
"""What a Service's pods usually come from, for "scaled to zero"."""
_SHOWN = 3


@dataclass(frozen=True)
class Outage:
    """Nothing ready behind a Service: why, in words, and the evidence."""

    service: str
    why: str
    """``its 2 pods (web-1, web-2) are not ready`` and the like."""
    evidence: tuple[str, ...]
    scaled_to_zero: bool = False
    """The workload is scaled to zero: perhaps on purpose."""


def service_outage(state: ClusterState, service: Mapping[str, Any]) -> Outage | None:
    """The outage of ``service`` when it has no ready endpoint and should have one; None when it
    has one, or when nothing can be said."""
    meta, spec = service["metadata"], service.get("spec") or {}
    name, namespace = meta["name"], meta.get("namespace")
    selector: Mapping[str, str] | None = spec.get("selector")
    if spec.get("type") == "ExternalName" or not selector or spec.get("publishNotReadyAddresses"):
        return None
    pods_known = state.has_kind("Pod") and not state.scope.selector
    pods = state.pods_matching(namespace, selector) if pods_known else ()
    active = [pod for pod in pods if not is_terminated(pod)]
    if pods and not active:
        return None  # only finished Job pods: nothing is meant to answer
    endpoints = service_endpoints(state, namespace, name)
    if (endpoints is None or not endpoints.objects) and active:
        endpoints = endpoints_from_pods(active)  # no slice to read: judge by the pods' readiness
    if endpoints is None or endpoints.ready or not (endpoints.objects or active):
        return None  # no EndpointSlice and no pod: the data is partial
    if _young(state, service) or (active and all(_young(state, pod) for pod in active)):
        return None
    evidence = (endpoints.summary(),)
    if endpoints.not_ready:
        names = [e.label for e in endpoints.not_ready]
        return Outage(name, f"its {len(names)} pod(s) ({_names(names)}) are not ready", evidence)
    if active:
        return Outage(name, f"it has no endpoints although {len(active)} pod(s) match its "
                            f"selector ({_names([p['metadata']['name'] for p in active])})",
                      evidence)
    if not pods_known:
        return Outage(name, "it has no endpoints", evidence)
    workloads = [w for kind in WORKLOAD_KINDS for w in state.in_namespace(kind, namespace)
                 if matches_map(selector, pod_template_labels(w))]
    if workloads and all(_desired(w) == 0 for w in workloads):
        described = ", ".join(f"{w['kind']} {w['metadata']['name']}" for w in workloads)
        return Outage(name, f"{described} is scaled to zero", evidence, scaled_to_zero=True)
    return Outage(name, "no pod matches its selector "
                        + ",".join(f"{k}={v}" for k, v in selector.items()), evidence)


def _young(state: ClusterState, obj: Mapping[str, Any]) -> bool:
    age = state.age_of(obj["metadata"].get("creationTimestamp"))
    return age is not None and age < STARTING_GRACE_SECONDS


def _desired(workload: Mapping[str, Any]) -> int:
    if workload.get("kind") == "DaemonSet":
        return int((workload.get("status") or {}).get("desiredNumberScheduled", 0))
    return int((workload.get("spec") or {}).get("replicas", 1))


def _names(names: Sequence[str]) -> str:
    more = len(names) - _SHOWN
    return ", ".join(names[:_SHOWN]) + (f" and {more} more" if more > 0 else "")
