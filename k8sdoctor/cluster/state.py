"""``ClusterState``: every object a run needs, fetched once, with indexes for analyzers.

Objects are the API's own JSON dicts (``metadata``, ``spec``, ``status``), never client model
classes. The state is built once by a source and then only read; indexes are derived lazily on
first use, so an analyzer pays only for the lookups it makes. Treat every dict as read-only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any

from k8sdoctor.cluster.selectors import matches_label_selector, matches_map

K8sObject = dict[str, Any]
"""An object as the API server returns it."""


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Names one object: what a finding is about, or the workload that owns it."""

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind}/{where}{self.name}"


@dataclass(frozen=True)
class Scope:
    """What part of the cluster a run looks at: ``-n`` (one namespace or several) and ``-l``."""

    namespace: str | None = None
    """The one namespace, when exactly one was asked for (``Scope(namespace="shop")`` is a
    shorthand for ``Scope(namespaces=("shop",))``)."""
    selector: str | None = None
    """The ``-l`` expression, applied to the Lists of label-selectable kinds."""
    namespaces: tuple[str, ...] = ()
    """Every namespace looked at; empty means all namespaces."""

    def __post_init__(self) -> None:
        merged = tuple(dict.fromkeys((*self.namespaces, *(
            (self.namespace,) if self.namespace else ()))))
        object.__setattr__(self, "namespaces", merged)
        object.__setattr__(self, "namespace", merged[0] if len(merged) == 1 else None)

    def covers(self, namespace: str | None) -> bool:
        """Whether objects of ``namespace`` (None: cluster-scoped) are inside the scope."""
        return not self.namespaces or namespace is None or namespace in self.namespaces


@lru_cache(maxsize=1 << 16)
def parse_time(value: str | None) -> datetime | None:
    """An RFC 3339 timestamp as the API writes it (``2026-11-20T10:00:00Z``), or None.

    Remembered: analyzers ask for the same timestamps again and again (a pod's conditions, its
    events, its workload's), and a ``datetime`` cannot be changed by whoever gets it."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def ref_of(obj: Mapping[str, Any]) -> ObjectRef:
    meta = obj.get("metadata") or {}
    return ObjectRef(obj.get("kind", ""), meta.get("name", ""), meta.get("namespace"))


_UNKNOWN = object()


def _key(kind: str, namespace: str | None, name: str) -> tuple[str, str, str]:
    return (kind, namespace or "", name)


class ClusterState:
    """The objects of one run, by kind, with lookups. Built by a source; never mutated after."""

    def __init__(
        self,
        objects: Mapping[str, Sequence[K8sObject]],
        *,
        now: datetime,
        listed_kinds: Iterable[str] | None = None,
        scope: Scope | None = None,
        source: str = "",
        partly_read: Iterable[tuple[str, str | None]] = (),
        held: object = None,
    ) -> None:
        self._objects: Mapping[str, tuple[K8sObject, ...]] = MappingProxyType(
            {kind: tuple(items) for kind, items in objects.items()}
        )
        self.now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
        self._listed = frozenset(self._objects if listed_kinds is None else listed_kinds)
        self.scope = scope or Scope()
        self.source = source
        self._partly_read = frozenset(partly_read)
        self._held = held
        """What the source held rather than freed while it made the objects (the live source's
        ``list_items.CutOffs``): never read, kept for as long as the state."""
        self._workloads: dict[int, tuple[Mapping[str, Any], ObjectRef | None]] = {}
        """``workload_of`` answers by ``id`` of the object, kept with the object so the id
        cannot be reused: several analyzers ask it of every pod."""
        self._ages: dict[str, float | None] = {}

    def without(self, dropped: Iterable[K8sObject]) -> ClusterState:
        """The same state less ``dropped`` (objects of it), whose absence then proves nothing."""
        dropped = list(dropped)
        gone = {id(obj) for obj in dropped}
        lost = [(obj.get("kind", ""), (obj.get("metadata") or {}).get("namespace"))
                for obj in dropped]
        return ClusterState(
            {kind: [o for o in items if id(o) not in gone]
             for kind, items in self._objects.items()},
            now=self.now, listed_kinds=self._listed, scope=self.scope, source=self.source,
            partly_read=[*self._partly_read, *lost], held=self._held,
        )

    # -- plain access ---------------------------------------------------------------------------

    @property
    def kinds(self) -> frozenset[str]:
        """Every kind that holds at least one object."""
        return frozenset(kind for kind, items in self._objects.items() if items)

    def has_kind(self, kind: str) -> bool:
        """True when ``kind`` was listed completely, so "not found" really means absent.

        False when the kind was not asked for, could not be listed (403) or is not served:
        analyzers must not report a missing ConfigMap when ConfigMaps could not be read.
        """
        return kind in self._listed

    def read_whole(self, kind: str, namespace: str | None = None) -> bool:
        """False when an object of ``kind`` in ``namespace`` (any namespace, for None) was
        dropped for its malformed shape: it exists but is not in the state, so its absence
        proves nothing. ``partly_read`` holds ``(kind, namespace)`` pairs, namespace None for an
        object whose namespace is unknown or that has none."""
        if not self._partly_read:
            return True
        if namespace is None:
            return not any(k == kind for k, _ in self._partly_read)
        return (kind, namespace) not in self._partly_read and (kind, None) not in self._partly_read

    def objects(self, kind: str) -> tuple[K8sObject, ...]:
        return self._objects.get(kind, ())

    def get(self, kind: str, namespace: str | None, name: str) -> K8sObject | None:
        if kind == "Event":
            return self._event_lookups[0].get((kind, namespace or "", name))
        return self._by_key.get((kind, namespace or "", name))

    def in_namespace(self, kind: str, namespace: str | None) -> tuple[K8sObject, ...]:
        return self._by_namespace.get((kind, namespace or ""), ())

    def by_uid(self, uid: str) -> K8sObject | None:
        found = self._by_uid.get(uid)
        return found if found is not None or not uid else self._event_lookups[1].get(uid)

    def age_of(self, timestamp: str | None) -> float | None:
        """Seconds from ``timestamp`` to ``now``; None if absent or unparsable."""
        if not timestamp:
            return None
        age = self._ages.get(timestamp, _UNKNOWN)
        if age is _UNKNOWN:
            moment = parse_time(timestamp)
            age = self._ages[timestamp] = (
                None if moment is None else (self.now - moment).total_seconds())
        return age  # type: ignore[return-value]

    # -- ownership ------------------------------------------------------------------------------

    def owned_by(self, uid: str) -> tuple[K8sObject, ...]:
        """Objects whose ownerReferences name ``uid``."""
        return self._by_owner.get(uid, ())

    def controller_of(self, obj: Mapping[str, Any]) -> K8sObject | None:
        """The object's controlling owner, when that owner is in the state."""
        ref = controller_ref(obj)
        return None if ref is None else self.by_uid(ref.get("uid", ""))

    def workload_of(self, obj: Mapping[str, Any]) -> ObjectRef | None:
        """The top-most controller: a Pod's Deployment (through its ReplicaSet), a Job's CronJob.

        When an owner is not in the state its ownerReference still names it. None for an object
        nothing controls.
        """
        known = self._workloads.get(id(obj))
        if known is not None and known[0] is obj:
            return known[1]
        namespace = (obj.get("metadata") or {}).get("namespace")
        ref = controller_ref(obj)
        top: ObjectRef | None = None
        seen: set[str] = set()
        while ref is not None and ref.get("uid") not in seen:
            seen.add(ref.get("uid", ""))
            top = ObjectRef(ref.get("kind", ""), ref.get("name", ""), namespace)
            owner = self.by_uid(ref.get("uid", ""))
            if owner is None:
                break
            ref = controller_ref(owner)
        self._workloads[id(obj)] = (obj, top)
        return top

    # -- pods, services, events -----------------------------------------------------------------

    def pods_on_node(self, node_name: str) -> tuple[K8sObject, ...]:
        return self._pods_by_node.get(node_name, ())

    def pods_matching(
        self, namespace: str | None, selector: Mapping[str, str] | None
    ) -> tuple[K8sObject, ...]:
        """Pods a Service-style map selector picks in ``namespace``."""
        if not selector:
            return ()
        candidates = self._pods_with_any(namespace, selector)
        return tuple(
            pod for pod in candidates if matches_map(selector, pod["metadata"].get("labels"))
        )

    def pods_selected_by(
        self, namespace: str | None, selector: Mapping | None
    ) -> tuple[K8sObject, ...]:
        """Pods a ``LabelSelector`` (matchLabels / matchExpressions) picks in ``namespace``."""
        if selector is None:
            return ()
        match_labels = selector.get("matchLabels") or {}
        candidates = (
            self._pods_with_any(namespace, match_labels)
            if match_labels
            else self.in_namespace("Pod", namespace)
        )
        return tuple(
            pod
            for pod in candidates
            if matches_label_selector(selector, pod["metadata"].get("labels"))
        )

    def _pods_with_any(
        self, namespace: str | None, labels: Mapping[str, str]
    ) -> tuple[K8sObject, ...]:
        """The pods carrying the rarest of ``labels``: a superset of those carrying them all, so
        a cluster with thousands of Services is not a scan of every pod for each."""
        return min(
            (self._pods_by_label.get((namespace or "", key, value), ())
             for key, value in labels.items()),
            key=len,
        )

    def endpoint_slices_for(self, namespace: str | None, service: str) -> tuple[K8sObject, ...]:
        return self._slices_by_service.get((namespace or "", service), ())

    def endpoints_for(self, namespace: str | None, service: str) -> K8sObject | None:
        return self.get("Endpoints", namespace, service)

    def events_for(self, obj: Mapping[str, Any]) -> tuple[K8sObject, ...]:
        """Events about ``obj``, oldest first (core/v1 ``involvedObject`` or events.k8s.io
        ``regarding``)."""
        meta = obj.get("metadata") or {}
        by_uid = self._events_by_uid.get(meta.get("uid", ""), ())
        if by_uid:
            return by_uid
        return self._events_by_key.get(_key(obj.get("kind", ""), meta.get("namespace"),
                                            meta.get("name", "")), ())

    # -- indexes --------------------------------------------------------------------------------

    @cached_property
    def _by_key(self) -> dict[tuple[str, str, str], K8sObject]:
        return self._object_indexes[0]

    @cached_property
    def _by_namespace(self) -> dict[tuple[str, str], tuple[K8sObject, ...]]:
        return self._object_indexes[1]

    @cached_property
    def _by_uid(self) -> dict[str, K8sObject]:
        return self._object_indexes[2]

    @cached_property
    def _by_owner(self) -> dict[str, tuple[K8sObject, ...]]:
        return self._object_indexes[3]

    @cached_property
    def _object_indexes(self) -> tuple[
        dict[tuple[str, str, str], K8sObject],
        dict[tuple[str, str], tuple[K8sObject, ...]],
        dict[str, K8sObject],
        dict[str, tuple[K8sObject, ...]],
    ]:
        """By (kind, namespace, name), by (kind, namespace), by uid and by owner uid: almost
        every run needs all four, so they are made in one pass over the objects. Events, half
        the objects of a cluster, are only ever looked up by namespace (and through
        ``events_for``): by name and uid they have lookups of their own, made if asked for."""
        by_key: dict[tuple[str, str, str], K8sObject] = {}
        by_namespace: dict[tuple[str, str], tuple[K8sObject, ...]] = {}
        by_uid: dict[str, K8sObject] = {}
        by_owner: dict[str, list[K8sObject]] = defaultdict(list)
        for kind, items in self._objects.items():
            in_namespace: dict[str, list[K8sObject]] = defaultdict(list)
            if kind == "Event":
                for obj in items:
                    meta = obj.get("metadata") or {}
                    in_namespace[meta.get("namespace") or ""].append(obj)
                    for ref in meta.get("ownerReferences") or ():
                        by_owner[ref.get("uid", "")].append(obj)
            else:
                for obj in items:
                    meta = obj.get("metadata") or {}
                    namespace = meta.get("namespace") or ""
                    by_key[(kind, namespace, meta.get("name", ""))] = obj
                    in_namespace[namespace].append(obj)
                    if uid := meta.get("uid"):
                        by_uid[uid] = obj
                    for ref in meta.get("ownerReferences") or ():
                        by_owner[ref.get("uid", "")].append(obj)
            by_namespace.update(((kind, namespace), tuple(objs))
                                for namespace, objs in in_namespace.items())
        return (by_key, by_namespace, by_uid,
                {uid: tuple(items) for uid, items in by_owner.items()})

    @cached_property
    def _event_lookups(self) -> tuple[dict[tuple[str, str, str], K8sObject],
                                      dict[str, K8sObject]]:
        """Events by (kind, namespace, name) and by uid."""
        by_key: dict[tuple[str, str, str], K8sObject] = {}
        by_uid: dict[str, K8sObject] = {}
        for event in self.objects("Event"):
            meta = event.get("metadata") or {}
            by_key[("Event", meta.get("namespace") or "", meta.get("name", ""))] = event
            if uid := meta.get("uid"):
                by_uid[uid] = event
        return by_key, by_uid

    @cached_property
    def _pods_by_node(self) -> dict[str, tuple[K8sObject, ...]]:
        index: dict[str, list[K8sObject]] = defaultdict(list)
        for pod in self.objects("Pod"):
            if node := (pod.get("spec") or {}).get("nodeName"):
                index[node].append(pod)
        return {node: tuple(items) for node, items in index.items()}

    @cached_property
    def _pods_by_label(self) -> dict[tuple[str, str, str], tuple[K8sObject, ...]]:
        index: dict[tuple[str, str, str], list[K8sObject]] = defaultdict(list)
        for pod in self.objects("Pod"):
            meta = pod.get("metadata") or {}
            for key, value in (meta.get("labels") or {}).items():
                index[(meta.get("namespace") or "", key, value)].append(pod)
        return {key: tuple(items) for key, items in index.items()}

    @cached_property
    def _slices_by_service(self) -> dict[tuple[str, str], tuple[K8sObject, ...]]:
        index: dict[tuple[str, str], list[K8sObject]] = defaultdict(list)
        for eps in self.objects("EndpointSlice"):
            meta = eps.get("metadata") or {}
            service = (meta.get("labels") or {}).get("kubernetes.io/service-name")
            if service:
                index[(meta.get("namespace") or "", service)].append(eps)
        return {key: tuple(items) for key, items in index.items()}

    @cached_property
    def _events_by_uid(self) -> dict[str, tuple[K8sObject, ...]]:
        return self._event_indexes[0]

    @cached_property
    def _events_by_key(self) -> dict[tuple[str, str, str], tuple[K8sObject, ...]]:
        return self._event_indexes[1]

    @cached_property
    def _event_indexes(self) -> tuple[dict[str, tuple[K8sObject, ...]],
                                      dict[tuple[str, str, str], tuple[K8sObject, ...]]]:
        """Events, oldest first, by the uid and by the (kind, namespace, name) of their
        object, made in one pass."""
        by_uid: dict[str, list[K8sObject]] = defaultdict(list)
        by_key: dict[tuple[str, str, str], list[K8sObject]] = defaultdict(list)
        for event in sorted(self.objects("Event"), key=event_time):
            target = event.get("involvedObject") or event.get("regarding") or {}
            if uid := target.get("uid"):
                by_uid[uid].append(event)
            by_key[(target.get("kind", ""), target.get("namespace") or "",
                    target.get("name", ""))].append(event)
        return ({uid: tuple(items) for uid, items in by_uid.items()},
                {key: tuple(items) for key, items in by_key.items()})


def controller_ref(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ownerReference with ``controller: true``, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if ref.get("controller"):
            return ref
    return None


def event_time(event: Mapping[str, Any]) -> str:
    """The most recent time an event was seen, as a sortable RFC 3339 string."""
    series = event.get("series") or {}
    return (
        event.get("lastTimestamp")
        or series.get("lastObservedTime")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or (event.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def newest_timestamp(objects: Iterable[Mapping[str, Any]]) -> datetime | None:
    """The latest creation, event or condition time in ``objects``: a snapshot's "now" when it
    does not record its capture time."""
    newest: datetime | None = None
    for obj in objects:
        candidates = [(obj.get("metadata") or {}).get("creationTimestamp"), event_time(obj)]
        status = obj.get("status")
        if isinstance(status, Mapping):
            for condition in status.get("conditions") or ():
                if isinstance(condition, Mapping):
                    candidates.append(condition.get("lastTransitionTime"))
                    candidates.append(condition.get("lastHeartbeatTime"))
        for candidate in candidates:
            moment = parse_time(candidate) if isinstance(candidate, str) else None
            if moment and (newest is None or moment > newest):
                newest = moment
    return newest
