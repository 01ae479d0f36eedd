"""The shape every object must have before it enters a ``ClusterState``.

Analyzers are small pure functions that trust the API's types: ``restartCount`` is an integer,
``status`` a mapping, ``metadata.name`` a string. A hand-edited snapshot, a half-written file or a
misbehaving server can break that trust, and one bad object would then make an analyzer raise and
lose the findings of every other object. So each object is checked once, where it enters the
state, against the types of the fields analyzers read (``SHAPES``, built from the Kubernetes API's
own types); an object that fails is dropped and named with the field at fault, and the others are
analyzed normally. Fields no analyzer reads are not checked, and an explicit ``null`` in a checked
field is removed, as the API treats it as unset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class ListOf:
    item: Spec


@dataclass(frozen=True)
class MapOf:
    value: Spec


Leaf = tuple[type, ...]
Spec = Union[Leaf, dict[str, "Spec"], ListOf, MapOf]  # noqa: UP007 (a recursive alias)

STR: Leaf = (str,)
INT: Leaf = (int,)
BOOL: Leaf = (bool,)
QUANTITY: Leaf = (str, int, float)
"""``250m``, ``1Gi``; plain numbers in hand-written manifests."""
INT_OR_STR: Leaf = (int, str)
ANY_MAP: dict[str, Spec] = {}
"""A mapping whose content no analyzer reads."""

LABELS = MapOf(STR)
OBJECT_REF: dict[str, Spec] = {
    "kind": STR, "namespace": STR, "name": STR, "uid": STR, "apiVersion": STR,
    "fieldPath": STR, "resourceVersion": STR,
}
OWNER_REF: dict[str, Spec] = {
    "kind": STR, "name": STR, "uid": STR, "apiVersion": STR, "controller": BOOL,
}
METADATA: dict[str, Spec] = {
    "name": STR, "namespace": STR, "uid": STR, "generateName": STR, "labels": LABELS,
    "annotations": LABELS, "creationTimestamp": STR, "deletionTimestamp": STR,
    "generation": INT, "finalizers": ListOf(STR), "ownerReferences": ListOf(OWNER_REF),
}
SELECTOR_REQUIREMENT: dict[str, Spec] = {"key": STR, "operator": STR, "values": ListOf(STR)}
LABEL_SELECTOR: dict[str, Spec] = {
    "matchLabels": LABELS, "matchExpressions": ListOf(SELECTOR_REQUIREMENT),
}
CONDITIONS = ListOf({
    "type": STR, "status": STR, "reason": STR, "message": STR, "lastTransitionTime": STR,
    "lastHeartbeatTime": STR, "lastUpdateTime": STR, "lastProbeTime": STR,
    "observedGeneration": INT,
})
RESOURCES: dict[str, Spec] = {"requests": MapOf(QUANTITY), "limits": MapOf(QUANTITY)}
PORT_REF: dict[str, Spec] = {"port": INT_OR_STR, "path": STR, "host": STR, "scheme": STR}
PROBE: dict[str, Spec] = {
    "httpGet": PORT_REF, "tcpSocket": PORT_REF, "grpc": {"port": INT, "service": STR},
    "exec": {"command": ListOf(STR)}, "initialDelaySeconds": INT, "timeoutSeconds": INT,
    "periodSeconds": INT, "successThreshold": INT, "failureThreshold": INT,
}
KEY_REF: dict[str, Spec] = {"name": STR, "key": STR, "optional": BOOL}
ENV_VAR: dict[str, Spec] = {
    "name": STR, "value": STR,
    "valueFrom": {"configMapKeyRef": KEY_REF, "secretKeyRef": KEY_REF,
                  "fieldRef": {"fieldPath": STR}, "resourceFieldRef": {"resource": STR}},
}
ENV_FROM: dict[str, Spec] = {
    "prefix": STR, "configMapRef": {"name": STR, "optional": BOOL},
    "secretRef": {"name": STR, "optional": BOOL},
}
CONTAINER: dict[str, Spec] = {
    "name": STR, "image": STR, "command": ListOf(STR), "args": ListOf(STR),
    "env": ListOf(ENV_VAR), "envFrom": ListOf(ENV_FROM), "resources": RESOURCES,
    "ports": ListOf({"name": STR, "containerPort": INT, "hostPort": INT, "protocol": STR}),
    "livenessProbe": PROBE, "readinessProbe": PROBE, "startupProbe": PROBE,
    "securityContext": {
        "privileged": BOOL, "allowPrivilegeEscalation": BOOL, "readOnlyRootFilesystem": BOOL,
        "runAsNonRoot": BOOL, "runAsUser": INT,
        "capabilities": {"add": ListOf(STR), "drop": ListOf(STR)},
    },
    "volumeMounts": ListOf({"name": STR, "mountPath": STR, "readOnly": BOOL, "subPath": STR}),
    "restartPolicy": STR, "imagePullPolicy": STR,
}
KEY_TO_PATH = ListOf({"key": STR, "path": STR})
VOLUME: dict[str, Spec] = {
    "name": STR,
    "configMap": {"name": STR, "optional": BOOL, "items": KEY_TO_PATH},
    "secret": {"secretName": STR, "optional": BOOL, "items": KEY_TO_PATH},
    "persistentVolumeClaim": {"claimName": STR, "readOnly": BOOL},
    "hostPath": {"path": STR, "type": STR},
    "projected": {"sources": ListOf({
        "configMap": {"name": STR, "optional": BOOL, "items": KEY_TO_PATH},
        "secret": {"name": STR, "optional": BOOL, "items": KEY_TO_PATH},
    })},
}
NODE_SELECTOR_TERM: dict[str, Spec] = {
    "matchExpressions": ListOf(SELECTOR_REQUIREMENT), "matchFields": ListOf(SELECTOR_REQUIREMENT),
}
NODE_SELECTOR: dict[str, Spec] = {"nodeSelectorTerms": ListOf(NODE_SELECTOR_TERM)}
POD_AFFINITY_TERM: dict[str, Spec] = {
    "labelSelector": LABEL_SELECTOR, "namespaceSelector": LABEL_SELECTOR,
    "namespaces": ListOf(STR), "topologyKey": STR,
}
POD_AFFINITY: dict[str, Spec] = {
    "requiredDuringSchedulingIgnoredDuringExecution": ListOf(POD_AFFINITY_TERM),
}
TAINT: dict[str, Spec] = {"key": STR, "value": STR, "effect": STR, "timeAdded": STR}
POD_SPEC: dict[str, Spec] = {
    "containers": ListOf(CONTAINER), "initContainers": ListOf(CONTAINER),
    "ephemeralContainers": ListOf(CONTAINER), "volumes": ListOf(VOLUME), "nodeName": STR,
    "nodeSelector": LABELS,
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": NODE_SELECTOR,
            "preferredDuringSchedulingIgnoredDuringExecution": ListOf(
                {"weight": INT, "preference": NODE_SELECTOR_TERM}),
        },
        "podAffinity": POD_AFFINITY, "podAntiAffinity": POD_AFFINITY,
    },
    "tolerations": ListOf({"key": STR, "operator": STR, "value": STR, "effect": STR,
                           "tolerationSeconds": INT}),
    "topologySpreadConstraints": ListOf({"maxSkew": INT, "topologyKey": STR,
                                         "whenUnsatisfiable": STR,
                                         "labelSelector": LABEL_SELECTOR}),
    "serviceAccountName": STR, "serviceAccount": STR, "automountServiceAccountToken": BOOL,
    "imagePullSecrets": ListOf({"name": STR}), "restartPolicy": STR,
    "schedulingGates": ListOf({"name": STR}), "overhead": MapOf(QUANTITY),
    "resources": RESOURCES, "securityContext": {"runAsNonRoot": BOOL, "runAsUser": INT},
    "hostNetwork": BOOL, "hostPID": BOOL, "hostIPC": BOOL, "priorityClassName": STR,
    "runtimeClassName": STR, "terminationGracePeriodSeconds": INT,
}
CONTAINER_STATE: dict[str, Spec] = {
    "waiting": {"reason": STR, "message": STR},
    "running": {"startedAt": STR},
    "terminated": {"exitCode": INT, "signal": INT, "reason": STR, "message": STR,
                   "startedAt": STR, "finishedAt": STR},
}
CONTAINER_STATUSES = ListOf({
    "name": STR, "ready": BOOL, "started": BOOL, "restartCount": INT, "image": STR,
    "state": CONTAINER_STATE, "lastState": CONTAINER_STATE,
})
POD_TEMPLATE: dict[str, Spec] = {"metadata": METADATA, "spec": POD_SPEC}
WORKLOAD_STATUS: dict[str, Spec] = {
    "replicas": INT, "readyReplicas": INT, "availableReplicas": INT, "updatedReplicas": INT,
    "unavailableReplicas": INT, "currentReplicas": INT, "observedGeneration": INT,
    "currentRevision": STR, "updateRevision": STR, "conditions": CONDITIONS,
}
ROLLING_UPDATE: dict[str, Spec] = {
    "maxUnavailable": INT_OR_STR, "maxSurge": INT_OR_STR, "partition": INT,
}
JOB_SPEC: dict[str, Spec] = {
    "template": POD_TEMPLATE, "selector": LABEL_SELECTOR, "suspend": BOOL, "backoffLimit": INT,
    "completions": INT, "parallelism": INT, "activeDeadlineSeconds": INT,
}
PVC_SPEC: dict[str, Spec] = {
    "storageClassName": STR, "volumeName": STR, "accessModes": ListOf(STR),
    "resources": RESOURCES, "selector": LABEL_SELECTOR, "volumeMode": STR,
}
LOAD_BALANCER_STATUS: dict[str, Spec] = {
    "loadBalancer": {"ingress": ListOf({"ip": STR, "hostname": STR})},
}
ENDPOINT_ADDRESS: dict[str, Spec] = {
    "ip": STR, "hostname": STR, "nodeName": STR, "targetRef": OBJECT_REF,
}
SERVICE_PORT: dict[str, Spec] = {"name": STR, "port": INT, "protocol": STR}
INGRESS_BACKEND: dict[str, Spec] = {
    "service": {"name": STR, "port": {"number": INT, "name": STR}},
    "resource": {"apiGroup": STR, "kind": STR, "name": STR},
}
POLICY_PEER: dict[str, Spec] = {
    "podSelector": LABEL_SELECTOR, "namespaceSelector": LABEL_SELECTOR,
    "ipBlock": {"cidr": STR, "except": ListOf(STR)},
}
POLICY_PORTS = ListOf({"port": INT_OR_STR, "protocol": STR, "endPort": INT})
METRIC_TARGET: dict[str, Spec] = {
    "type": STR, "averageUtilization": INT, "averageValue": QUANTITY, "value": QUANTITY,
}
METRIC_SOURCE: dict[str, Spec] = {
    "type": STR,
    "resource": {"name": STR, "target": METRIC_TARGET, "current": METRIC_TARGET},
    "containerResource": {"name": STR, "container": STR, "target": METRIC_TARGET,
                          "current": METRIC_TARGET},
    "pods": {"metric": {"name": STR}, "target": METRIC_TARGET, "current": METRIC_TARGET},
}
PARENT_REF: dict[str, Spec] = {
    "group": STR, "kind": STR, "name": STR, "namespace": STR, "sectionName": STR, "port": INT,
}
WEBHOOKS = ListOf({
    "name": STR,
    "clientConfig": {"service": {"name": STR, "namespace": STR, "port": INT, "path": STR},
                     "url": STR},
    "failurePolicy": STR, "timeoutSeconds": INT, "sideEffects": STR,
    "rules": ListOf({"apiGroups": ListOf(STR), "apiVersions": ListOf(STR),
                     "operations": ListOf(STR), "resources": ListOf(STR), "scope": STR}),
    "namespaceSelector": LABEL_SELECTOR, "objectSelector": LABEL_SELECTOR,
})
POLICY_RULES = ListOf({
    "apiGroups": ListOf(STR), "resources": ListOf(STR), "verbs": ListOf(STR),
    "resourceNames": ListOf(STR), "nonResourceURLs": ListOf(STR),
})
BINDING: dict[str, Spec] = {
    "roleRef": {"apiGroup": STR, "kind": STR, "name": STR},
    "subjects": ListOf({"kind": STR, "name": STR, "namespace": STR, "apiGroup": STR}),
}

SHAPES: dict[str, dict[str, Spec]] = {
    "Pod": {"spec": POD_SPEC, "status": {
        "phase": STR, "reason": STR, "message": STR, "conditions": CONDITIONS,
        "containerStatuses": CONTAINER_STATUSES, "initContainerStatuses": CONTAINER_STATUSES,
        "ephemeralContainerStatuses": CONTAINER_STATUSES, "podIP": STR, "hostIP": STR,
        "startTime": STR, "nominatedNodeName": STR,
    }},
    "Deployment": {"spec": {
        "replicas": INT, "selector": LABEL_SELECTOR, "template": POD_TEMPLATE, "paused": BOOL,
        "minReadySeconds": INT, "progressDeadlineSeconds": INT,
        "strategy": {"type": STR, "rollingUpdate": ROLLING_UPDATE},
    }, "status": WORKLOAD_STATUS},
    "ReplicaSet": {"spec": {
        "replicas": INT, "selector": LABEL_SELECTOR, "template": POD_TEMPLATE,
        "minReadySeconds": INT,
    }, "status": WORKLOAD_STATUS},
    "StatefulSet": {"spec": {
        "replicas": INT, "selector": LABEL_SELECTOR, "template": POD_TEMPLATE,
        "serviceName": STR, "podManagementPolicy": STR, "minReadySeconds": INT,
        "updateStrategy": {"type": STR, "rollingUpdate": ROLLING_UPDATE},
        "volumeClaimTemplates": ListOf({"metadata": METADATA, "spec": PVC_SPEC}),
        "ordinals": {"start": INT},
    }, "status": WORKLOAD_STATUS},
    "DaemonSet": {"spec": {
        "selector": LABEL_SELECTOR, "template": POD_TEMPLATE, "minReadySeconds": INT,
        "updateStrategy": {"type": STR, "rollingUpdate": ROLLING_UPDATE},
    }, "status": {
        "currentNumberScheduled": INT, "desiredNumberScheduled": INT, "numberAvailable": INT,
        "numberMisscheduled": INT, "numberReady": INT, "numberUnavailable": INT,
        "updatedNumberScheduled": INT, "observedGeneration": INT, "conditions": CONDITIONS,
    }},
    "Job": {"spec": JOB_SPEC, "status": {
        "active": INT, "succeeded": INT, "failed": INT, "ready": INT, "startTime": STR,
        "completionTime": STR, "conditions": CONDITIONS,
    }},
    "CronJob": {"spec": {
        "schedule": STR, "timeZone": STR, "suspend": BOOL, "concurrencyPolicy": STR,
        "startingDeadlineSeconds": INT, "successfulJobsHistoryLimit": INT,
        "failedJobsHistoryLimit": INT, "jobTemplate": {"metadata": METADATA, "spec": JOB_SPEC},
    }, "status": {
        "lastScheduleTime": STR, "lastSuccessfulTime": STR, "active": ListOf(OBJECT_REF),
    }},
    "Service": {"spec": {
        "type": STR, "selector": LABELS, "clusterIP": STR, "externalName": STR,
        "publishNotReadyAddresses": BOOL, "loadBalancerClass": STR,
        "ports": ListOf({"name": STR, "port": INT, "targetPort": INT_OR_STR, "protocol": STR,
                         "nodePort": INT}),
    }, "status": {**LOAD_BALANCER_STATUS, "conditions": CONDITIONS}},
    "Endpoints": {"subsets": ListOf({
        "addresses": ListOf(ENDPOINT_ADDRESS), "notReadyAddresses": ListOf(ENDPOINT_ADDRESS),
        "ports": ListOf(SERVICE_PORT),
    })},
    "EndpointSlice": {"addressType": STR, "ports": ListOf(SERVICE_PORT), "endpoints": ListOf({
        "addresses": ListOf(STR), "hostname": STR, "nodeName": STR, "zone": STR,
        "targetRef": OBJECT_REF,
        "conditions": {"ready": BOOL, "serving": BOOL, "terminating": BOOL},
    })},
    "Event": {
        "involvedObject": OBJECT_REF, "regarding": OBJECT_REF, "reason": STR, "message": STR,
        "note": STR, "type": STR, "count": INT, "firstTimestamp": STR, "lastTimestamp": STR,
        "eventTime": STR, "source": {"component": STR, "host": STR},
        "reportingComponent": STR, "reportingController": STR,
        "series": {"count": INT, "lastObservedTime": STR},
    },
    "Node": {"spec": {"unschedulable": BOOL, "taints": ListOf(TAINT), "providerID": STR},
             "status": {"conditions": CONDITIONS, "capacity": MapOf(QUANTITY),
                        "allocatable": MapOf(QUANTITY),
                        "addresses": ListOf({"type": STR, "address": STR})}},
    "Namespace": {"status": {"phase": STR, "conditions": CONDITIONS}},
    "ConfigMap": {"data": MapOf(STR), "binaryData": MapOf(STR)},
    "ServiceAccount": {"secrets": ListOf({"name": STR}),
                       "imagePullSecrets": ListOf({"name": STR}),
                       "automountServiceAccountToken": BOOL},
    "PersistentVolumeClaim": {"spec": PVC_SPEC, "status": {
        "phase": STR, "capacity": MapOf(QUANTITY), "accessModes": ListOf(STR),
        "conditions": CONDITIONS,
    }},
    "PersistentVolume": {"spec": {
        "storageClassName": STR, "capacity": MapOf(QUANTITY), "claimRef": OBJECT_REF,
        "persistentVolumeReclaimPolicy": STR, "accessModes": ListOf(STR),
        "nodeAffinity": {"required": NODE_SELECTOR},
    }, "status": {"phase": STR, "reason": STR, "message": STR}},
    "StorageClass": {"provisioner": STR, "volumeBindingMode": STR, "reclaimPolicy": STR,
                     "allowVolumeExpansion": BOOL, "parameters": LABELS},
    "ResourceQuota": {"spec": {"hard": MapOf(QUANTITY), "scopes": ListOf(STR)},
                      "status": {"hard": MapOf(QUANTITY), "used": MapOf(QUANTITY)}},
    "LimitRange": {"spec": {"limits": ListOf({
        "type": STR, "default": MapOf(QUANTITY), "defaultRequest": MapOf(QUANTITY),
        "max": MapOf(QUANTITY), "min": MapOf(QUANTITY),
    })}},
    "Ingress": {"spec": {
        "ingressClassName": STR, "defaultBackend": INGRESS_BACKEND,
        "rules": ListOf({"host": STR, "http": {"paths": ListOf({
            "path": STR, "pathType": STR, "backend": INGRESS_BACKEND})}}),
        "tls": ListOf({"hosts": ListOf(STR), "secretName": STR}),
    }, "status": LOAD_BALANCER_STATUS},
    "IngressClass": {"spec": {"controller": STR}},
    "NetworkPolicy": {"spec": {
        "podSelector": LABEL_SELECTOR, "policyTypes": ListOf(STR),
        "ingress": ListOf({"from": ListOf(POLICY_PEER), "ports": POLICY_PORTS}),
        "egress": ListOf({"to": ListOf(POLICY_PEER), "ports": POLICY_PORTS}),
    }},
    "GatewayClass": {"spec": {"controllerName": STR}, "status": {"conditions": CONDITIONS}},
    "Gateway": {"spec": {
        "gatewayClassName": STR,
        "listeners": ListOf({"name": STR, "port": INT, "protocol": STR, "hostname": STR}),
    }, "status": {"conditions": CONDITIONS, "listeners": ListOf({
        "name": STR, "conditions": CONDITIONS, "attachedRoutes": INT})}},
    "HTTPRoute": {"spec": {
        "parentRefs": ListOf(PARENT_REF), "hostnames": ListOf(STR),
        "rules": ListOf({"backendRefs": ListOf({
            "group": STR, "kind": STR, "name": STR, "namespace": STR, "port": INT,
            "weight": INT})}),
    }, "status": {"parents": ListOf({"parentRef": PARENT_REF, "controllerName": STR,
                                     "conditions": CONDITIONS})}},
    "HorizontalPodAutoscaler": {"spec": {
        "scaleTargetRef": {"kind": STR, "name": STR, "apiVersion": STR},
        "minReplicas": INT, "maxReplicas": INT, "targetCPUUtilizationPercentage": INT,
        "metrics": ListOf(METRIC_SOURCE),
    }, "status": {
        "currentReplicas": INT, "desiredReplicas": INT, "currentMetrics": ListOf(METRIC_SOURCE),
        "currentCPUUtilizationPercentage": INT, "conditions": CONDITIONS,
    }},
    "PodDisruptionBudget": {"spec": {
        "minAvailable": INT_OR_STR, "maxUnavailable": INT_OR_STR, "selector": LABEL_SELECTOR,
    }, "status": {
        "currentHealthy": INT, "desiredHealthy": INT, "disruptionsAllowed": INT,
        "expectedPods": INT, "observedGeneration": INT, "conditions": CONDITIONS,
    }},
    "ValidatingWebhookConfiguration": {"webhooks": WEBHOOKS},
    "MutatingWebhookConfiguration": {"webhooks": WEBHOOKS},
    "Role": {"rules": POLICY_RULES},
    "ClusterRole": {"rules": POLICY_RULES},
    "RoleBinding": BINDING,
    "ClusterRoleBinding": BINDING,
    "PodMetrics": {"containers": ListOf({"name": STR, "usage": MapOf(QUANTITY)}),
                   "timestamp": STR, "window": STR},
    "NodeMetrics": {"usage": MapOf(QUANTITY), "timestamp": STR, "window": STR},
}
"""The fields each kind's analyzers read, with their API types. Any other kind (a CRD) is
checked for its metadata only."""

_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", float: "a number",
               dict: "a mapping", list: "a list"}


class ShapeError(ValueError):
    """An object whose field has the wrong type; ``field`` is its path (``spec.replicas``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def check_object(obj: Any) -> None:
    """Raise ``ShapeError`` unless ``obj`` has a kind, a named metadata mapping and the types
    ``SHAPES`` gives for its kind. Explicit nulls in checked fields are removed in place."""
    if type(obj) is not dict:
        raise ShapeError("the item", _expected(obj, "a mapping"))
    kind = obj.get("kind")
    if type(kind) is not str or not kind:
        raise ShapeError("kind", _expected(kind, "a non-empty string"))
    metadata = obj.get("metadata")
    if type(metadata) is not dict:
        raise ShapeError("metadata", _expected(metadata, "a mapping"))
    name = metadata.get("name")
    if type(name) is not str or not name:
        raise ShapeError("metadata.name", _expected(name, "a non-empty string"))
    _check_fields(metadata, METADATA, "metadata")
    shape = SHAPES.get(kind)
    if shape:
        _check_fields(obj, shape, "")


@dataclass(frozen=True)
class Rejected:
    """An object dropped on its way into the state, and why."""

    kind: str
    """Its kind, or "object" when it names none."""
    namespace: str | None
    """Where it was, when it says; None for a cluster-scoped or unplaceable object."""
    message: str
    """``dropped Pod shop/web-1 (pods.yaml item 3): status...restartCount is a string ...``"""


def admit(obj: Any, origin: str) -> Rejected | None:
    """None when ``obj`` may enter the state; otherwise why it may not. ``origin`` says where it
    came from (``demo.yaml item 17``, ``GET /api/v1/pods item 3``)."""
    try:
        check_object(obj)
    except ShapeError as err:
        if not isinstance(obj, Mapping):
            return Rejected("object", None, f"dropped {origin}: {err.field} {err.problem}")
        kind = obj.get("kind")
        metadata = obj.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
        return Rejected(
            kind if isinstance(kind, str) and kind else "object",
            namespace if isinstance(namespace, str) and namespace else None,
            f"dropped {describe(obj)} ({origin}): {err.field} {err.problem}",
        )
    return None


def describe(obj: Mapping[str, Any]) -> str:
    """``Pod shop/web-1`` for error messages, as far as the object says who it is."""
    kind = obj.get("kind")
    metadata = obj.get("metadata")
    kind_text = kind if isinstance(kind, str) and kind else "object"
    if not isinstance(metadata, Mapping):
        return f"a {kind_text} without metadata"
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str) or not name:
        return f"a {kind_text} without a name"
    where = f"{namespace}/" if isinstance(namespace, str) and namespace else ""
    return f"{kind_text} {where}{_short(name)}"


def _check_fields(value: dict[str, Any], shape: dict[str, Spec], path: str) -> None:
    # walk the smaller of the two: a pod spec sets a dozen of the fields its shape names
    nulls = []
    for key in (value if len(value) < len(shape) else shape):
        spec = shape.get(key)
        if spec is None:
            continue
        item = value.get(key)
        if item is None:
            nulls.append(key)
        else:
            _check(item, spec, f"{path}.{key}" if path else key)
    for key in nulls:
        value.pop(key, None)


def _check(value: Any, spec: Spec, path: str) -> None:
    if type(spec) is tuple:
        if type(value) not in spec:
            raise ShapeError(path, _expected(value, _leaf_name(spec)))
    elif type(spec) is dict:
        if type(value) is not dict:
            raise ShapeError(path, _expected(value, "a mapping"))
        if spec:
            _check_fields(value, spec, path)
    elif type(spec) is ListOf:
        if type(value) is not list:
            raise ShapeError(path, _expected(value, "a list"))
        for index, item in enumerate(value):
            if item is None:
                raise ShapeError(f"{path}[{index}]", "is null")
            _check(item, spec.item, f"{path}[{index}]")
    else:
        if type(value) is not dict:
            raise ShapeError(path, _expected(value, "a mapping"))
        for key, item in value.items():
            if type(key) is not str:
                raise ShapeError(path, f"has a key {_short(repr(key))}, not a string")
            _check(item, spec.value, f"{path}.{key}")


def _leaf_name(spec: Leaf) -> str:
    if spec == QUANTITY:
        return "a quantity"
    if spec == INT_OR_STR:
        return "an integer or a string"
    return _TYPE_NAMES[spec[0]]


def _expected(value: Any, wanted: str) -> str:
    if value is None:
        return f"is missing, expected {wanted}"
    found = _TYPE_NAMES.get(type(value), type(value).__name__)
    shown = f" ({_short(repr(value))})" if type(value) in (str, int, float, bool) else ""
    return f"is {found}{shown}, expected {wanted}"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
