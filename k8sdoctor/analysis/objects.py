"""Small readers of API objects that many analyzers share: conditions, selectors, kubectl flags.

Plugin authors may use them too; they only read the dicts they are given.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.quantity import parse_quantity
from k8sdoctor.cluster.selectors import matches_label_selector
from k8sdoctor.cluster.state import ClusterState, ObjectRef, event_time


def conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``status.conditions`` by type."""
    return {
        c.get("type", ""): c
        for c in (obj.get("status") or {}).get("conditions") or ()
        if type(c) is dict or isinstance(c, Mapping)  # the first test is the fast common case
    }


def describe_condition(condition: Mapping[str, Any]) -> str:
    """``condition Ready=False reason=KubeletNotReady: message`` for evidence lists."""
    text = f"condition {condition.get('type')}={condition.get('status')}"
    if condition.get("reason"):
        text += f" reason={condition['reason']}"
    if condition.get("message"):
        text += f": {condition['message']}"
    return text


def ns_flag(namespace: str | None) -> str:
    """`` -n NAMESPACE`` for a kubectl command line, empty for cluster-scoped objects."""
    return f" -n {namespace}" if namespace else ""


def selector_flag(selector: Mapping[str, Any] | None) -> str:
    """A ``LabelSelector`` or Service selector as a shell-quoted ``-l`` argument."""
    if not selector:
        return ""
    if "matchLabels" in selector or "matchExpressions" in selector:
        labels = selector.get("matchLabels") or {}
        parts = [f"{k}={v}" for k, v in labels.items()]
        for expr in selector.get("matchExpressions") or ():
            key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or ()
            if op == "In":
                parts.append(f"{key} in ({','.join(values)})")
            elif op == "NotIn":
                parts.append(f"{key} notin ({','.join(values)})")
            elif op == "Exists":
                parts.append(str(key))
            elif op == "DoesNotExist":
                parts.append(f"!{key}")
    else:
        parts = [f"{k}={v}" for k, v in selector.items()]
    return shlex.quote(",".join(parts))


def all_containers(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``("initContainers" | "containers" | "ephemeralContainers", container)`` pairs."""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in pod_spec.get(field) or ():
            yield field, container


def running_containers(pod_spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The containers that run for the pod's whole life: restartable init containers
    ("sidecars", ``restartPolicy: Always``), then the app containers."""
    sidecars = [c for c in pod_spec.get("initContainers") or ()
                if c.get("restartPolicy") == "Always"]
    return [*sidecars, *(pod_spec.get("containers") or ())]


POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")
"""The workload kinds that carry a pod template (a CronJob's inside its job template)."""


def pod_template_spec(workload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod spec of a Pod, a workload's template, or a CronJob's job template."""
    if workload.get("kind") == "Pod":
        return workload.get("spec") or {}
    spec = workload.get("spec") or {}
    if "jobTemplate" in spec:
        spec = (spec["jobTemplate"] or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("spec")) or {}


def pod_template_labels(workload: Mapping[str, Any]) -> Mapping[str, str]:
    """The labels a workload's pods get (a CronJob's through its job template)."""
    spec = workload.get("spec") or {}
    if "jobTemplate" in spec:
        spec = (spec["jobTemplate"] or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}


def is_terminated(pod: Mapping[str, Any]) -> bool:
    """True for a pod that has finished (phase Succeeded or Failed): it holds no resources."""
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def container_request(container: Mapping[str, Any], resource: str) -> float | None:
    """What ``container`` requests of ``resource`` in base units, or None when it names none.

    A limit without a request counts as the request: admission defaults one to the other.
    """
    resources = container.get("resources") or {}
    for field in ("requests", "limits"):
        value = (resources.get(field) or {}).get(resource)
        if value is not None:
            try:
                return parse_quantity(value)
            except ValueError:
                return None
    return None


def pod_request(pod_spec: Mapping[str, Any], resource: str) -> float:
    """The amount of ``resource`` the scheduler reserves for a pod, as kube-scheduler computes
    it: the pod-level ``resources`` when they name it, else the larger of the app containers
    (plus restartable init "sidecars") and the biggest init container (plus the sidecars started
    before it); plus the RuntimeClass's ``overhead``."""
    try:
        overhead = parse_quantity((pod_spec.get("overhead") or {}).get(resource) or "0")
    except ValueError:
        overhead = 0.0
    pod_level = container_request(pod_spec, resource)  # a pod's resources: a container's shape
    if pod_level is not None:
        return pod_level + overhead
    sidecars = 0.0
    init_peak = 0.0
    for init in pod_spec.get("initContainers") or ():
        amount = container_request(init, resource) or 0.0
        if init.get("restartPolicy") == "Always":
            sidecars += amount
            init_peak = max(init_peak, sidecars)
        else:
            init_peak = max(init_peak, sidecars + amount)
    running = sidecars + sum(
        container_request(c, resource) or 0.0 for c in pod_spec.get("containers") or ()
    )
    return max(running, init_peak) + overhead


def tolerates(tolerations: Iterable[Mapping[str, Any]] | None, taint: Mapping[str, Any]) -> bool:
    """Whether one of ``tolerations`` tolerates ``taint``, by the API's matching rules."""
    for toleration in tolerations or ():
        effect = toleration.get("effect")
        if effect and effect != taint.get("effect"):
            continue
        key = toleration.get("key")
        if toleration.get("operator") == "Exists":
            if not key or key == taint.get("key"):
                return True
        elif key == taint.get("key") and (toleration.get("value") or "") == (
            taint.get("value") or ""
        ):
            return True
    return False


def absence_is_known(state: ClusterState, kind: str, namespace: str | None = None) -> bool:
    """True when an object of ``kind`` in ``namespace`` that is not in the state really does not
    exist: the kind was listed, the run's ``-n`` covered that namespace, no ``-l`` filtered
    the kind's List, and no object of it there was dropped for a malformed shape. Check it
    before reporting that something referenced is missing."""
    if not state.has_kind(kind) or not state.read_whole(kind, namespace):
        return False
    known = KNOWN_KINDS.get(kind)
    scope = state.scope
    if scope.selector and (known is None or known.label_selectable):
        return False
    namespaced = known is None or known.namespaced
    return not namespaced or scope.covers(namespace)


def format_duration(seconds: float) -> str:
    """An age as kubectl prints it: ``45s``, ``7m30s``, ``95m``, ``5h12m``, ``3d4h``, ``40d``."""
    seconds = max(0, int(seconds))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def describe_event(event: Mapping[str, Any]) -> str:
    """``event Warning SyncLoadBalancerFailed from service-controller (x5, last
    2026-11-20T09:58:00Z): message`` for evidence lists (core/v1 and events.k8s.io/v1)."""
    source = (
        (event.get("source") or {}).get("component")
        or event.get("reportingComponent")
        or event.get("reportingController")
        or ""
    )
    count = event.get("count") or (event.get("series") or {}).get("count") or 1
    text = f"event {event.get('type', 'Normal')} {event.get('reason', '')}"
    if source:
        text += f" from {source}"
    details = [f"x{count}"] if count > 1 else []
    if when := event_time(event):
        details.append(f"last {when}")
    if details:
        text += f" ({', '.join(details)})"
    message = (event.get("message") or event.get("note") or "").strip()
    return f"{text}: {message}" if message else text


def one_pod_per_workload(
    state: ClusterState,
) -> Iterator[tuple[Mapping[str, Any], ObjectRef | None]]:
    """``(pod, workload)`` for the first live pod of each workload (``state.workload_of``), and
    for each live pod nothing controls (workload None; static pods too, whose "owner" is their
    Node): for checks of the pod spec, where one replica stands for all of them."""
    seen: set[tuple[str, str]] = set()
    for pod in state.objects("Pod"):
        if is_terminated(pod):
            continue
        owner = None if is_static_pod(pod) else state.workload_of(pod)
        key = (pod["metadata"].get("namespace") or "",
               str(owner) if owner else f"Pod/{pod['metadata'].get('name', '')}")
        if key not in seen:
            seen.add(key)
            yield pod, owner


def is_static_pod(pod: Mapping[str, Any]) -> bool:
    """A kubelet's static pod (its API object is a mirror owned by the Node): changed by editing
    the manifest on that node, not through the API."""
    meta = pod.get("metadata") or {}
    return "kubernetes.io/config.mirror" in (meta.get("annotations") or {}) or any(
        ref.get("kind") == "Node" for ref in meta.get("ownerReferences") or ())


def lacks_service_port(service: Mapping[str, Any], port: int | str | None) -> bool:
    """True when ``service`` has no entry in ``spec.ports`` for ``port`` (a number, or a port's
    name), so a reference to it resolves to nothing. An ExternalName Service forwards any port
    to its external name and never lacks one; a reference naming no port lacks nothing."""
    spec = service.get("spec") or {}
    if port is None or spec.get("type") == "ExternalName":
        return False
    key = "name" if isinstance(port, str) else "port"
    return not any(entry.get(key) == port for entry in spec.get("ports") or ())


def describe_service_ports(service: Mapping[str, Any]) -> str:
    """``80/TCP 'http', 443/TCP`` for messages; ``no ports`` when the Service has none."""
    ports = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}"
                      + (f" {p['name']!r}" if p.get("name") else "")
                      for p in (service.get("spec") or {}).get("ports") or ())
    return ports or "no ports"


LabelValues = tuple[str | None, ...]
"""The values one pod carries for a sequence of label keys, None where it lacks a key."""


class PodLabelVariants:
    """The distinct label values a namespace's live pods carry for a set of keys: what a
    selector that matches nothing comes closest to. Each namespace and key sequence is read
    once per run, so a cluster with many broken selectors is not a scan of its pods for each."""

    def __init__(self, state: ClusterState) -> None:
        self._state = state
        self._seen: dict[tuple[str, tuple[str, ...]], dict[LabelValues, Mapping[str, Any]]] = {}

    def __call__(
        self, namespace: str | None, keys: Iterable[str]
    ) -> Mapping[LabelValues, Mapping[str, Any]]:
        """Each combination of values for ``keys`` found on a live pod, with the first pod (by
        name) that carries it."""
        cache_key = (namespace or "", tuple(keys))
        if cache_key not in self._seen:
            variants: dict[LabelValues, Mapping[str, Any]] = {}
            for pod in self._state.in_namespace("Pod", namespace):
                if is_terminated(pod):
                    continue
                labels = pod["metadata"].get("labels") or {}
                values = tuple(labels.get(key) for key in cache_key[1])
                known = variants.get(values)
                if known is None or pod["metadata"]["name"] < known["metadata"]["name"]:
                    variants[values] = pod
            self._seen[cache_key] = variants
        return self._seen[cache_key]


def selects_a_pod_template(
    state: ClusterState, namespace: str | None, selector: Mapping[str, Any] | None,
    kinds: Iterable[str] = POD_TEMPLATE_KINDS,
) -> bool:
    """Whether a ``LabelSelector`` matches the pod template of a workload of ``kinds`` in
    ``namespace``: then it selects that workload's pods even while none exists (a Deployment
    scaled to zero, a CronJob between runs)."""
    return any(matches_label_selector(selector, pod_template_labels(workload))
               for kind in kinds for workload in state.in_namespace(kind, namespace))
