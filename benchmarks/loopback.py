"""A fast loopback API server for benchmarks: a synthetic cluster's Lists, encoded in advance.

``python benchmarks/loopback.py --pods N --dir DIR`` builds the synthetic cluster of N pods (with
``startup_events``, the event volume of a busy cluster), writes ``DIR/kubeconfig`` and
``DIR/snapshot.json`` (the same objects as ``kubectl get -o json`` prints a List, with the capture
time and the kinds listed, as ``k8sdoctor snapshot`` records them), encodes every page of every
List once (as the API server sends them: items without ``kind``, with ``managedFields``,
``continue`` tokens; Secrets also as ``PartialObjectMetadataList``), then serves them on
127.0.0.1 and prints one JSON line describing the cluster. Answering a request is a dict lookup
and a socket write, so what a benchmark measures is the client.

``GET /_log`` answers with the requests served since the last ``/_log`` (path with query, and
Accept header) and forgets them: a benchmark replays exactly those in its floor.

``--latency-ms N`` makes every API request (not ``/_log``) wait N ms before it is answered, as a
remote API server's round trip and its own work do; each request waits in its own thread, so
concurrent requests overlap their waits as they would against a real server. ``GET
/_latency?ms=N`` changes it while the server runs (the pages stay encoded). The default, 0,
answers at once.

It runs in its own process, so the memory that holds the pages is never counted in a client's
peak RSS (a child process's ``ru_maxrss`` starts from its parent's high-water mark).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT), str(ROOT.parent)]

from synthetic import NOW, build  # noqa: E402
from synthetic.history import startup_events  # noqa: E402

from k8sdoctor.cluster.kinds import KNOWN_KINDS, ResourceKind  # noqa: E402
from k8sdoctor.cluster.snapshot import CAPTURED_AT, LISTED_KINDS  # noqa: E402
from tests.fakeapi import wire  # noqa: E402
from tests.fakeapi.kubeconfig import write_kubeconfig  # noqa: E402

TOKEN = "benchmark-token"
RESOURCE_VERSION = 48_900_000
METADATA_ONLY = "as=PartialObjectMetadataList"
Obj = dict[str, Any]


def managed_fields(obj: Mapping[str, Any]) -> list[Obj]:
    """Server-side apply bookkeeping as the API server returns it: one entry for the writer of
    the object and one for the writer of its status, listing the fields each owns."""

    def owned(value: Any, depth: int) -> Obj:
        if not isinstance(value, Mapping) or depth == 0:
            return {}
        return {f"f:{key}": owned(item, depth - 1) for key, item in value.items()}

    created = obj["metadata"].get("creationTimestamp")
    fields = {key: value for key, value in obj.items()
              if key not in ("apiVersion", "kind", "status", "metadata")}
    entries = [{"apiVersion": obj.get("apiVersion", "v1"), "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": owned({k: v for k, v in obj["metadata"].items()
                                                  if k in ("labels", "annotations")}, 2),
                             **owned(fields, 3)},
                "manager": "kube-controller-manager" if obj["metadata"].get("ownerReferences")
                else "kubectl-client-side-apply",
                "operation": "Update", "time": created}]
    if isinstance(obj.get("status"), Mapping):
        entries.append({"apiVersion": obj.get("apiVersion", "v1"), "fieldsType": "FieldsV1",
                        "fieldsV1": owned({"status": obj["status"]}, 3),
                        "manager": "kubelet" if obj["kind"] == "Pod" else "kube-controller-manager",
                        "operation": "Update", "subresource": "status", "time": created})
    return entries


class Pages:
    """Every List the server can answer, encoded on first use and kept."""

    def __init__(self, objects: Mapping[str, list[Obj]]) -> None:
        self.items: dict[str, list[Obj]] = {}
        self.keys: dict[str, list[str]] = {}
        for kind in KNOWN_KINDS:
            items = sorted(objects.get(kind, ()), key=wire.object_key)
            for obj in items:
                obj["metadata"]["managedFields"] = managed_fields(obj)
            self.items[kind] = items
            self.keys[kind] = [wire.object_key(o) for o in items]
        self._encoded: dict[tuple[str, str | None, bool, int, str], bytes] = {}
        self._lock = threading.Lock()

    def page(self, kind: ResourceKind, namespace: str | None, metadata_only: bool, limit: int,
             token: str) -> bytes:
        key = (kind.kind, namespace, metadata_only, limit, token)
        with self._lock:
            body = self._encoded.get(key)
        if body is None:
            body = self._encode(kind, namespace, metadata_only, limit, token)
            with self._lock:
                self._encoded[key] = body
        return body

    def warm(self, limit: int) -> None:
        """Encode every page a client listing each kind ``limit`` at a time will ask for."""
        for kind in KNOWN_KINDS.values():
            token = ""
            while True:
                body = self.page(kind, None, kind.metadata_only, limit, token)
                token = json.loads(body)["metadata"].get("continue") or ""
                if not token:
                    break

    def _encode(self, kind: ResourceKind, namespace: str | None, metadata_only: bool, limit: int,
                token: str) -> bytes:
        items, keys = self.items[kind.kind], self.keys[kind.kind]
        if namespace:
            items = [o for o in items if o["metadata"].get("namespace") == namespace]
            keys = [wire.object_key(o) for o in items]
        start = bisect.bisect_left(keys, wire.continue_start(token)) if token else 0
        end = len(items) if limit <= 0 else min(len(items), start + limit)
        metadata: Obj = {"resourceVersion": str(RESOURCE_VERSION)}
        if end < len(items):
            metadata["continue"] = wire.continue_token(RESOURCE_VERSION, items[end - 1])
            metadata["remainingItemCount"] = len(items) - end
        document = (wire.partial_metadata_list(items[start:end], metadata) if metadata_only
                    else wire.list_document(kind, items[start:end], metadata))
        return json.dumps(document, separators=(",", ":")).encode()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    pages: Pages
    discovery: dict[str, bytes]
    log: list[tuple[str, str]]
    lock: threading.Lock
    latency: float = 0.0
    """Seconds every API request waits before its answer."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        accept = self.headers.get("Accept", "")
        if url.path == "/_log":
            with self.server.lock:
                served, self.server.log = self.server.log, []
            self._send(200, json.dumps(served).encode())
            return
        if url.path == "/_latency":
            self.server.latency = float(parse_qs(url.query)["ms"][0]) / 1000
            self._send(200, b"{}")
            return
        with self.server.lock:
            self.server.log.append((self.path, accept))
        if self.server.latency:
            time.sleep(self.server.latency)
        if url.path in self.server.discovery:
            self._send(200, self.server.discovery[url.path])
            return
        found = _list_route(url.path)
        if found is None:
            self._send(404, json.dumps(wire.status_body(
                404, "NotFound", "the server could not find the requested resource")).encode())
            return
        kind, namespace = found
        query = parse_qs(url.query)
        body = self.server.pages.page(
            kind, namespace, METADATA_ONLY in accept, int((query.get("limit") or ["0"])[0]),
            (query.get("continue") or [""])[0])
        self._send(200, body)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a benchmark's output is its figures."""


_ROUTES = {kind.list_path(): kind for kind in KNOWN_KINDS.values()}


def _list_route(path: str) -> tuple[ResourceKind, str | None] | None:
    if path in _ROUTES:
        return _ROUTES[path], None
    for kind in KNOWN_KINDS.values():
        prefix, _, plural = kind.list_path("\0").partition("\0")
        if kind.namespaced and path.startswith(prefix) and path.endswith(plural):
            namespace = path[len(prefix): len(path) - len(plural)]
            if namespace and "/" not in namespace:
                return kind, namespace
    return None


def _discovery() -> dict[str, bytes]:
    by_version: dict[str, list[ResourceKind]] = {}
    for kind in KNOWN_KINDS.values():
        by_version.setdefault(kind.api_version, []).append(kind)
    documents: dict[str, Any] = {"/version": wire.VERSION, "/api": wire.api_versions(),
                                 "/apis": wire.api_group_list(by_version)}
    for version, kinds in by_version.items():
        path = "/api/v1" if version == "v1" else f"/apis/{version}"
        documents[path] = wire.api_resource_list(version, kinds)
    return {path: json.dumps(document).encode() for path, document in documents.items()}


def snapshot_list(objects: Mapping[str, list[Obj]]) -> Obj:
    """The cluster as a ``v1 List`` with what ``k8sdoctor snapshot`` records about it."""
    listed = sorted(kind for kind in KNOWN_KINDS)
    return {"apiVersion": "v1", "kind": "List",
            "metadata": {"annotations": {CAPTURED_AT: NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                         LISTED_KINDS: ",".join(listed)}},
            "items": [obj for kind in sorted(objects) for obj in objects[kind]]}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pods", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--page-size", type=int, default=1000,
                        help="the page size to encode before serving (others on first use)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="milliseconds every API request waits before its answer, as a "
                        "remote API server's would (default 0: at once)")
    args = parser.parse_args()
    cluster = build(args.pods)
    events = startup_events(cluster)
    objects = dict(cluster.objects)
    snapshot = args.dir / "snapshot.json"
    # before the pages: serving adds managedFields, which kubectl leaves out of what it prints
    snapshot.write_text(json.dumps(snapshot_list(objects), separators=(",", ":")))
    pages = Pages(objects)
    pages.warm(args.page_size)
    server = Server(("127.0.0.1", 0), Handler)
    server.pages, server.discovery = pages, _discovery()
    server.log, server.lock = [], threading.Lock()
    server.latency = args.latency_ms / 1000
    url = f"http://127.0.0.1:{server.server_address[1]}"
    kubeconfig = write_kubeconfig(args.dir / "kubeconfig", url, user={"token": TOKEN})
    list_bytes = sum(map(len, pages._encoded.values()))
    print(json.dumps({
        "url": url, "kubeconfig": str(kubeconfig), "snapshot": str(snapshot),
        "snapshot_bytes": snapshot.stat().st_size, "list_bytes": list_bytes,
        "pods": len(objects.get("Pod", ())), "events": len(objects.get("Event", ())),
        "startup_events": events, "objects": sum(map(len, objects.values())),
    }), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=0.1)


if __name__ == "__main__":
    main()
