"""Plain manifests (``helm template``, ``kustomize build``): objects with no ``status``, judged as
specs before anything reaches a cluster.

Such objects say what should run, not what runs: a Deployment with no status has not "0 of 3
replicas available". The input is prepared so the spec-based checks see it as a cluster would
hold it: namespaced objects without a namespace go to ``default`` (as ``kubectl apply`` puts
them), objects get stable stand-in uids, and each workload's pod template becomes one stand-in
pod owned by it, so the checks of pod specs (references, security, resources, selectors) run on
it. The engine then keeps only the findings an analyzer declares spec-based, and findings on a
stand-in pod are moved to its workload.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.state import K8sObject

if TYPE_CHECKING:
    from k8sdoctor.analysis.finding import Finding

TEMPLATE_ANNOTATION = "k8sdoctor.dev/pod-template-of"
"""Marks a stand-in pod made from a workload's template: ``Deployment/name``."""
COVERED_KINDS = frozenset({
    "ConfigMap", "Service", "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
    "CronJob", "PersistentVolumeClaim", "Ingress", "HorizontalPodAutoscaler",
    "PodDisruptionBudget", "NetworkPolicy", "Gateway", "HTTPRoute",
})
"""Kinds a set of manifests is taken to hold completely: an object of them that the input lacks
does not exist. Not Secrets and ServiceAccounts (often made outside the chart: External Secrets,
cert-manager, ``kubectl create secret``), nor what the cluster provides (Nodes, Namespaces,
StorageClasses, IngressClasses, GatewayClasses)."""
_NEVER_A_STATUS = frozenset({
    "ConfigMap", "Secret", "ServiceAccount", "Event", "Endpoints", "EndpointSlice", "Role",
    "RoleBinding", "ClusterRole", "ClusterRoleBinding", "LimitRange", "NetworkPolicy",
    "StorageClass", "IngressClass", "PriorityClass", "RuntimeClass",
    "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
})
"""Kinds a cluster holds with no status, so their lack of one says nothing."""
_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")


def has_status(obj: Mapping[str, Any]) -> bool:
    """A non-empty ``status``: the object came from a cluster (``status: {}`` is what
    ``kubectl create --dry-run -o yaml`` writes)."""
    return bool(obj.get("status"))


def look_like_manifests(objects: Iterable[Mapping[str, Any]]) -> bool:
    """No object has a status, though some are of kinds a cluster gives one (a file of
    ConfigMaps alone, or Events, proves nothing)."""
    seen = False
    for obj in objects:
        if has_status(obj):
            return False
        seen = seen or obj.get("kind") not in _NEVER_A_STATUS
    return seen


def prepare(objects: Mapping[str, Sequence[K8sObject]]) -> dict[str, list[K8sObject]]:
    """The objects as a cluster would hold them, plus one stand-in pod per workload template."""
    prepared: dict[str, list[K8sObject]] = {}
    for kind, items in objects.items():
        prepared[kind] = [_completed(obj) for obj in items]
    pods = prepared.setdefault("Pod", [])
    taken = {(p["metadata"].get("namespace"), p["metadata"].get("name")) for p in pods}
    for kind in _WORKLOAD_KINDS:
        for workload in prepared.get(kind, ()):
            if pod := _template_pod(workload, taken):
                pods.append(pod)
    return prepared


def attribute_to_workloads(
    findings: Sequence[Finding], pods: Iterable[Mapping[str, Any]]
) -> list[Finding]:
    """Findings on a stand-in pod, moved to the workload whose template it is."""
    owners = {
        ((p["metadata"].get("namespace") or ""), p["metadata"]["name"]):
            (p["metadata"].get("annotations") or {})[TEMPLATE_ANNOTATION]
        for p in pods
        if TEMPLATE_ANNOTATION in ((p.get("metadata") or {}).get("annotations") or {})
    }
    moved = []
    for finding in findings:
        owner = owners.get((finding.namespace or "", finding.name)) if finding.kind == "Pod" \
            else None
        if owner is not None:
            kind, _, name = owner.partition("/")
            known = KNOWN_KINDS.get(kind)
            message = finding.message.replace(f"Pod {finding.name} ",
                                              f"The pod template of {kind} {name} ", 1)
            finding = replace(finding, kind=kind, name=name, parent=None, message=message,
                              api_version=known.api_version if known else finding.api_version)
        moved.append(finding)
    unique = {f.id: f for f in moved}
    return sorted(unique.values(), key=lambda f: f.sort_key())


def _completed(obj: K8sObject) -> K8sObject:
    meta = dict(obj.get("metadata") or {})
    known = KNOWN_KINDS.get(obj.get("kind", ""))
    if known is not None and known.namespaced and not meta.get("namespace"):
        meta["namespace"] = "default"
    if not meta.get("uid"):
        meta["uid"] = _uid(obj.get("kind", ""), meta.get("namespace"), meta.get("name", ""))
    return {**obj, "metadata": meta}


def _template_pod(workload: K8sObject, taken: set[tuple[Any, Any]]) -> K8sObject | None:
    """A pod as the workload's controller would create it, named after the workload (or
    ``kind-name`` when a pod of that name exists)."""
    spec = workload.get("spec") or {}
    if "jobTemplate" in spec:
        spec = (spec["jobTemplate"] or {}).get("spec") or {}
    template = spec.get("template")
    if not isinstance(template, Mapping) or not isinstance(template.get("spec"), Mapping):
        return None
    meta = workload["metadata"]
    kind, name = workload.get("kind", ""), meta.get("name", "")
    template_meta = template.get("metadata") or {}
    pod_name = name if (meta.get("namespace"), name) not in taken else f"{kind.lower()}-{name}"
    taken.add((meta.get("namespace"), pod_name))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name,
            "namespace": meta.get("namespace"),
            "uid": _uid("Pod", meta.get("namespace"), f"{kind}/{name}"),
            "labels": dict(template_meta.get("labels") or {}),
            "annotations": {**(template_meta.get("annotations") or {}),
                            TEMPLATE_ANNOTATION: f"{kind}/{name}"},
            "ownerReferences": [{"apiVersion": workload.get("apiVersion", ""), "kind": kind,
                                 "name": name, "uid": meta["uid"], "controller": True}],
        },
        "spec": dict(template["spec"]),
    }


def _uid(kind: str, namespace: str | None, name: str) -> str:
    digest = hashlib.sha256(f"{kind}/{namespace or ''}/{name}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
