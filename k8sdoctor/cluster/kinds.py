"""The resource kinds k8sdoctor knows how to list, with the API coordinates of each.

Analyzers name the kinds they read (``"Pod"``, ``"Deployment"``); sources look the coordinates up
here. A snapshot may hold any other kind too (CRDs included); those reach the state as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class ResourceKind:
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool
    metadata_only: bool = False
    """List as PartialObjectMetadata: the values are never downloaded (Secrets)."""
    label_selectable: bool = True
    """Whether ``-l`` applies to its List. Objects that others point at (ConfigMaps, Secrets,
    EndpointSlices, ...) are listed whole, or a selector would make false "missing" findings."""

    @cached_property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def list_path(self, namespace: str | None = None) -> str:
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{prefix}/namespaces/{namespace}/{self.plural}"
        return f"{prefix}/{self.plural}"


def _kind(
    kind: str,
    api_version: str,
    plural: str,
    *,
    namespaced: bool = True,
    metadata_only: bool = False,
    label_selectable: bool = True,
) -> ResourceKind:
    group, _, version = api_version.rpartition("/")
    return ResourceKind(kind, group, version, plural, namespaced, metadata_only, label_selectable)


KNOWN_KINDS: dict[str, ResourceKind] = {
    k.kind: k
    for k in (
        # core/v1
        _kind("Namespace", "v1", "namespaces", namespaced=False, label_selectable=False),
        _kind("Node", "v1", "nodes", namespaced=False, label_selectable=False),
        _kind("Pod", "v1", "pods"),
        _kind("Service", "v1", "services"),
        _kind("Endpoints", "v1", "endpoints", label_selectable=False),
        _kind("Event", "v1", "events", label_selectable=False),
        _kind("ConfigMap", "v1", "configmaps", label_selectable=False),
        _kind("Secret", "v1", "secrets", metadata_only=True, label_selectable=False),
        _kind("ServiceAccount", "v1", "serviceaccounts", label_selectable=False),
        _kind("PersistentVolumeClaim", "v1", "persistentvolumeclaims"),
        _kind("PersistentVolume", "v1", "persistentvolumes", namespaced=False),
        _kind("ResourceQuota", "v1", "resourcequotas", label_selectable=False),
        _kind("LimitRange", "v1", "limitranges", label_selectable=False),
        # workloads
        _kind("Deployment", "apps/v1", "deployments"),
        _kind("ReplicaSet", "apps/v1", "replicasets"),
        _kind("StatefulSet", "apps/v1", "statefulsets"),
        _kind("DaemonSet", "apps/v1", "daemonsets"),
        _kind("Job", "batch/v1", "jobs"),
        _kind("CronJob", "batch/v1", "cronjobs"),
        # networking
        _kind("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", label_selectable=False),
        _kind("Ingress", "networking.k8s.io/v1", "ingresses"),
        _kind(
            "IngressClass",
            "networking.k8s.io/v1",
            "ingressclasses",
            namespaced=False,
            label_selectable=False,
        ),
        _kind("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies"),
        _kind(
            "GatewayClass",
            "gateway.networking.k8s.io/v1",
            "gatewayclasses",
            namespaced=False,
            label_selectable=False,
        ),
        _kind("Gateway", "gateway.networking.k8s.io/v1", "gateways", label_selectable=False),
        _kind("HTTPRoute", "gateway.networking.k8s.io/v1", "httproutes"),
        # storage
        _kind(
            "StorageClass",
            "storage.k8s.io/v1",
            "storageclasses",
            namespaced=False,
            label_selectable=False,
        ),
        # autoscaling, disruption
        _kind("HorizontalPodAutoscaler", "autoscaling/v2", "horizontalpodautoscalers"),
        _kind("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets"),
        # admission
        _kind(
            "ValidatingWebhookConfiguration",
            "admissionregistration.k8s.io/v1",
            "validatingwebhookconfigurations",
            namespaced=False,
            label_selectable=False,
        ),
        _kind(
            "MutatingWebhookConfiguration",
            "admissionregistration.k8s.io/v1",
            "mutatingwebhookconfigurations",
            namespaced=False,
            label_selectable=False,
        ),
        # RBAC
        _kind("Role", "rbac.authorization.k8s.io/v1", "roles", label_selectable=False),
        _kind("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings"),
        _kind(
            "ClusterRole",
            "rbac.authorization.k8s.io/v1",
            "clusterroles",
            namespaced=False,
            label_selectable=False,
        ),
        _kind(
            "ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings",
            namespaced=False,
        ),
        # Operator Lifecycle Manager (v0: operators.coreos.com; v1: olm.operatorframework.io)
        _kind("CatalogSource", "operators.coreos.com/v1alpha1", "catalogsources"),
        _kind("ClusterServiceVersion", "operators.coreos.com/v1alpha1",
              "clusterserviceversions"),
        _kind("InstallPlan", "operators.coreos.com/v1alpha1", "installplans"),
        _kind("Subscription", "operators.coreos.com/v1alpha1", "subscriptions"),
        _kind("OperatorGroup", "operators.coreos.com/v1", "operatorgroups"),
        _kind("ClusterCatalog", "olm.operatorframework.io/v1", "clustercatalogs",
              namespaced=False),
        _kind("ClusterExtension", "olm.operatorframework.io/v1", "clusterextensions",
              namespaced=False),
        # metrics-server
        _kind("PodMetrics", "metrics.k8s.io/v1beta1", "pods", label_selectable=False),
        _kind(
            "NodeMetrics",
            "metrics.k8s.io/v1beta1",
            "nodes",
            namespaced=False,
            label_selectable=False,
        ),
    )
}


LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
"""Holds a copy of the whole object as applied: for a Secret, its values."""


def metadata_view(kind: ResourceKind, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """What k8sdoctor keeps of a metadata-only object (a Secret): its metadata without the
    last-applied annotation, which holds a copy of the values."""
    kept = dict(metadata)
    annotations = kept.get("annotations")
    if annotations and LAST_APPLIED in annotations:
        kept["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return {"apiVersion": kind.api_version, "kind": kind.kind, "metadata": kept}


def known_kind(kind: str) -> ResourceKind:
    """The coordinates of ``kind``; KeyError names the kinds we know."""
    try:
        return KNOWN_KINDS[kind]
    except KeyError:
        raise KeyError(f"unknown resource kind {kind!r}") from None
