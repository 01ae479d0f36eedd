"""The documents the fake API server sends, in kube-apiserver's own shapes and words.

``/version``, discovery (``APIVersions``, ``APIGroupList``, ``APIResourceList`` with verbs,
shortNames, categories, storage hashes and subresources), Lists (items without ``kind``/
``apiVersion``, ``continue`` tokens, ``remainingItemCount``), ``PartialObjectMetadataList`` and
``Status`` errors (with the details and the closing newline the real server writes).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from k8sdoctor.cluster.kinds import KNOWN_KINDS, ResourceKind

CI_USER = "system:serviceaccount:ci:k8sdoctor"
VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.2",
    "gitCommit": "5864a4677267e6adeae276ad85882a8714d69d9d",
    "gitTreeState": "clean",
    "buildDate": "2024-10-22T20:28:14Z",
    "goVersion": "go1.22.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}
NOT_SERVED_BY_DEFAULT = frozenset({"gateway.networking.k8s.io/v1", "metrics.k8s.io/v1beta1",
                                   "operators.coreos.com/v1alpha1", "operators.coreos.com/v1",
                                   "olm.operatorframework.io/v1"})
"""A plain cluster: no Gateway API CRDs, no metrics-server, no Operator Lifecycle Manager."""

SHORT_NAMES = {
    "Namespace": ["ns"], "Node": ["no"], "Pod": ["po"], "Service": ["svc"], "Endpoints": ["ep"],
    "Event": ["ev"], "ConfigMap": ["cm"], "ServiceAccount": ["sa"],
    "PersistentVolumeClaim": ["pvc"], "PersistentVolume": ["pv"], "ResourceQuota": ["quota"],
    "LimitRange": ["limits"], "Deployment": ["deploy"], "ReplicaSet": ["rs"],
    "StatefulSet": ["sts"], "DaemonSet": ["ds"], "CronJob": ["cj"], "Ingress": ["ing"],
    "NetworkPolicy": ["netpol"], "GatewayClass": ["gc"], "StorageClass": ["sc"],
    "HorizontalPodAutoscaler": ["hpa"], "PodDisruptionBudget": ["pdb"],
}
READ_WRITE = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
METRICS_VERBS = ["get", "list"]
WITH_STATUS = {"Pod", "Service", "Namespace", "Node", "Deployment", "ReplicaSet", "StatefulSet",
               "DaemonSet", "Job", "CronJob", "Ingress", "PersistentVolumeClaim",
               "PersistentVolume", "ResourceQuota", "HorizontalPodAutoscaler",
               "PodDisruptionBudget", "Gateway", "GatewayClass", "HTTPRoute"}
IN_CATEGORY_ALL = {"Pod", "Service", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job",
                   "CronJob", "HorizontalPodAutoscaler"}
"""What ``kubectl get all`` lists."""
WITH_SCALE = {"Deployment", "ReplicaSet", "StatefulSet"}
PARTIAL = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"}


def status_body(code: int, reason: str, message: str, details: Mapping | None = None) -> dict:
    """A ``Status`` object as the API server writes it for an error."""
    body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                            "status": "Failure", "message": message, "reason": reason}
    if details is not None:
        body["details"] = dict(details)
    body["code"] = code
    return body


def forbidden_message(kind: str, namespace: str | None = None, user: str = CI_USER) -> str:
    """RBAC's denial of a List, word for word."""
    resource = KNOWN_KINDS[kind]
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    qualified = f"{resource.plural}.{resource.group}" if resource.group else resource.plural
    return (f'{qualified} is forbidden: User "{user}" cannot list resource '
            f'"{resource.plural}" in API group "{resource.group}" {scope}')


# -- discovery ------------------------------------------------------------------------------------


def api_versions() -> dict[str, Any]:
    """``/api``."""
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": "172.18.0.2:6443"}]}


def api_group_list(group_versions: Iterable[str]) -> dict[str, Any]:
    """``/apis``: the named groups among ``group_versions``, first version preferred."""
    groups: dict[str, list[str]] = {}
    for group_version in group_versions:
        if "/" in group_version:
            group, _, version = group_version.partition("/")
            groups.setdefault(group, []).append(version)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": group,
         "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
         "preferredVersion": {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]}}
        for group, versions in groups.items()
    ]}


def api_resource_list(group_version: str, resources: Iterable[ResourceKind]) -> dict[str, Any]:
    """``/api/v1`` or ``/apis/GROUP/VERSION``; the core group's document has no ``apiVersion``."""
    document: dict[str, Any] = {"kind": "APIResourceList"}
    if "/" in group_version:
        document["apiVersion"] = "v1"
    document["groupVersion"] = group_version
    document["resources"] = [entry for r in resources for entry in _entries(r)]
    return document


def storage_version_hash(resource: ResourceKind) -> str:
    """A stable stand-in for the hash the server derives from the storage version."""
    digest = hashlib.sha256(f"{resource.api_version}/{resource.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _entries(resource: ResourceKind) -> Iterator[dict[str, Any]]:
    metrics = resource.group == "metrics.k8s.io"
    entry: dict[str, Any] = {
        "name": resource.plural,
        "singularName": resource.kind.lower(),
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": METRICS_VERBS if metrics else (
            [v for v in READ_WRITE if v != "deletecollection"] if resource.kind == "Namespace"
            else READ_WRITE),
    }
    if resource.kind in SHORT_NAMES:
        entry["shortNames"] = SHORT_NAMES[resource.kind]
    if resource.kind in IN_CATEGORY_ALL:
        entry["categories"] = ["all"]
    if not metrics:  # an aggregated server's resources carry no storage hash
        entry["storageVersionHash"] = storage_version_hash(resource)
    yield entry
    subresources = []
    if resource.kind in WITH_STATUS:
        subresources.append(("status", resource.kind, ["get", "patch", "update"]))
    if resource.kind in WITH_SCALE:
        subresources.append(("scale", "Scale", ["get", "patch", "update"]))
    if resource.kind == "Pod":
        subresources.append(("log", "Pod", ["get"]))
    for name, kind, verbs in subresources:
        sub = {"name": f"{resource.plural}/{name}", "singularName": "",
               "namespaced": resource.namespaced, "kind": kind, "verbs": verbs}
        if kind == "Scale":
            sub["group"], sub["version"] = "autoscaling", "v1"
        yield sub


# -- lists ----------------------------------------------------------------------------------------


def object_key(obj: Mapping[str, Any]) -> str:
    """Where etcd keeps an object, which is the order Lists come in."""
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def continue_token(resource_version: int, last: Mapping[str, Any]) -> str:
    """An opaque ``continue`` token, built as the API server builds it."""
    start = object_key(last) + "\0"
    return base64.b64encode(json.dumps(
        {"v": "meta.k8s.io/v1", "rv": resource_version, "start": start}).encode()).decode()


def continue_start(token: str) -> str:
    """The key a ``continue`` token resumes from."""
    return json.loads(base64.b64decode(token))["start"]


def list_document(resource: ResourceKind, items: Iterable[Mapping[str, Any]],
                  metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A ``PodList``-style List: the items carry no ``kind`` or ``apiVersion``."""
    return {"kind": f"{resource.kind}List", "apiVersion": resource.api_version,
            "metadata": dict(metadata),
            "items": [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")}
                      for o in items]}


def partial_metadata_list(items: Iterable[Mapping[str, Any]],
                          metadata: Mapping[str, Any]) -> dict[str, Any]:
    """What ``Accept: ...;as=PartialObjectMetadataList`` gets: metadata and nothing else."""
    return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
            "metadata": dict(metadata),
            "items": [{**PARTIAL, "metadata": o["metadata"]} for o in items]}
