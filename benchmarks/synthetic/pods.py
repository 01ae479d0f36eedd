"""Pod templates and pods: containers with the API server's defaults filled in, the fields
admission adds to every pod (the service account token volume, default tolerations), and the
status kubelet writes for each state - running, unready, crash-looping, failing to pull its
image, misconfigured, unschedulable, succeeded, failed - with the Warning events that go with it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from .kit import HOUR, Cluster, Obj, at, digest, suffix

DEFAULT_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists",
     "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
     "tolerationSeconds": 300},
]
PRIORITIES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}


def node_ip(node_obj: Mapping[str, Any]) -> str:
    return node_obj["status"]["addresses"][0]["address"]


def is_ready(pod_obj: Mapping[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in pod_obj["status"].get("conditions") or ())


def container(name: str, image: str, *, ports: Sequence[tuple[str, int]] = (),
              requests: Mapping[str, str] | None = None,
              limits: Mapping[str, str] | None = None, env: Sequence[Obj] = (),
              env_from: Sequence[Obj] = (), mounts: Sequence[Obj] = (),
              probe_port: str | int | None = None, security: Obj | None = None) -> Obj:
    """A container spec with the API server's defaults filled in."""
    spec: Obj = {"image": image, "imagePullPolicy": "IfNotPresent", "name": name}
    if env:
        spec["env"] = list(env)
    if env_from:
        spec["envFrom"] = list(env_from)
    if probe_port is not None:
        for key, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
            spec[key] = {"failureThreshold": 3, "httpGet": {"path": path, "port": probe_port,
                                                            "scheme": "HTTP"},
                         "periodSeconds": 10, "successThreshold": 1, "timeoutSeconds": 1}
    if ports:
        spec["ports"] = [{"containerPort": number, "name": port_name, "protocol": "TCP"}
                         for port_name, number in ports]
    resources: Obj = {}
    if limits:
        resources["limits"] = dict(limits)
    if requests:
        resources["requests"] = dict(requests)
    spec["resources"] = resources
    spec["securityContext"] = security if security is not None else {
        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True}
    spec["terminationMessagePath"] = "/dev/termination-log"
    spec["terminationMessagePolicy"] = "File"
    if mounts:
        spec["volumeMounts"] = list(mounts)
    return spec


def pod_spec(containers: Sequence[Obj], *, service_account: str = "default",
             restart: str = "Always", non_root: bool = True, **extra: Any) -> Obj:
    """A pod template's spec, as a Deployment, StatefulSet, DaemonSet or Job holds it."""
    spec: Obj = {"containers": list(containers), "dnsPolicy": "ClusterFirst",
                 "restartPolicy": restart, "schedulerName": "default-scheduler",
                 "securityContext": ({"fsGroup": 10001, "runAsNonRoot": True,
                                      "runAsUser": 10001} if non_root else {}),
                 "terminationGracePeriodSeconds": 30}
    if service_account != "default":
        spec["serviceAccount"] = spec["serviceAccountName"] = service_account
    spec.update(extra)
    return spec


def template(labels: Mapping[str, str], spec: Obj) -> Obj:
    return {"metadata": {"creationTimestamp": None, "labels": dict(labels)}, "spec": spec}


def pod(cluster: Cluster, namespace: str, name: str, *, owner: Mapping[str, Any] | None,
        labels: Mapping[str, str], spec: Obj, node_obj: Obj | None, age: float,
        state: str = "Running", detail: str = "", finished: float = 0.0) -> Obj:
    """One pod stamped from ``spec``, with the status kubelet writes for ``state`` and the
    Warning events that go with it.

    ``state`` is Running, Unready (the readiness probe fails), CrashLoop (OOMKilled on each
    start), ImagePull (``detail``: the pull error), ConfigError (``detail``: kubelet's message),
    Unschedulable (``detail``: the scheduler's message), Succeeded or Failed (``finished``
    seconds ago).
    """
    generate_name = name.rsplit("-", 1)[0] + "-" if owner is not None else None
    meta = cluster.meta("Pod", name, namespace, age=age, labels=labels, owner=owner,
                        generate_name=generate_name)
    spec = copy.deepcopy(spec)
    volume = f"kube-api-access-{suffix(5, meta['uid'])}"
    spec.setdefault("volumes", []).append({"name": volume, "projected": {
        "defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}],
                           "name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1",
                                                     "fieldPath": "metadata.namespace"},
                                        "path": "namespace"}]}}]}})
    for item in spec["containers"]:
        item.setdefault("volumeMounts", []).append(
            {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": volume,
             "readOnly": True})
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.update({"enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
                 "priority": PRIORITIES.get(spec.get("priorityClassName", ""), 0)})
    own = spec.get("tolerations") or []
    keys = {(t.get("key"), t.get("effect")) for t in own}
    if not any(not t.get("key") and t.get("operator") == "Exists" for t in own):
        spec["tolerations"] = own + [t for t in DEFAULT_TOLERATIONS
                                     if (t["key"], t["effect"]) not in keys]
    if node_obj is not None:
        spec["nodeName"] = node_obj["metadata"]["name"]
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    obj["status"] = _pod_status(cluster, obj, node_obj, age, state, detail, finished)
    cluster.add(obj)
    _pod_events(cluster, obj, state, detail, age)
    return obj


def _pod_status(cluster: Cluster, obj: Obj, node_obj: Obj | None, age: float, state: str,
                detail: str, finished: float) -> Obj:
    spec = obj["spec"]
    qos = "Burstable" if any(c["resources"] for c in spec["containers"]) else "BestEffort"
    if state == "Unschedulable":
        return {"conditions": [{"lastProbeTime": None, "lastTransitionTime": at(age - 1),
                                "message": detail, "reason": "Unschedulable",
                                "status": "False", "type": "PodScheduled"}],
                "phase": "Pending", "qosClass": qos}
    assert node_obj is not None
    started = age - 2
    terminal = state in ("Succeeded", "Failed")
    ready = state == "Running"
    statuses = [_container_status(obj, c, state, started, detail, finished)
                for c in spec["containers"]]
    phase = {"Succeeded": "Succeeded", "Failed": "Failed", "ImagePull": "Pending",
             "ConfigError": "Pending"}.get(state, "Running")
    since = finished if terminal else (started - 15 if ready else min(started, 2 * HOUR))
    why: Obj = {}
    if not ready:
        why = ({"reason": "PodCompleted" if state == "Succeeded" else "PodFailed"} if terminal
               else {"message": "containers with unready status: ["
                     + " ".join(c["name"] for c in spec["containers"]) + "]",
                     "reason": "ContainersNotReady"})

    def condition(kind: str, ok: bool, ago: float, extra: Obj | None = None) -> Obj:
        return {"lastProbeTime": None, "lastTransitionTime": at(ago), **(extra or {}),
                "status": "True" if ok else "False", "type": kind}

    address = node_ip(node_obj)
    status: Obj = {
        "conditions": [condition("PodReadyToStartContainers", not terminal, started + 1),
                       condition("Initialized", True, started + 1,
                                 {"reason": "PodCompleted"} if state == "Succeeded" else None),
                       condition("Ready", ready, since, why),
                       condition("ContainersReady", ready, since, why),
                       condition("PodScheduled", True, age - 1)],
        "containerStatuses": statuses, "hostIP": address, "hostIPs": [{"ip": address}],
        "phase": phase,
    }
    ip = address if spec.get("hostNetwork") else cluster.pod_ip()
    status.update({"podIP": ip, "podIPs": [{"ip": ip}]})
    status.update({"qosClass": qos, "startTime": at(started)})
    return status


def _container_status(obj: Obj, spec: Obj, state: str, started: float, detail: str,
                      finished: float) -> Obj:
    meta, name, image = obj["metadata"], spec["name"], spec["image"]
    repository = image.rsplit(":", 1)[0]
    cid = "containerd://" + digest(meta["uid"], name)
    status: Obj = {"containerID": cid, "image": image,
                   "imageID": f"{repository}@sha256:{digest('image', image)}", "lastState": {},
                   "name": name, "ready": state == "Running", "restartCount": 0,
                   "started": state in ("Running", "Unready")}
    if state in ("Running", "Unready"):
        status["state"] = {"running": {"startedAt": at(started)}}
    elif state == "CrashLoop":
        status["lastState"] = {"terminated": {"containerID": cid, "exitCode": 137,
                                              "finishedAt": at(190), "reason": "OOMKilled",
                                              "startedAt": at(251)}}
        status["restartCount"] = int(min(started, 2 * HOUR) // 300) + 5
        status["state"] = {"waiting": {
            "message": f"back-off 5m0s restarting failed container={name} "
                       f"pod={meta['name']}_{meta['namespace']}({meta['uid']})",
            "reason": "CrashLoopBackOff"}}
    elif state in ("ImagePull", "ConfigError"):
        del status["containerID"]
        status["imageID"] = ""
        reason = "ImagePullBackOff" if state == "ImagePull" else "CreateContainerConfigError"
        message = (f'Back-off pulling image "{image}": ErrImagePull: {detail}'
                   if state == "ImagePull" else detail)
        status["state"] = {"waiting": {"message": message, "reason": reason}}
    else:
        code = 0 if state == "Succeeded" else 1
        status["state"] = {"terminated": {
            "containerID": cid, "exitCode": code, "finishedAt": at(finished),
            **({"message": detail} if detail else {}),
            "reason": "Completed" if code == 0 else "Error", "startedAt": at(started)}}
    return status


def _pod_events(cluster: Cluster, obj: Obj, state: str, detail: str, age: float) -> None:
    meta, spec = obj["metadata"], obj["spec"]
    host = spec.get("nodeName")
    recent = 5 + int(digest(meta["uid"], "recent")[:3], 16) % 50
    first = min(age - 3, HOUR - 60)
    for item in spec["containers"]:
        where = {"host": host, "field_path": f"spec.containers{{{item['name']}}}"}
        if state == "CrashLoop":
            cluster.event(obj, "BackOff", f"Back-off restarting failed container {item['name']} "
                          f"in pod {meta['name']}_{meta['namespace']}({meta['uid']})",
                          first=first, last=recent, count=int(first // 12), **where)
        elif state == "Unready":
            cluster.event(obj, "Unhealthy", "Readiness probe failed: HTTP probe failed with "
                          "statuscode: 503", first=first, last=recent, count=int(first // 10),
                          **where)
        elif state == "ImagePull":
            image = item["image"]
            cluster.event(obj, "Failed", f'Failed to pull image "{image}": {detail}',
                          first=first, last=recent + 240, count=int(first // 300) + 1, **where)
            cluster.event(obj, "Failed", "Error: ImagePullBackOff", first=first, last=recent,
                          count=int(first // 50), **where)
        elif state == "ConfigError":
            cluster.event(obj, "Failed", f"Error: {detail}", first=first, last=recent,
                          count=int(first // 20), **where)
    if state == "Unschedulable":
        cluster.scheduler_event(obj, detail, first=age - 1, count=int(age // 300) + 2)
