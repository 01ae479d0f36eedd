"""Loads a fixture cluster into a real kube-apiserver, so the server holds the state the snapshot
describes.

Each object is created through the API (namespaces first, events last) and its ``status`` then
written through the ``/status`` subresource, as the kubelet and controllers would have; the server
validates all of it. Three things no client may set are then restored in etcd, where the server
keeps them: ``creationTimestamp``, ``uid`` (owner references, events and EndpointSlices point at
the fixture's uids) and ``generation``. kube-apiserver stores JSON (``--storage-media-type``), and
etcd's JSON gateway rewrites the keys; the watch cache sees the change as any other write. No
kubelet or controller runs, so nothing changes the state afterwards.

Secrets without values get a sentinel value (``SECRET_SENTINEL``), so a test can show that values
stored on the server never reach k8sdoctor.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import itertools
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import urllib3
import yaml

from k8sdoctor.cluster.kinds import KNOWN_KINDS
from tests.e2e.controlplane import ControlPlane

SECRET_SENTINEL = "k8sdoctor-e2e-secret-value"

# Kinds the product does not list, which tests create: (plural, namespaced).
EXTRA_KINDS = {
    "CustomResourceDefinition": ("customresourcedefinitions", False),
    "ServiceMonitor": ("servicemonitors", True),
    "Lease": ("leases", True),
}
NOT_STORED = frozenset({"PodMetrics", "NodeMetrics"})
"""Served by metrics-server from live measurements, never stored: no server of ours has them."""
SERVER_SET = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
              "selfLink")
JOB_UID_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
ORDER = {"Namespace": 0, "CustomResourceDefinition": 1, "Event": 9}


# -- reading fixtures ---------------------------------------------------------------------------


def read_objects(path: Path) -> list[dict[str, Any]]:
    """Every object in a fixture file or directory, Lists flattened, items given their kind."""
    files = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml", ".json")) if (
        path.is_dir()) else [path]
    objects: list[dict[str, Any]] = []
    for file in files:
        text = file.read_text(encoding="utf-8")
        documents = [json.loads(text)] if file.suffix == ".json" else yaml.safe_load_all(text)
        for document in documents:
            objects.extend(_flatten(document))
    return objects


def _flatten(document: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(document, dict):
        return
    kind = document.get("kind", "")
    if kind.endswith("List") and "items" in document:
        item_kind = kind[: -len("List")]
        for item in document.get("items") or ():
            yield {"apiVersion": item.get("apiVersion", document.get("apiVersion")),
                   "kind": item.get("kind", item_kind), **item}
    else:
        yield document


def service_cidr(objects: Iterable[Mapping[str, Any]]) -> str:
    """A service CIDR whose first address is the ``kubernetes`` Service's clusterIP (kube-apiserver
    gives that Service the first address) and that holds every other clusterIP if it can."""
    services = [o for o in objects if o.get("kind") == "Service"]
    addresses = [ipaddress.ip_address(ip) for s in services
                 if (ip := (s.get("spec") or {}).get("clusterIP")) and ip != "None"]
    addresses = [a for a in addresses if a.version == 4]
    default = next((ipaddress.ip_address(s["spec"]["clusterIP"]) for s in services
                    if s["metadata"].get("namespace") == "default"
                    and s["metadata"]["name"] == "kubernetes"), None)
    if default is None:
        return "10.96.0.0/16"
    base = int(default) - 1
    candidates = []
    for prefix in range(16, 25):
        try:
            network = ipaddress.ip_network(f"{ipaddress.ip_address(base)}/{prefix}")
        except ValueError:  # the base is not aligned to this prefix
            continue
        candidates.append(network)
        if all(a in network for a in addresses):
            return str(network)
    return str(candidates[-1]) if candidates else "10.96.0.0/16"


# -- paths --------------------------------------------------------------------------------------


def _coordinates(obj: Mapping[str, Any]) -> tuple[str, str, bool]:
    """(API prefix, plural, namespaced) of an object, from its own apiVersion."""
    kind, api_version = obj["kind"], obj["apiVersion"]
    if kind in KNOWN_KINDS:
        plural, namespaced = KNOWN_KINDS[kind].plural, KNOWN_KINDS[kind].namespaced
    else:
        plural, namespaced = EXTRA_KINDS[kind]
    prefix = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
    return prefix, plural, namespaced


def collection_path(obj: Mapping[str, Any]) -> str:
    prefix, plural, namespaced = _coordinates(obj)
    namespace = obj["metadata"].get("namespace")
    if namespaced:
        return f"{prefix}/namespaces/{namespace or 'default'}/{plural}"
    return f"{prefix}/{plural}"


def object_path(obj: Mapping[str, Any]) -> str:
    return f"{collection_path(obj)}/{obj['metadata']['name']}"


# -- loading ------------------------------------------------------------------------------------


def load(plane: ControlPlane, objects: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Create ``objects`` on the server with their status and history; returns those loaded
    (metrics, which no server stores, are left out)."""
    cidr = ipaddress.ip_network(plane.service_cidr)
    loaded = sorted((copy.deepcopy(dict(o)) for o in objects if o["kind"] not in NOT_STORED),
                    key=lambda o: (ORDER.get(o["kind"], 5), o["kind"]))
    declared = {o["metadata"]["name"] for o in loaded if o["kind"] == "Namespace"}
    for namespace in sorted({o["metadata"].get("namespace") for o in loaded} - declared - {None}):
        plane.apply_documents([{"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": namespace}}])

    def create(obj: dict[str, Any]) -> None:
        if obj["kind"] == "Secret" and not obj.get("data") and not obj.get("stringData"):
            obj["data"] = {"value": base64.b64encode(SECRET_SENTINEL.encode()).decode()}
        _create(plane, obj, cidr)
        if "status" in obj and obj["kind"] not in ("Event",):
            _write_status(plane, obj)

    # Namespaces, then CRDs, then everything else (a few at a time), then events.
    with ThreadPoolExecutor(4) as pool:
        for _, group in itertools.groupby(loaded, key=lambda o: ORDER.get(o["kind"], 5)):
            list(pool.map(create, group))
    restore_history(plane, loaded)
    return loaded


def _create(plane: ControlPlane, obj: Mapping[str, Any], cidr: Any) -> None:
    body = {k: copy.deepcopy(v) for k, v in obj.items() if k != "status"}
    body["metadata"] = {k: v for k, v in body["metadata"].items() if k not in SERVER_SET}
    if obj["kind"] == "Job" and not (body.get("spec") or {}).get("manualSelector"):
        # The server generates the selector from the uid it assigns; restore_history puts the
        # fixture's back with its uid.
        spec = body["spec"]
        spec.pop("selector", None)
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        for label in JOB_UID_LABELS:
            labels.pop(label, None)
    if obj["kind"] == "Service":
        spec = body.get("spec") or {}
        ips = [ip for ip in spec.get("clusterIPs") or [spec.get("clusterIP")] if ip]
        if any(ip != "None" and ipaddress.ip_address(ip) not in cidr for ip in ips):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
    status, data = plane.request("POST", collection_path(obj), body)
    # Made by the server itself (default namespaces, the kubernetes Service: whose clusterIP is
    # found taken before the name is found to exist).
    if status in (409, 422) and plane.request("GET", object_path(obj))[0] == 200:
        current = plane.json("GET", object_path(obj))
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if obj["kind"] == "Service":  # clusterIP is immutable; keep the server's
            for field in ("clusterIP", "clusterIPs"):
                if field in current.get("spec", {}):
                    body.setdefault("spec", {})[field] = current["spec"][field]
        status, data = plane.request("PUT", object_path(obj), body)
    if status not in (200, 201):
        raise RuntimeError(f"creating {obj['kind']} {_name(obj)}: {status} {data[:600]!r}")


def _write_status(plane: ControlPlane, obj: Mapping[str, Any]) -> None:
    current = plane.json("GET", object_path(obj))
    current["status"] = copy.deepcopy(obj["status"])
    status, data = plane.request("PUT", object_path(obj) + "/status", current)
    if status == 404:  # no status subresource (a CRD without one): the create kept it
        return
    if status not in (200, 201):
        raise RuntimeError(f"writing the status of {obj['kind']} {_name(obj)}: {status} "
                           f"{data[:600]!r}")


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if meta.get("namespace") else meta["name"]


# -- history, in etcd ---------------------------------------------------------------------------


def restore_history(plane: ControlPlane, objects: Iterable[Mapping[str, Any]]) -> None:
    """Set each stored object's creationTimestamp, uid and generation to the fixture's (and a
    Job's selector, which names its uid)."""
    wanted = {(o["kind"], o["metadata"].get("namespace") or "", o["metadata"]["name"]): o
              for o in objects}
    etcd = Etcd(plane.etcd_url)
    for key, stored in etcd.objects("/registry/"):
        meta = stored.get("metadata") or {}
        fixture = wanted.get((stored.get("kind"), meta.get("namespace") or "", meta.get("name")))
        if fixture is None:
            continue
        changed = False
        for field in ("creationTimestamp", "uid", "generation"):
            value = fixture["metadata"].get(field)
            if value is not None and meta.get(field) != value:
                meta[field], changed = value, True
        if stored.get("kind") == "Job" and stored.get("spec") != fixture.get("spec"):
            stored["spec"]["selector"] = fixture["spec"].get("selector")
            stored["spec"]["template"]["metadata"]["labels"] = (
                fixture["spec"]["template"]["metadata"].get("labels"))
            changed = True
        if changed:
            etcd.put(key, json.dumps(stored, separators=(",", ":")).encode())


class Etcd:
    """etcd's JSON gateway (``/v3/kv/...``): enough to read and rewrite stored objects."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(30))

    def _call(self, method: str, body: Mapping[str, Any]) -> dict[str, Any]:
        response = self.http.request("POST", f"{self.url}/v3/kv/{method}",
                                     body=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        if response.status != 200:
            raise RuntimeError(f"etcd {method}: {response.status} {response.data[:300]!r}")
        return json.loads(response.data)

    def objects(self, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """(key, object) for every JSON object stored under ``prefix``."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        answer = self._call("range", {"key": _b64(prefix.encode()),
                                      "range_end": _b64(end.encode())})
        for kv in answer.get("kvs") or ():
            value = base64.b64decode(kv.get("value", ""))
            if not value.startswith(b"{"):
                continue
            yield base64.b64decode(kv["key"]).decode(), json.loads(value)

    def put(self, key: str, value: bytes) -> None:
        self._call("put", {"key": _b64(key.encode()), "value": _b64(value)})

    def compact(self) -> int:
        """Compact away every revision before the current one, as kube-apiserver's compactor
        does, recording it under the key the servers watch for it; returns that revision."""
        revision = int(self._call("range", {"key": _b64(b"/")})["header"]["revision"])
        self.put("compact_rev_key", str(revision).encode())
        self._call("compaction", {"revision": revision, "physical": True})
        return revision


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def load_path(plane: ControlPlane, path: Path) -> list[dict[str, Any]]:
    return load(plane, read_objects(path))


# -- CRDs -----------------------------------------------------------------------------------------

CRDS = Path(__file__).parent / "crds"


def install_crds(plane: ControlPlane, name: str, timeout: float = 60.0) -> list[str]:
    """Create the CRDs of ``crds/NAME.yaml`` and wait until discovery serves them; returns their
    group/versions."""
    documents = [d for d in yaml.safe_load_all((CRDS / f"{name}.yaml").read_text("utf-8")) if d]
    plane.apply_documents(documents)
    group_versions = sorted({f"{d['spec']['group']}/{v['name']}" for d in documents
                             for v in d["spec"]["versions"]})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        established = all(
            any(c["type"] == "Established" and c["status"] == "True"
                for c in (plane.json("GET", object_path(d)).get("status") or {}).get(
                    "conditions") or ())
            for d in documents)
        groups = plane.json("GET", "/apis").get("groups") or ()
        served = {v["groupVersion"] for g in groups for v in g["versions"]}
        if established and set(group_versions) <= served:
            return group_versions
        time.sleep(0.2)
    raise RuntimeError(f"CRDs of {name} not served within {timeout:g}s")
