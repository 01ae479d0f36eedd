"""The fake Kubernetes API server: real HTTP (or HTTPS) on 127.0.0.1, a thread per connection.

It routes paths as kube-apiserver does (discovery, Lists all-namespaces and namespaced, single
objects, pod logs), filters by namespace and ``labelSelector``, pages with ``limit``/``continue``,
checks a bearer token or a client certificate, and records every request. ``inject`` makes any
path fail or stall; ``throttle`` makes it answer as API Priority and Fairness does when the
server is saturated (429 with ``Retry-After``).
"""

from __future__ import annotations

import email.utils
import json
import ssl
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from k8sdoctor.cluster.kinds import KNOWN_KINDS, ResourceKind
from k8sdoctor.cluster.selectors import matches_selector_string, parse_selector
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import Scope
from tests.fakeapi import wire


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it, and what it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    accept: str
    status: int = 0
    body: bytes = b""

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Fault:
    """An injected failure or stall on one path."""

    status: int | None
    """None: answer normally (after ``delay``)."""
    message: str = ""
    reason: str = ""
    query: Mapping[str, str | None] = field(default_factory=dict)
    """Only requests whose query has these values (None: any value)."""
    delay: float = 0.0
    times: int | None = None
    """How many requests it hits; None for all."""
    details: Mapping[str, str] | None = None
    """The ``Status`` details (kube-apiserver names the resource in a 403's)."""
    body: bytes | None = None
    """Answer with this body as it is (status 200 unless ``status`` says otherwise)."""
    content_type: str = "application/json"
    cut_at: int | None = None
    """Send only this many bytes of the body, although Content-Length announces all of it, and
    close the connection: a response cut short."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """More response headers (``Retry-After``)."""

    def matches(self, query: Mapping[str, list[str]]) -> bool:
        return (self.times is None or self.times > 0) and all(
            key in query and (value is None or value in query[key])
            for key, value in self.query.items()
        )


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA that signs client certificates, the server's certificate and key."""

    ca: Path
    cert: Path
    key: Path


class FakeApiServer:
    """Start with ``start()`` or ``with``; ``url`` is where it listens."""

    def __init__(
        self,
        objects: Iterable[Mapping[str, Any]] = (),
        *,
        token: str | None = None,
        tls: TlsFiles | None = None,
        require_client_cert: bool = False,
        not_served: Iterable[str] = wire.NOT_SERVED_BY_DEFAULT,
        keep_bodies: bool = True,
    ) -> None:
        self.token = token
        self.tls = tls
        self.require_client_cert = require_client_cert
        self.not_served = set(not_served)
        self.keep_bodies = keep_bodies
        """Keep response bodies in the request log; off for big benchmarks."""
        self.version = dict(wire.VERSION)
        self.date: datetime | None = None
        """The time the ``Date`` header of every answer gives; None for the real time."""
        self.requests: list[RecordedRequest] = []
        self.most_at_once = 0
        """The most requests the server was answering at the same moment."""
        self._at_once = 0
        self._objects: dict[str, list[dict[str, Any]]] = {}
        self._logs: dict[tuple[str, str, str, bool], str] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._resource_version = 1000
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add(objects)

    # -- content --------------------------------------------------------------------------------

    def add(self, objects: Iterable[Mapping[str, Any]]) -> None:
        with self._lock:
            for obj in objects:
                self._objects.setdefault(obj["kind"], []).append(dict(obj))
                self._resource_version += 1

    def load(self, path: str | Path) -> None:
        """Serve every object of a snapshot-style YAML/JSON file or directory."""
        state = SnapshotSource(str(path)).load((), Scope()).state
        self.add(obj for kind in sorted(state.kinds) for obj in state.objects(kind))

    def objects(self, kind: str) -> list[dict[str, Any]]:
        return list(self._objects.get(kind, ()))

    def set_logs(self, namespace: str, pod: str, container: str, text: str, *,
                 previous: bool = False) -> None:
        self._logs[(namespace, pod, container, previous)] = text

    def inject(self, path: str, status: int | None, message: str = "", reason: str = "",
               **options: Any) -> Fault:
        """Answer GETs of ``path`` with ``status`` and a ``Status`` body (see ``Fault``)."""
        fault = Fault(status, message, reason, **options)
        self._faults.setdefault(path, []).append(fault)
        return fault

    def throttle(self, path: str, retry_after: str | None = "1", **options: Any) -> Fault:
        """API Priority and Fairness turns GETs of ``path`` away, as kube-apiserver words it:
        ``429``, ``Retry-After`` (None: left out) and a plain-text body (see ``Fault`` for
        ``times`` and ``query``)."""
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        return self.inject(path, 429, body=b"Too many requests, please try again later.\n",
                           content_type="text/plain; charset=utf-8", headers=headers, **options)

    def forbid(self, kind: str, namespace: str | None = None) -> None:
        """RBAC denies listing ``kind`` (all namespaces, or in ``namespace``)."""
        resource = KNOWN_KINDS[kind]
        details = {"group": resource.group} if resource.group else {}
        self.inject(resource.list_path(namespace), 403,
                    wire.forbidden_message(kind, namespace), "Forbidden",
                    details={**details, "kind": resource.plural})

    # -- what was asked -------------------------------------------------------------------------

    def list_requests(self) -> list[RecordedRequest]:
        """Requests for a resource collection (not discovery, logs or single objects)."""
        return [r for r in self.requests if self._route(r.path)[0] == "list"]

    def listed_paths(self) -> list[str]:
        return [r.path for r in self.list_requests()]


    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._httpd is not None, "the fake API server is not started"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> FakeApiServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.api = self
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert, self.tls.key)
            if self.require_client_cert:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(self.tls.ca)
            httpd.ssl_context = context
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="fake-api",
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- routing --------------------------------------------------------------------------------

    def served_resources(self) -> dict[str, list[ResourceKind]]:
        """Resources by group/version, as discovery lists them."""
        by_version: dict[str, list[ResourceKind]] = {}
        for resource in KNOWN_KINDS.values():
            if resource.api_version not in self.not_served:
                by_version.setdefault(resource.api_version, []).append(resource)
        return by_version

    def _route(self, path: str) -> tuple[str, dict[str, Any]]:
        """(what, arguments) for a request path; ``what`` is "version", "discovery", "list",
        "get", "log", "no-group" or "no-resource"."""
        parts = [p for p in path.split("/") if p]
        if parts == ["version"]:
            return "version", {}
        if parts in (["api"], ["apis"]):
            return "discovery", {"root": parts[0]}
        if len(parts) >= 2 and parts[0] == "api":
            group_version, rest = parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group_version, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        else:
            return "no-group", {}
        resources = self.served_resources().get(group_version)
        if resources is None:
            return "no-group", {}
        if not rest:
            return "discovery", {"group_version": group_version}
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        by_plural = {r.plural: r for r in resources}
        resource = by_plural.get(rest[0])
        if resource is None or (namespace and not resource.namespaced):
            return "no-resource", {}
        arguments = {"resource": resource, "namespace": namespace}
        if len(rest) == 1:
            return "list", arguments
        if len(rest) == 2:
            return "get", {**arguments, "name": rest[1]}
        if len(rest) == 3 and resource.kind == "Pod" and rest[2] == "log" and namespace:
            return "log", {**arguments, "name": rest[1]}
        return "no-resource", {}

    def _fault_for(self, path: str, query: Mapping[str, list[str]]) -> Fault | None:
        with self._lock:
            for fault in self._faults.get(path, ()):
                if fault.matches(query):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _respond(self, path: str, query: Mapping[str, list[str]], accept: str
                 ) -> tuple[int, str, bytes]:
        what, arguments = self._route(path)
        if what == "version":
            return _json(200, self.version)
        if what == "discovery":
            return _json(200, self._discovery(**arguments))
        if what == "no-group":
            return 404, "text/plain; charset=utf-8", b"404 page not found\n"
        if what == "no-resource":
            return _json(404, wire.status_body(404, "NotFound",
                                          "the server could not find the requested resource",
                                          {}))
        if what == "list":
            return self._list(arguments["resource"], arguments["namespace"], query, accept)
        if what == "get":
            return self._get(**arguments)
        return self._log(arguments["namespace"], arguments["name"], query)

    def _discovery(self, root: str | None = None, group_version: str | None = None) -> dict:
        served = self.served_resources()
        if root == "api":
            return wire.api_versions()
        if root == "apis":
            return wire.api_group_list(served)
        assert group_version is not None
        return wire.api_resource_list(group_version, served[group_version])

    def _list(self, resource: ResourceKind, namespace: str | None,
              query: Mapping[str, list[str]], accept: str) -> tuple[int, str, bytes]:
        items = self._objects.get(resource.kind, [])
        if namespace:
            items = [o for o in items if o["metadata"].get("namespace") == namespace]
        selector = (query.get("labelSelector") or [""])[0]
        if selector:
            try:
                requirements = parse_selector(selector)
            except ValueError as err:
                return _json(400, wire.status_body(400, "BadRequest",
                                              f"unable to parse requirement: {err}"))
            items = [o for o in items
                     if matches_selector_string(requirements, o["metadata"].get("labels"))]
        items = sorted(items, key=wire.object_key)
        metadata: dict[str, Any] = {"resourceVersion": str(self._resource_version)}
        token = (query.get("continue") or [""])[0]
        if token:
            start = wire.continue_start(token)
            items = [o for o in items if wire.object_key(o) >= start]
        limit = int((query.get("limit") or ["0"])[0])
        if 0 < limit < len(items):
            metadata["continue"] = wire.continue_token(self._resource_version, items[limit - 1])
            if not selector:
                metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if "as=PartialObjectMetadataList" in accept:
            return _json(200, wire.partial_metadata_list(items, metadata),
                         content_type=accept.split(",")[0].strip())
        return _json(200, wire.list_document(resource, items, metadata))

    def _get(self, resource: ResourceKind, namespace: str | None, name: str
             ) -> tuple[int, str, bytes]:
        for obj in self._objects.get(resource.kind, ()):
            meta = obj["metadata"]
            if meta.get("name") == name and meta.get("namespace") == namespace:
                return _json(200, obj)
        return _json(404, wire.status_body(404, "NotFound", f'{resource.plural} "{name}" not found',
                                      {"name": name, "kind": resource.plural}))

    def _log(self, namespace: str, pod: str, query: Mapping[str, list[str]]
             ) -> tuple[int, str, bytes]:
        status, content_type, body = self._get(KNOWN_KINDS["Pod"], namespace, pod)
        if status != 200:
            return status, content_type, body
        containers = [c["name"] for c in json.loads(body)["spec"].get("containers", ())]
        container = (query.get("container") or [""])[0]
        if not container:
            if len(containers) != 1:
                return _json(400, wire.status_body(400, "BadRequest", (
                    f"a container name must be specified for pod {pod}, choose one of: "
                    f"[{' '.join(containers)}]")))
            container = containers[0]
        if container not in containers:
            return _json(400, wire.status_body(400, "BadRequest",
                                          f"container {container} is not valid for pod {pod}"))
        previous = (query.get("previous") or ["false"])[0] == "true"
        text = self._logs.get((namespace, pod, container, previous))
        if text is None and previous:
            return _json(400, wire.status_body(400, "BadRequest", (
                f'previous terminated container "{container}" in pod "{pod}" not found')))
        lines = (text or "").splitlines(keepends=True)
        tail = (query.get("tailLines") or [""])[0]
        if tail:
            lines = lines[-int(tail):] if int(tail) else []
        return 200, "text/plain", "".join(lines).encode()

    # -- one request ----------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> tuple[int, str, bytes]:
        url = urlsplit(handler.path)
        query = parse_qs(url.query, keep_blank_values=True)
        accept = handler.headers.get("Accept", "")
        with self._lock:
            self._at_once += 1
            self.most_at_once = max(self.most_at_once, self._at_once)
        try:
            status, content_type, body = self._answer(handler, url.path, query, accept)
        finally:
            with self._lock:
                self._at_once -= 1
        with self._lock:
            self.requests.append(RecordedRequest(
                handler.command, url.path, query, accept, status,
                body if self.keep_bodies else b""))
        return status, content_type, body

    def _answer(self, handler: _Handler, path: str, query: Mapping[str, list[str]],
                accept: str) -> tuple[int, str, bytes]:
        if handler.command != "GET":
            return _json(405, wire.status_body(405, "MethodNotAllowed",
                                          f"{handler.command} is not supported"))
        if self.token is not None and handler.headers.get("Authorization") != (
            f"Bearer {self.token}"
        ):
            return _json(401, wire.status_body(401, "Unauthorized", "Unauthorized"))
        fault = self._fault_for(path, query)
        if fault is not None:
            time.sleep(fault.delay)
            handler.extra_headers = dict(fault.headers)
            if fault.body is not None:
                handler.cut_at = fault.cut_at
                return fault.status or 200, fault.content_type, fault.body
            if fault.status is not None:
                return _json(fault.status, wire.status_body(fault.status, fault.reason,
                                                            fault.message, fault.details))
        return self._respond(path, query, accept)


def _json(status: int, document: Any, content_type: str = "application/json"
          ) -> tuple[int, str, bytes]:
    # kube-apiserver's JSON encoder ends every document with a newline.
    return status, content_type, json.dumps(document, separators=(",", ":")).encode() + b"\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    api: FakeApiServer
    ssl_context: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the request's own thread, so one bad client cannot
        # stall the others and a failed handshake is just a closed connection.
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                request.close()
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-answer are normal in tests; stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm the second waits for the
    # client's delayed ACK of the first, 40 ms a response.
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.cut_at: int | None = None
        self.extra_headers: dict[str, str] = {}
        status, content_type, body = self.server.api._handle(self)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.cut_at is None:
            self.wfile.write(body)
            return
        self.wfile.write(body[: self.cut_at])
        self.wfile.flush()
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def date_time_string(self, timestamp: float | None = None) -> str:
        fixed = self.server.api.date
        if fixed is None:
            return super().date_time_string(timestamp)
        return email.utils.format_datetime(fixed.astimezone(timezone.utc), usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        """The request log is ``FakeApiServer.requests``; nothing goes to stderr."""
