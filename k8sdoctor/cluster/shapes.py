"""The shapes ``validate`` checks objects against: for each kind, the fields its analyzers read
and their types as the Kubernetes API defines them.

A shape is a mapping of field names to specs: a tuple of Python types for a leaf (``STR``,
``INT``, ``QUANTITY``...), a nested mapping for an object, ``ListOf`` and ``MapOf`` for lists and
string-keyed maps. Fields a shape does not name are not checked; an analyzer that starts reading
a new field adds it here, then writes the checks again: ``python -m k8sdoctor.cluster.shape_code``
(a test fails until it does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


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
