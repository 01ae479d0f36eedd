"""How long listing pods takes, and how much memory it needs: raw JSON vs the client's models.

Serves N realistic pods (default 5,000; with ``managedFields``, as the API returns them) from the
fake API server in this process, then lists them in a fresh child process per method, paged as
k8sdoctor pages them:

- ``raw``: ``LiveSource`` - the ``ApiClient`` with the body left unparsed, decoded as JSON dicts;
- ``models``: ``CoreV1Api.list_pod_for_all_namespaces`` - the client's generated model classes.

Each child reports its wall time for the fetch, its peak resident memory, and how much of that
the fetch added over the interpreter with its imports loaded. The server's share of the wall time
(encoding each page in Python) is the same for both methods.

    python benchmarks/fetch.py [--pods 5000] [--page-size 500] [--only raw|models]
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakeapi import FakeApiServer, write_kubeconfig  # noqa: E402

TOKEN = "benchmark-token"
METHODS = {"raw": "raw JSON (LiveSource)", "models": "generated models (CoreV1Api)"}
NODES = [f"ip-10-0-{i // 8}-{10 + i % 8}.eu-west-1.compute.internal" for i in range(40)]


def realistic_pod(index: int) -> dict[str, Any]:
    """A Deployment's pod as the API returns it: two containers, probes, env, a projected token
    volume, status with conditions, and the managedFields of kube-controller-manager and
    kubelet."""
    app = f"svc-{index % 250:03d}"
    rs_hash = f"{uuid.UUID(int=index % 250).hex[:10]}"
    name = f"{app}-{rs_hash}-{uuid.UUID(int=index).hex[-5:]}"
    namespace = f"team-{index % 25:02d}"
    node = NODES[index % len(NODES)]
    ip = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
    created = "2025-11-18T15:20:31Z"
    uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{name}"))
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "shop",
              "pod-template-hash": rs_hash, "version": "3.8.2"}
    app_container = {
        "name": "app", "image": f"ghcr.io/acme/{app}:3.8.2", "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"},
                  {"containerPort": 9090, "name": "metrics", "protocol": "TCP"}],
        "env": [{"name": "LOG_LEVEL", "value": "info"},
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                "fieldPath": "metadata.name"}}},
                {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"key": "url",
                                                                        "name": f"{app}-db"}}}],
        "resources": {"limits": {"memory": "512Mi"},
                      "requests": {"cpu": "250m", "memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http", "scheme": "HTTP"},
                           "failureThreshold": 3, "periodSeconds": 10, "successThreshold": 1,
                           "timeoutSeconds": 1},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                          "failureThreshold": 3, "periodSeconds": 10, "successThreshold": 1,
                          "timeoutSeconds": 1},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                          "name": "kube-api-access-7x2kq", "readOnly": True}],
    }
    sidecar = {k: v for k, v in app_container.items() if k not in ("livenessProbe", "env")}
    sidecar.update(name="envoy", image="envoyproxy/envoy:v1.31.2",
                   ports=[{"containerPort": 15001, "name": "proxy", "protocol": "TCP"}])
    managed = [
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kube-controller-manager",
         "operation": "Update", "time": created, "fieldsV1": {
             "f:metadata": {"f:generateName": {}, "f:labels": {f"f:{k}": {} for k in labels},
                            "f:ownerReferences": {f'k:{{"uid":"{uid}"}}': {}}},
             "f:spec": {"f:containers": {'k:{"name":"app"}': {
                 ".": {}, "f:env": {}, "f:image": {}, "f:imagePullPolicy": {},
                 "f:livenessProbe": {}, "f:name": {}, "f:ports": {}, "f:readinessProbe": {},
                 "f:resources": {}, "f:terminationMessagePath": {},
                 "f:terminationMessagePolicy": {}}}, "f:dnsPolicy": {},
                 "f:enableServiceLinks": {}, "f:restartPolicy": {}, "f:schedulerName": {},
                 "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}}}},
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "manager": "kubelet",
         "operation": "Update", "subresource": "status", "time": "2025-11-18T15:20:44Z",
         "fieldsV1": {"f:status": {"f:conditions": {
             f'k:{{"type":"{t}"}}': {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {},
                                     "f:status": {}, "f:type": {}}
             for t in ("ContainersReady", "Initialized", "PodReadyToStartContainers", "Ready")},
             "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {}, "f:phase": {},
             "f:podIP": {}, "f:podIPs": {}, "f:startTime": {}}}},
    ]
    condition_types = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                       "PodScheduled")
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": name, "generateName": f"{app}-{rs_hash}-", "namespace": namespace,
            "uid": uid, "resourceVersion": str(4_800_000 + index), "creationTimestamp": created,
            "labels": labels,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": f"{app}-{rs_hash}", "uid": str(uuid.UUID(int=index)),
                                 "controller": True, "blockOwnerDeletion": True}],
            "managedFields": managed,
        },
        "spec": {
            "containers": [app_container, sidecar], "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True, "nodeName": node,
            "preemptionPolicy": "PreemptLowerPriority", "priority": 0, "restartPolicy": "Always",
            "schedulerName": "default-scheduler", "securityContext": {},
            "serviceAccount": "default", "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [{"effect": "NoExecute", "key": key, "operator": "Exists",
                             "tolerationSeconds": 300}
                            for key in ("node.kubernetes.io/not-ready",
                                        "node.kubernetes.io/unreachable")],
            "volumes": [{"name": "kube-api-access-7x2kq", "projected": {
                "defaultMode": 420, "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt",
                                   "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                        "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
        },
        "status": {
            "phase": "Running", "qosClass": "Burstable", "startTime": created,
            "hostIP": "10.0.3.14", "hostIPs": [{"ip": "10.0.3.14"}],
            "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": t, "status": "True", "lastProbeTime": None,
                            "lastTransitionTime": created} for t in condition_types],
            "containerStatuses": [
                {"name": c["name"], "image": c["image"], "ready": True, "restartCount": 0,
                 "started": True,
                 "imageID": f"{c['image']}@sha256:{uuid.uuid5(uuid.UUID(uid), 'i').hex * 2}",
                 "containerID": f"containerd://{uuid.uuid5(uuid.UUID(uid), c['name']).hex * 2}",
                 "lastState": {},
                 "state": {"running": {"startedAt": "2025-11-18T15:20:38Z"}}}
                for c in (app_container, sidecar)],
        },
    }


# -- the children ---------------------------------------------------------------------------------


def _peak_rss_mib() -> float:
    """This process's peak resident memory. On Linux from VmHWM: ``ru_maxrss`` would carry over
    the parent's peak across fork and exec."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _fetch_raw(kubeconfig: str, page_size: int) -> int:
    from k8sdoctor.cluster.live import LiveSource
    from k8sdoctor.cluster.state import Scope

    state = LiveSource(kubeconfig, page_size=page_size).load({"Pod"}, Scope()).state
    return len(state.objects("Pod"))


def _fetch_models(kubeconfig: str, page_size: int) -> int:
    from kubernetes import client, config

    api = client.CoreV1Api(config.new_client_from_config(kubeconfig, persist_config=False))
    pods: list[Any] = []
    token = None
    while True:
        page = api.list_pod_for_all_namespaces(limit=page_size, _continue=token)
        pods.extend(page.items)
        token = page.metadata._continue
        if not token:
            return len(pods)


def measure(method: str, kubeconfig: str, page_size: int) -> dict[str, float]:
    # Imports first, so the figures are the fetch's own.
    for module in ("kubernetes.client", "kubernetes.config", "k8sdoctor.cluster.kubeconfig"):
        importlib.import_module(module)

    fetch = {"raw": _fetch_raw, "models": _fetch_models}[method]
    baseline = _peak_rss_mib()
    start = time.perf_counter()
    count = fetch(kubeconfig, page_size)
    elapsed = time.perf_counter() - start
    peak = _peak_rss_mib()
    return {"pods": count, "seconds": elapsed, "peak_mib": peak, "added_mib": peak - baseline}


# -- the parent -----------------------------------------------------------------------------------


def run(pods: int, page_size: int, methods: list[str]) -> None:
    print(f"building {pods} pods...", file=sys.stderr)
    objects = [realistic_pod(i) for i in range(pods)]
    size = len(json.dumps(objects)) / pods
    with FakeApiServer(objects, token=TOKEN, keep_bodies=False) as api, \
            tempfile.TemporaryDirectory() as tmp:
        config = write_kubeconfig(Path(tmp) / "config", api.url, user={"token": TOKEN})
        print(f"{pods} pods (~{size / 1024:.1f} KiB of JSON each), pages of {page_size}\n")
        print(f"{'method':<30} {'fetch s':>8} {'peak RSS MiB':>13} {'added MiB':>10}")
        for method in methods:
            done = subprocess.run(
                [sys.executable, __file__, "--measure", method, "--kubeconfig", str(config),
                 "--page-size", str(page_size)],
                capture_output=True, text=True, check=True)
            figures = json.loads(done.stdout)
            if figures["pods"] != pods:
                raise SystemExit(f"{method}: fetched {figures['pods']} pods, expected {pods}")
            print(f"{METHODS[method]:<30} {figures['seconds']:>8.2f} "
                  f"{figures['peak_mib']:>13.0f} {figures['added_mib']:>10.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--only", choices=sorted(METHODS))
    parser.add_argument("--measure", choices=sorted(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("--kubeconfig", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.kubeconfig, args.page_size)))
        return
    run(args.pods, args.page_size, [args.only] if args.only else list(METHODS))


if __name__ == "__main__":
    main()
