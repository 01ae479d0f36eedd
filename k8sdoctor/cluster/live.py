"""Live source: one List per needed kind from a running API server, read as plain JSON.

Requests go through the official client's ``ApiClient`` (so authentication, TLS and proxies behave
as the kubeconfig says) with the response left unparsed: the body is decoded as JSON dicts, which
is many times faster and smaller than the client's generated model classes. The server's version
and discovery are read first; a kind whose group/version is not served (no Gateway API CRDs, no
metrics-server) is skipped without a request. Then each kind is listed once, concurrently and in
pages, within the ``-n``/``-l`` scope. Secrets are listed as ``PartialObjectMetadata``: their values
are never downloaded. ``managedFields`` are cut off, as ``kubectl get`` does (``list_items``).
Only GET requests are ever issued; one the server answers with "retry later" (a 429 from API
Priority and Fairness, a 5xx with ``Retry-After``) is asked again after the wait it names
(``throttle``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout
from datetime import datetime, timezone
from typing import Any

import orjson

from k8sdoctor import __version__
from k8sdoctor.cluster import server_time
from k8sdoctor.cluster.durations import format_seconds
from k8sdoctor.cluster.fetch_problems import (
    REACH_HINT,
    TLS_HINT,
    BrokenBody,
    HttpError,
    Unanswered,
    connection_problem,
    fetch_problem,
    first_words,
    http_error,
    one_line,
    request_unanswered,
)
from k8sdoctor.cluster.kinds import KNOWN_KINDS, ResourceKind
from k8sdoctor.cluster.list_items import CutOffs, take_items
from k8sdoctor.cluster.selectors import parse_selector
from k8sdoctor.cluster.source import FetchError, LoadResult, gc_paused
from k8sdoctor.cluster.state import ClusterState, K8sObject, Scope
from k8sdoctor.cluster.throttle import RetryPolicy, Throttled, Tries, retry_after_of
from k8sdoctor.cluster.validate import Rejected
from k8sdoctor.errors import BadInputError, ClusterUnreachableError

JSON = "application/json"
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"

Query = Sequence[tuple[str, str | int]]
Listed = tuple[list[K8sObject], list[Rejected]]
"""A kind's objects, and the items dropped for their shape."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class LogsUnavailableError(Exception):
    """The server would not give a container's logs (no previous run, pod gone, forbidden)."""


class LiveSource:
    """Reads a cluster through its API server, as ``kubeconfig``/``context`` (or the pod's service
    account) say. The connection stays open after ``load`` for log requests; ``close`` ends it."""

    def __init__(
        self,
        kubeconfig: str | None = None,
        context: str | None = None,
        *,
        max_workers: int = 4,
        page_size: int = 1000,
        request_timeout: float | None = 30.0,
        fetch_timeout: float | None = 300.0,
        clock: Callable[[], datetime] | None = None,
        retry: RetryPolicy | None = None,
        hold_bytes: int = 0,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self.max_workers = max(1, max_workers)
        """Kinds listed at once (``--fetch-concurrency``): four are as fast as more, near or far,
        and hold half the API server's seats eight would (``benchmarks/RESULTS.md``)."""
        self.page_size = max(1, page_size)
        """Objects per page: 1000 halves a kind's chain of round trips (a fifth to a third off
        at 50 ms), at no more seats per request than kubectl's 500 (``benchmarks/RESULTS.md``)."""
        self.request_timeout = request_timeout or None
        """Seconds one request may wait for its answer (``--request-timeout``); None: no limit."""
        self.fetch_timeout = fetch_timeout or None
        """Seconds the whole fetch may take (``--fetch-timeout``); None: no limit. What is not
        listed by then is reported as not checked."""
        self._deadline: float | None = None
        self.hold_bytes = hold_bytes
        """Of how many bytes of List pages the ``managedFields`` cut off the items are held with
        the state rather than freed page by page (``list_items.CutOffs``): worth it only to a
        process that exits without freeing the state, as the CLI's one-shot commands do; 0, the
        default, frees them at once."""
        self.retry = retry or RetryPolicy()
        """How answers asking to be retried later (429, 5xx with ``Retry-After``) are waited for."""
        self.clock = clock
        """The state's "now" when given (a test fixes it); otherwise the API server's ``Date``
        header, or this machine's clock when the server sends none."""
        self._server_date: datetime | None = None
        self.server_version: str | None = None
        """The server's ``gitVersion``, once ``load`` has run."""
        self._lock = threading.Lock()
        self._logs_read: dict[tuple[str, str, str, bool], tuple[int, list[str]]] = {}
        """Log tails already read, with how many lines were asked for: the crash evidence and
        the explain stage look at the same crashed containers, and each is read once."""
        self._client: Any = None
        self._server = ""
        self._label = ""

    # -- the ClusterSource protocol -------------------------------------------------------------

    def load(self, kinds: Collection[str], scope: Scope) -> LoadResult:
        try:
            return self._load(kinds, scope)
        finally:
            self._deadline = None  # later log requests have only --request-timeout

    def _load(self, kinds: Collection[str], scope: Scope) -> LoadResult:
        if scope.selector:
            try:
                parse_selector(scope.selector)
            except ValueError as err:
                raise BadInputError(f"--selector: {err}") from None
        wanted = sorted((KNOWN_KINDS[k] for k in set(kinds) if k in KNOWN_KINDS),
                        key=lambda k: k.kind)
        self._connect()
        self._deadline = None if self.fetch_timeout is None else (
            time.monotonic() + self.fetch_timeout)
        self.server_version = self._server_version()
        served = self._served_group_versions()
        now, clock_source = self._now()
        to_list = [k for k in wanted if k.api_version in served]
        cut_offs = CutOffs(self.hold_bytes)
        objects: dict[str, list[K8sObject]] = {}
        dropped: list[Rejected] = []
        errors: list[FetchError] = []
        if to_list:
            pool = ThreadPoolExecutor(min(self.max_workers, len(to_list)),
                                      thread_name_prefix="k8sdoctor-list")
            try:
                with gc_paused():
                    futures = {pool.submit(self._list_kind, k, scope, cut_offs): k
                               for k in to_list}
                    self._collect(futures, objects, dropped, errors)
            finally:
                # past the deadline, requests still under way are left to end on their own
                pool.shutdown(wait=False, cancel_futures=True)
        state = ClusterState(objects, now=now, listed_kinds=set(objects), scope=scope,
                             source=self._label,
                             partly_read=[(r.kind, r.namespace) for r in dropped], held=cut_offs)
        return LoadResult(state, tuple(sorted(errors, key=lambda e: e.kind)),
                          missing_namespaces=self._missing_namespaces(scope),
                          clock_source=clock_source)

    def _now(self) -> tuple[datetime, str]:
        """The run's "now" and where it came from (``server_time.SOURCES``)."""
        if self.clock is not None:
            return self.clock(), server_time.LOCAL_CLOCK
        if self._server_date is not None:
            return self._server_date, server_time.API_SERVER
        return _utc_now(), server_time.LOCAL_CLOCK

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
        key = (namespace, pod, container, previous)
        read = self._logs_read.get(key)
        if read is not None and read[0] >= lines:
            return read[1][-lines:] if lines else []
        query: list[tuple[str, str | int]] = [("container", container), ("tailLines", lines)]
        if previous:
            query.append(("previous", "true"))
        try:
            self._connect()
            body = self._get(f"/api/v1/namespaces/{namespace}/pods/{pod}/log", query, "*/*")
        except HttpError as err:
            raise LogsUnavailableError(err.message) from None
        except Unanswered as err:
            raise LogsUnavailableError(str(err)) from None
        except ClusterUnreachableError as err:
            raise LogsUnavailableError(str(err)) from None
        tail = body.decode("utf-8", errors="replace").splitlines()
        self._logs_read[key] = (lines, tail)
        return tail

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
            # No silent read retry: a request waits --request-timeout once, as messages say.
            # "Retry later" answers (429, 5xx with Retry-After) are waited for in _get, within
            # the fetch's deadline: neither urllib3 (which would retry once, then fail the
            # connection) nor the client's own loop (kubernetes 37, opt-in) may take them.
            configuration.retries = urllib3.Retry(total=1, connect=1, read=False, status=0,
                                                  backoff_factor=0.2,
                                                  respect_retry_after_header=False)
            configuration.client_go_retries = False
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
        except HttpError as err:
            if err.status != 200:
                raise self._refused(err) from None
            version = None
        except Unanswered as err:
            raise self._unreachable(str(err), REACH_HINT) from None
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
            except HttpError as err:
                raise self._refused(err) from None
            except Unanswered as err:
                raise self._unreachable(str(err), REACH_HINT) from None
            served.update(document.get("versions") or ())
            for group in document.get("groups") or ():
                served.update(v.get("groupVersion", "") for v in group.get("versions") or ())
        return served

    # -- listing --------------------------------------------------------------------------------

    def _collect(
        self,
        futures: dict[Future[Listed | None], ResourceKind],
        objects: dict[str, list[K8sObject]],
        dropped: list[Rejected],
        errors: list[FetchError],
    ) -> None:
        left = None if self._deadline is None else self._deadline - time.monotonic() + 1.0
        try:
            for future in as_completed(futures, timeout=left):
                self._take(future, futures[future], objects, dropped, errors)
        except FuturesTimeout:
            for future, kind in futures.items():
                if future.done():
                    self._take(future, kind, objects, dropped, errors)
                else:
                    errors.append(FetchError(kind.kind, self._late()))
        except ClusterUnreachableError:
            for other in futures:
                other.cancel()
            raise

    def _take(
        self,
        future: Future[Listed | None],
        kind: ResourceKind,
        objects: dict[str, list[K8sObject]],
        dropped: list[Rejected],
        errors: list[FetchError],
    ) -> None:
        try:
            listed = future.result()
        except HttpError as err:
            errors.append(FetchError(kind.kind, fetch_problem(err)))
            return
        except Unanswered as err:
            errors.append(FetchError(kind.kind, f"not listed: {err}"))
            return
        if listed is not None:
            objects[kind.kind] = listed[0]
            dropped.extend(listed[1])
            errors.extend(FetchError(r.kind, r.message) for r in listed[1])

    def _missing_namespaces(self, scope: Scope) -> tuple[str, ...]:
        """The namespaces of ``-n`` the server says do not exist (a 404); one it will not show
        us (403) may well exist, so it is not named."""
        missing = []
        for namespace in scope.namespaces:
            try:
                self._get_json(f"/api/v1/namespaces/{namespace}", ())
            except HttpError as err:
                if err.status == 404:
                    missing.append(namespace)
            except Unanswered:
                continue
        return tuple(missing)

    def _list_kind(self, kind: ResourceKind, scope: Scope, cut_offs: CutOffs) -> Listed | None:
        """Every object of ``kind`` in scope (one List per namespace of ``-n``), and the items
        dropped for their shape; None when the server does not serve the resource (404)."""
        if not kind.namespaced or len(scope.namespaces) < 2:
            return self._list_path(kind, kind.list_path(scope.namespace), scope, cut_offs)
        items: list[K8sObject] = []
        dropped: list[Rejected] = []
        for namespace in scope.namespaces:
            listed = self._list_path(kind, kind.list_path(namespace), scope, cut_offs)
            if listed is None:
                return None
            items.extend(listed[0])
            dropped.extend(listed[1])
        return items, dropped

    def _list_path(self, kind: ResourceKind, path: str, scope: Scope,
                   cut_offs: CutOffs) -> Listed | None:
        """Every object at ``path``, page by page, and the items dropped for their shape; None
        when the server does not serve the resource (404). The ``managedFields`` cut off the
        items go to ``cut_offs``.

        A continue token that expires (410) starts the List again once, unpaginated, as
        client-go's pager does; a second expiry, or a token the server hands out twice, ends
        this kind's List with an error instead of a loop.
        """
        accept = METADATA_ONLY if kind.metadata_only else JSON
        base: list[tuple[str, str | int]] = []
        if scope.selector and kind.label_selectable:
            base.append(("labelSelector", scope.selector))
        items: list[K8sObject] = []
        dropped: list[Rejected] = []
        token, relisted, seen = "", False, set()
        while True:
            query = [*base, ("limit", self.page_size)] + ([("continue", token)] if token else [])
            try:
                page, size = self._page(path, query, accept)
            except HttpError as err:
                if err.status == 404:
                    return None
                if err.status != 410 or not token:
                    raise
                if relisted:
                    raise Unanswered(f"GET {path}: the continue token expired (410 Gone) "
                                      "again after a full relist") from None
                # The continue token expired mid-list (etcd compaction): start again with one
                # unpaginated list.
                relisted, seen = True, set()
                (page, size), items, dropped = self._page(path, base, accept), [], []
            take_items(kind, page.get("items") or (), path, items, dropped,
                       cut_offs.holder(size))
            metadata = page.get("metadata")
            token = (metadata.get("continue") if isinstance(metadata, dict) else None) or ""
            if not token:
                return items, dropped
            if not isinstance(token, str) or token in seen:
                raise Unanswered(f"GET {path}: the server sent the same continue token twice")
            seen.add(token)

    def _page(self, path: str, query: Query, accept: str) -> tuple[dict[str, Any], int]:
        """One page of a List, and its size in bytes; a body cut short or not JSON is asked
        for once more."""
        try:
            body = self._get(path, query, accept)
            return _json_object(path, body), len(body)
        except BrokenBody:
            body = self._get(path, query, accept)
            return _json_object(path, body), len(body)

    # -- HTTP -----------------------------------------------------------------------------------

    def _get_json(self, path: str, query: Query, accept: str = JSON) -> dict[str, Any]:
        """A JSON object from a successful GET; ``BrokenBody`` for a body that is not one."""
        return _json_object(path, self._get(path, query, accept))

    def _get(self, path: str, query: Query, accept: str) -> bytes:
        """The body of a successful GET; ``HttpError`` for an error status, ``Throttled`` when
        the server kept answering "retry later" (the same request is asked again after each
        wait, continue token and all). A 401 or a connection failure ends the run with
        ``ClusterUnreachableError``."""
        tries = Tries(self.retry, self.request_timeout, self._deadline)
        while True:
            status, body, retry_after = self._request(path, query, accept,
                                                      tries.until if tries.made else None)
            if 200 <= status < 300:
                return body
            error = http_error(status, body)
            if status == 401:
                raise self._refused(error)
            tries.wait_or_raise(error, retry_after, self._server_date)

    def _request(self, path: str, query: Query, accept: str, until: float | None = None
                 ) -> tuple[int, bytes, str | None]:
        """(status, body, ``Retry-After``) of one GET; a retry passes ``until``, when the
        request's ``--request-timeout`` runs out."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        client = self._client
        headers = {"Accept": accept}
        timeout = self._timeouts(path, until)
        started = time.monotonic()
        try:
            if hasattr(client, "param_serialize"):
                method, url, header_params, _, _ = client.param_serialize(
                    "GET", path, query_params=list(query), header_params=headers,
                    auth_settings=["BearerToken"],
                )
                response = client.call_api(method, url, header_params, _request_timeout=timeout)
                self._server_date = server_time.date_of(response) or self._server_date
                return response.status, response.read() or b"", retry_after_of(response)
            # Clients before 36 (python-legacy generator): raw response, errors raised.
            response = client.call_api(
                path, "GET", query_params=list(query), header_params=headers,
                auth_settings=["BearerToken"], _preload_content=False,
                _return_http_data_only=True, _request_timeout=timeout,
            )
            self._server_date = server_time.date_of(response) or self._server_date
            return response.status, response.data or b"", retry_after_of(response)
        except ApiException as err:
            if err.status:
                body = err.body or b""
                return (err.status, body.encode() if isinstance(body, str) else body,
                        retry_after_of(err))
            # The client turns a TLS failure into a status-less ApiException.
            raise self._unreachable(f"TLS failed: {one_line(err.reason)}", TLS_HINT) from None
        except urllib3.exceptions.HTTPError as err:
            waited = time.monotonic() - started
            by_deadline = self._deadline is not None and time.monotonic() >= self._deadline - 0.05
            # with no hidden retry, a read that timed out waited exactly its read timeout
            unanswered = request_unanswered(err, path, timeout[1] if timeout else waited,
                                            by_deadline)
            if unanswered is not None:
                raise unanswered from None  # costs only this request's List
            raise self._unreachable(*connection_problem(err, waited)) from None

    def _timeouts(self, path: str, until: float | None = None) -> tuple[float, float] | None:
        """(connect, read) seconds for the next request: ``--request-timeout`` (for a retry,
        what is left of it: ``until``), cut to what is left of ``--fetch-timeout``."""
        read = self.request_timeout if until is None else max(0.001, until - time.monotonic())
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise Unanswered(f"GET {path}: {self._late()}")
            read = left if read is None else min(read, left)
        return None if read is None else (min(10.0, read), read)

    def _late(self) -> str:
        assert self.fetch_timeout is not None
        return (f"the fetch took longer than --fetch-timeout {format_seconds(self.fetch_timeout)}"
                " and stopped before this List was complete")

    # -- messages -------------------------------------------------------------------------------

    def _where(self) -> str:
        return self._server if self._label == self._server else f"{self._server} ({self._label})"

    def _unreachable(self, problem: str, hint: str) -> ClusterUnreachableError:
        return ClusterUnreachableError(
            f"cannot reach the Kubernetes API server at {self._where()}: {problem}; {hint}"
        )

    def _refused(self, error: HttpError) -> ClusterUnreachableError:
        if isinstance(error, Throttled):
            return ClusterUnreachableError(f"cannot read the cluster at {self._where()}: {error}")
        if error.status == 401:
            return ClusterUnreachableError(
                f"the Kubernetes API server at {self._where()} rejected the credentials "
                f"(401 Unauthorized: {error.message}); log in again or fix the kubeconfig user"
            )
        return ClusterUnreachableError(
            f"the Kubernetes API server at {self._where()} answered {error}; check the "
            "kubeconfig's server address and user"
        )


def _json_object(path: str, body: bytes) -> dict[str, Any]:
    """``body`` parsed; ``BrokenBody`` when it is not a JSON object."""
    try:
        document = orjson.loads(body)
    except ValueError:
        raise BrokenBody(f"GET {path} did not return JSON ({first_words(body)})") from None
    if not isinstance(document, dict):
        raise BrokenBody(f"GET {path} did not return a JSON object") from None
    return document
