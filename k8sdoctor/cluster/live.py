"""Live source: one List per needed kind from a running API server, read as plain JSON.

Requests go through the official client's ``ApiClient`` (so authentication, TLS and proxies behave
as the kubeconfig says) with the response left unparsed: the body is decoded as JSON dicts, which
is many times faster and smaller than the client's generated model classes. The server's version
and discovery are read first; a kind whose group/version is not served (no Gateway API CRDs, no
metrics-server) is skipped without a request. Then each kind is listed once, concurrently and in
pages, within the ``-n``/``-l`` scope. Secrets are listed as ``PartialObjectMetadata``: their values
are never downloaded. ``managedFields`` are dropped, as ``kubectl get`` does. Only GET requests are
ever issued.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import datetime, timezone
from typing import Any

import orjson

from k8sdoctor import __version__
from k8sdoctor.cluster.kinds import KNOWN_KINDS, ResourceKind, metadata_view
from k8sdoctor.cluster.selectors import parse_selector
from k8sdoctor.cluster.source import FetchError, LoadResult, gc_paused
from k8sdoctor.cluster.state import ClusterState, K8sObject, Scope
from k8sdoctor.errors import BadInputError, ClusterUnreachableError

JSON = "application/json"
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

Query = Sequence[tuple[str, str | int]]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LogsUnavailableError(Exception):
    """The server would not give a container's logs (no previous run, pod gone, forbidden)."""


class _HttpError(Exception):
    """An error status from the server, with the ``Status`` reason and message it sent."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(status, reason, message)
        self.status, self.reason, self.message = status, reason, message

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}" if self.reason else (
            f"{self.status}: {self.message}"
        )


class LiveSource:
    """Reads a cluster through its API server, as ``kubeconfig``/``context`` (or the pod's service
    account) say. The connection stays open after ``load`` for log requests; ``close`` ends it."""

    def __init__(
        self,
        kubeconfig: str | None = None,
        context: str | None = None,
        *,
        max_workers: int = 8,
        page_size: int = 500,
        request_timeout: float = 30.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.max_workers = max(1, max_workers)
        self.page_size = max(1, page_size)
        self.request_timeout = request_timeout
        self.clock = clock
        """The state's "now"; the wall clock, unless a test fixes it."""
        self.server_version: str | None = None
        """The server's ``gitVersion``, once ``load`` has run."""
        self._lock = threading.Lock()
        self._client: Any = None
        self._server = ""
        self._label = ""

    # -- the ClusterSource protocol -------------------------------------------------------------

    def load(self, kinds: Collection[str], scope: Scope) -> LoadResult:
        if scope.selector:
            try:
                parse_selector(scope.selector)
            except ValueError as err:
                raise BadInputError(f"--selector: {err}") from None
        wanted = sorted((KNOWN_KINDS[k] for k in set(kinds) if k in KNOWN_KINDS),
                        key=lambda k: k.kind)
        self._connect()
        self.server_version = self._server_version()
        served = self._served_group_versions()
        now = self.clock()
        to_list = [k for k in wanted if k.api_version in served]
        objects: dict[str, list[K8sObject]] = {}
        errors: list[FetchError] = []
        if to_list:
            with gc_paused(), ThreadPoolExecutor(min(self.max_workers, len(to_list)),
                                                  thread_name_prefix="k8sdoctor-list") as pool:
                futures = {pool.submit(self._list_kind, k, scope): k for k in to_list}
                self._collect(futures, objects, errors)
        state = ClusterState(objects, now=now, listed_kinds=set(objects), scope=scope,
                             source=self._label)
        return LoadResult(state, tuple(sorted(errors, key=lambda e: e.kind)))

    # -- logs, for the explain stage ------------------------------------------------------------

    def previous_logs(self, namespace: str, pod: str, container: str, lines: int = 50) -> list[str]:
        """The last ``lines`` lines the previous (crashed) run of ``container`` wrote."""
        return self.container_logs(namespace, pod, container, previous=True, lines=lines)

    def container_logs(
        self, namespace: str, pod: str, container: str, *, previous: bool = False, lines: int = 50
    ) -> list[str]:
        """The last ``lines`` log lines of ``container``.

        Raises ``LogsUnavailableError`` with the server's message when there are none to give (no
        previous run, pod gone, forbidden), and with the reason when the cluster cannot be
        reached: missing logs make an explanation poorer, they never end a run.
        """
        query: list[tuple[str, str | int]] = [("container", container), ("tailLines", lines)]
        if previous:
            query.append(("previous", "true"))
        try:
            self._connect()
            body = self._get(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query, "*/*")
        except _HttpError as err:
            raise LogsUnavailableError(err.message) from None
        except ClusterUnreachableError as err:
            raise LogsUnavailableError(str(err)) from None
        return body.decode("utf-8", errors="replace").splitlines()

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> LiveSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- connecting and discovery ---------------------------------------------------------------

    def _connect(self) -> None:
        with self._lock:
            if self._client is not None:
                return
            import urllib3
            from kubernetes.client import ApiClient

            from k8sdoctor.cluster.kubeconfig import connect

            connection = connect(self.kubeconfig, self.context)
            configuration = connection.configuration
            configuration.connection_pool_maxsize = max(self.max_workers, 4)
            configuration.retries = urllib3.Retry(total=2, connect=1, read=1, backoff_factor=0.2)
            if not configuration.verify_ssl:
                # The user chose insecure-skip-tls-verify; do not warn on every request.
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            client = ApiClient(configuration)
            client.user_agent = f"k8sdoctor/{__version__}"
            self._client = client
            self._server, self._label = connection.server, connection.label

    def _server_version(self) -> str:
        try:
            version = self._get_json("/version", ()).get("gitVersion")
        except _HttpError as err:
            if err.status != 200:
                raise self._refused(err) from None
            version = None
        if not isinstance(version, str):
            raise self._unreachable("it does not answer /version as a Kubernetes API server does",
                                    "check the server address in the kubeconfig")
        return version

    def _served_group_versions(self) -> set[str]:
        """``v1``, ``apps/v1``, ``gateway.networking.k8s.io/v1``...: what discovery lists."""
        served: set[str] = set()
        for path in ("/api", "/apis"):
            try:
                document = self._get_json(path, ())
            except _HttpError as err:
                raise self._refused(err) from None
            served.update(document.get("versions") or ())
            for group in document.get("groups") or ():
                served.update(v.get("groupVersion", "") for v in group.get("versions") or ())
        return served

    # -- listing --------------------------------------------------------------------------------

    def _collect(
        self,
        futures: dict[Future[list[K8sObject] | None], ResourceKind],
        objects: dict[str, list[K8sObject]],
        errors: list[FetchError],
    ) -> None:
        for future in as_completed(futures):
            kind = futures[future]
            try:
                items = future.result()
            except _HttpError as err:
                errors.append(FetchError(kind.kind, _fetch_problem(err)))
                continue
            except ClusterUnreachableError:
                for other in futures:
                    other.cancel()
                raise
            if items is not None:
                objects[kind.kind] = items

    def _list_kind(self, kind: ResourceKind, scope: Scope) -> list[K8sObject] | None:
        """Every object of ``kind`` in scope, page by page; None when the server does not serve
        the resource (404)."""
        path = kind.list_path(scope.namespace)
        accept = METADATA_ONLY if kind.metadata_only else JSON
        base: list[tuple[str, str | int]] = []
        if scope.selector and kind.label_selectable:
            base.append(("labelSelector", scope.selector))
        items: list[K8sObject] = []
        token = ""
        while True:
            query = [*base, ("limit", self.page_size)] + ([("continue", token)] if token else [])
            try:
                page = self._get_json(path, query, accept)
            except _HttpError as err:
                if err.status == 404:
                    return None
                if err.status != 410 or not token:
                    raise
                # The continue token expired mid-list (etcd compaction): start again with one
                # unpaginated list, as client-go's pager does.
                page, items = self._get_json(path, base, accept), []
            items.extend(_as_objects(kind, page.get("items") or ()))
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return items

    # -- HTTP -----------------------------------------------------------------------------------

    def _get_json(self, path: str, query: Query, accept: str = JSON) -> dict[str, Any]:
        """A JSON object from a successful GET; a body that is not one is a 200 ``_HttpError``."""
        body = self._get(path, query, accept)
        try:
            document = orjson.loads(body)
        except ValueError:
            raise _HttpError(200, "", f"GET {path} did not return JSON") from None
        if not isinstance(document, dict):
            raise _HttpError(200, "", f"GET {path} did not return a JSON object")
        return document

    def _get(self, path: str, query: Query, accept: str) -> bytes:
        """The body of a successful GET; ``_HttpError`` for an error status. A 401 or a connection
        failure ends the run with ``ClusterUnreachableError``."""
        status, body = self._request(path, query, accept)
        if 200 <= status < 300:
            return body
        error = _http_error(status, body)
        if status == 401:
            raise self._refused(error)
        raise error

    def _request(self, path: str, query: Query, accept: str) -> tuple[int, bytes]:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        client = self._client
        headers = {"Accept": accept}
        timeout = (min(10.0, self.request_timeout), self.request_timeout)
        try:
            if hasattr(client, "param_serialize"):
                method, url, header_params, _, _ = client.param_serialize(
                    "GET", path, query_params=list(query), header_params=headers,
                    auth_settings=["BearerToken"],
                )
                response = client.call_api(method, url, header_params, _request_timeout=timeout)
                return response.status, response.read() or b""
            # Clients before 36 (python-legacy generator): raw response, errors raised.
            response = client.call_api(
                path, "GET", query_params=list(query), header_params=headers,
                auth_settings=["BearerToken"], _preload_content=False,
                _return_http_data_only=True, _request_timeout=timeout,
            )
            return response.status, response.data or b""
        except ApiException as err:
            if err.status:
                body = err.body or b""
                return err.status, body.encode() if isinstance(body, str) else body
            # The client turns a TLS failure into a status-less ApiException.
            raise self._unreachable(f"TLS failed: {_one_line(err.reason)}", _TLS_HINT) from None
        except urllib3.exceptions.HTTPError as err:
            problem, hint = _connection_problem(err, self.request_timeout)
            raise self._unreachable(problem, hint) from None

    # -- messages -------------------------------------------------------------------------------

    def _where(self) -> str:
        return self._server if self._label == self._server else f"{self._server} ({self._label})"

    def _unreachable(self, problem: str, hint: str) -> ClusterUnreachableError:
        return ClusterUnreachableError(
            f"cannot reach the Kubernetes API server at {self._where()}: {problem}; {hint}"
        )

    def _refused(self, error: _HttpError) -> ClusterUnreachableError:
        if error.status == 401:
            return ClusterUnreachableError(
                f"the Kubernetes API server at {self._where()} rejected the credentials "
                f"(401 Unauthorized: {error.message}); log in again or fix the kubeconfig user"
            )
        return ClusterUnreachableError(
            f"the Kubernetes API server at {self._where()} answered {error}; check the "
            "kubeconfig's server address and user"
        )


_REACH_HINT = "check that the cluster is running and the kubeconfig's server address is right"
_TLS_HINT = ("check the kubeconfig's certificate-authority and client certificate, and that the "
             "server speaks HTTPS")


def _connection_problem(err: Exception, timeout: float) -> tuple[str, str]:
    """A short description of a connection failure, and a hint at the fix."""
    import urllib3.exceptions as ex

    cause: BaseException = err
    if isinstance(err, ex.MaxRetryError) and err.reason is not None:
        cause = err.reason
    name_resolution = getattr(ex, "NameResolutionError", ())
    if isinstance(cause, ex.SSLError):
        return f"TLS failed: {_one_line(cause)}", _TLS_HINT
    if isinstance(cause, ex.ProxyError):
        return f"the proxy failed: {_one_line(cause.__cause__ or cause)}", _REACH_HINT
    if isinstance(cause, name_resolution):
        return "the host name does not resolve", _REACH_HINT
    if isinstance(cause, ex.NewConnectionError):
        origin = cause.__cause__ or cause.__context__
        detail = getattr(origin, "strerror", None) or str(cause).rsplit(": ", 1)[-1]
        return _one_line(detail).lower(), _REACH_HINT
    if isinstance(cause, ex.ConnectTimeoutError):
        return "the connection timed out", _REACH_HINT
    if isinstance(cause, ex.ReadTimeoutError):
        return f"no answer within {timeout:g}s", _REACH_HINT
    return _one_line(cause), _REACH_HINT


def _http_error(status: int, body: bytes) -> _HttpError:
    """The server's own words for an error: a ``Status`` object's reason and message, or the
    text it sent."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict) and document.get("kind") == "Status":
        return _HttpError(status, str(document.get("reason") or ""),
                          _one_line(document.get("message") or text))
    return _HttpError(status, "", _one_line(text) or "no message")


def _fetch_problem(err: _HttpError) -> str:
    if err.status == 403:
        return f"forbidden: {err.message}"
    if err.status == 200:
        return err.message
    return f"the server answered {err}"


def _as_objects(kind: ResourceKind, items: Iterable[dict[str, Any]]) -> list[K8sObject]:
    """A page's items as whole objects: ``apiVersion`` and ``kind`` set (lists leave them out),
    no ``managedFields``, and for metadata-only kinds nothing but metadata.

    The items come fresh from the parser and nothing else holds them, so they are completed in
    place rather than copied: ``apiVersion`` and ``kind`` come last in them (``snapshot``
    writes them first again)."""
    api_version, name, metadata_only = kind.api_version, kind.kind, kind.metadata_only
    objects: list[K8sObject] = []
    for item in items:
        metadata = item.get("metadata")
        if not isinstance(metadata, dict):
            metadata = item["metadata"] = {}
        metadata.pop("managedFields", None)
        if metadata_only:
            objects.append(metadata_view(kind, metadata))
            continue
        item["apiVersion"], item["kind"] = api_version, name
        objects.append(item)
    return objects


def _one_line(text: object, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
