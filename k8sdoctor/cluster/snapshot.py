"""Snapshot source: cluster objects read from files instead of an API server.

Accepts what ``kubectl get ... -o yaml|json`` prints (a ``v1 List`` or a single object), raw API
List responses (``PodList``, whose items carry no ``kind``), multi-document YAML, a directory of
such files (recursively) and ``-`` for stdin. Snapshots written by ``k8sdoctor snapshot`` also
record when they were captured and which kinds were listed, so they are judged as of that moment
and a kind that was listed but empty still counts as known.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from k8sdoctor.cluster.kinds import KNOWN_KINDS, metadata_view
from k8sdoctor.cluster.selectors import matches_selector_string, parse_selector
from k8sdoctor.cluster.source import FetchError, LoadResult, gc_paused
from k8sdoctor.cluster.state import ClusterState, K8sObject, Scope, newest_timestamp, parse_time
from k8sdoctor.errors import BadInputError

ANNOTATION_PREFIX = "k8sdoctor.dev/"
CAPTURED_AT = ANNOTATION_PREFIX + "captured-at"
LISTED_KINDS = ANNOTATION_PREFIX + "listed-kinds"
SOURCE = ANNOTATION_PREFIX + "source"
FETCH_ERRORS = ANNOTATION_PREFIX + "fetch-errors"

_SUFFIXES = {".yaml", ".yml", ".json"}


class SnapshotSource:
    """Reads objects from ``path`` (a file, a directory, or ``-`` for stdin)."""

    def __init__(self, path: str, *, label: str | None = None) -> None:
        self.path = path
        self.label = label
        """How reports name this source; the path (or "stdin") by default."""

    def load(self, kinds: Collection[str], scope: Scope) -> LoadResult:
        with gc_paused():
            return self._load(scope)

    def _load(self, scope: Scope) -> LoadResult:
        documents = list(_read_documents(self.path))
        objects: dict[str, list[K8sObject]] = defaultdict(list)
        captured_at: datetime | None = None
        listed: set[str] = set()
        recorded_listing = False
        source = self.label or ("stdin" if self.path == "-" else self.path)
        errors: list[FetchError] = []
        for where, document in documents:
            if not isinstance(document, Mapping):
                raise BadInputError(f"snapshot {where}: expected a Kubernetes object or List, "
                                    f"found {type(document).__name__}")
            metadata = document.get("metadata")
            annotations = (metadata.get("annotations") if isinstance(metadata, Mapping)
                           else None) or {}
            if CAPTURED_AT in annotations:
                captured_at = parse_time(annotations[CAPTURED_AT]) or captured_at
            if LISTED_KINDS in annotations:
                recorded_listing = True
                listed.update(k for k in annotations[LISTED_KINDS].split(",") if k)
            if FETCH_ERRORS in annotations:
                errors.extend(_recorded_errors(annotations[FETCH_ERRORS], where))
            for obj in _flatten(document, where):
                objects[obj["kind"]].append(obj)
        if not recorded_listing:
            listed = set(objects)
        _apply_scope(objects, scope)
        now = captured_at or newest_timestamp(o for items in objects.values() for o in items)
        state = ClusterState(
            objects,
            now=now or datetime.now(timezone.utc),
            listed_kinds=listed,
            scope=scope,
            source=source,
        )
        return LoadResult(state, tuple(errors))


def _read_documents(path: str) -> Iterator[tuple[str, Any]]:
    if path == "-":
        yield from _parse_text(sys.stdin.read(), "stdin")
        return
    root = Path(path)
    if not root.exists():
        raise BadInputError(f"snapshot {path}: no such file or directory")
    files = (
        sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
        if root.is_dir()
        else [root]
    )
    if not files:
        raise BadInputError(f"snapshot {path}: directory holds no .yaml, .yml or .json file")
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise BadInputError(f"snapshot {file}: cannot read: {err}") from None
        yield from _parse_text(text, str(file))


def _parse_text(text: str, where: str) -> Iterator[tuple[str, Any]]:
    if text.lstrip().startswith(("{", "[")):
        # The standard parser, not orjson as for live pages: orjson first builds its own tree
        # of the whole document, which for a 120 MB snapshot adds 170 MB to the peak memory to
        # save a sixth of the parsing time.
        try:
            yield where, json.loads(text)
        except json.JSONDecodeError as err:
            raise BadInputError(
                f"snapshot {where}:{err.lineno}:{err.colno}: malformed JSON: {err.msg}"
            ) from None
        return
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        position = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = err.problem or err.context or "malformed YAML"
        raise BadInputError(f"snapshot {where}{position}: malformed YAML: {problem}") from None
    except yaml.YAMLError as err:
        raise BadInputError(f"snapshot {where}: malformed YAML: {err}") from None
    for document in documents:
        if document is not None:
            yield where, document


def _flatten(document: Any, where: str) -> Iterator[K8sObject]:
    """The objects in one document: a List's items (kind filled in from ``PodList``-style list
    kinds where the API leaves it out) or a single object.

    The documents are freshly parsed and ours, so items are completed in place, not copied."""
    kind = document.get("kind")
    if not isinstance(kind, str) or not kind:
        raise BadInputError(f"snapshot {where}: a document has no 'kind'")
    if not _is_list(document, kind):
        yield _single(document, kind, where)
        return
    item_kind = kind[: -len("List")] or None
    item_api_version = document.get("apiVersion") if item_kind else None
    for index, item in enumerate(document.get("items") or ()):
        if type(item) is not dict:
            if not isinstance(item, Mapping):
                raise BadInputError(f"snapshot {where}: item {index} of the {kind} is not an "
                                    "object")
            item = dict(item)
        item.setdefault("kind", item_kind)
        if item_api_version:
            item.setdefault("apiVersion", item_api_version)
        own_kind = item["kind"]
        if (isinstance(own_kind, str) and own_kind and not _is_list(item, own_kind)
                and isinstance(item.get("metadata"), Mapping)):
            yield _single(item, own_kind, "")
        else:  # a nested List, or a fault to name: the slow path, with its place
            yield from _flatten(item, f"{where} item {index}")


def _is_list(document: Mapping[str, Any], kind: str) -> bool:
    return kind == "List" or (kind.endswith("List") and "items" in document)


def _single(document: dict[str, Any], kind: str, where: str) -> K8sObject:
    if not isinstance(document.get("metadata"), Mapping):
        raise BadInputError(f"snapshot {where}: the {kind} has no metadata")
    known = KNOWN_KINDS.get(kind)
    if known is not None and known.metadata_only:
        # a `kubectl get secrets -o yaml` dump holds the values: they go no further than here
        return metadata_view(known, document["metadata"])
    return document if type(document) is dict else dict(document)


def _apply_scope(objects: dict[str, list[K8sObject]], scope: Scope) -> None:
    """Keep what a live run with the same ``-n`` and ``-l`` would have listed."""
    if not scope.namespace and not scope.selector:
        return
    try:
        requirements = parse_selector(scope.selector) if scope.selector else ()
    except ValueError as err:
        raise BadInputError(f"--selector: {err}") from None
    for kind, items in objects.items():
        known = KNOWN_KINDS.get(kind)
        namespaced = known.namespaced if known else any(
            (o.get("metadata") or {}).get("namespace") for o in items
        )
        selectable = known.label_selectable if known else True
        items[:] = [
            obj
            for obj in items
            if (not scope.namespace or not namespaced
                or obj["metadata"].get("namespace") == scope.namespace)
            and (not requirements or not selectable
                 or matches_selector_string(requirements, obj["metadata"].get("labels")))
        ]


def _recorded_errors(text: str, where: str) -> Iterator[FetchError]:
    try:
        for entry in json.loads(text):
            yield FetchError(entry["kind"], entry["message"])
    except (ValueError, TypeError, KeyError):
        raise BadInputError(f"snapshot {where}: annotation {FETCH_ERRORS} is not valid") from None


def snapshot_document(result: LoadResult, *, source: str) -> dict[str, Any]:
    """The ``v1 List`` that ``k8sdoctor snapshot`` writes: every object, plus the capture time,
    the kinds listed and the kinds that failed, so a later run reproduces the live one."""
    state = result.state
    items = [_kubectl_order(obj) for kind in sorted(state.kinds) for obj in state.objects(kind)]
    listed = sorted(k for k in KNOWN_KINDS if state.has_kind(k)) + sorted(
        k for k in state.kinds if k not in KNOWN_KINDS
    )
    annotations = {
        CAPTURED_AT: state.now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        LISTED_KINDS: ",".join(listed),
        SOURCE: source,
    }
    if result.errors:
        annotations[FETCH_ERRORS] = json.dumps(
            [{"kind": e.kind, "message": e.message} for e in result.errors]
        )
    return {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"annotations": annotations},
        "items": items,
    }


def _kubectl_order(obj: K8sObject) -> K8sObject:
    """``obj`` with ``apiVersion`` and ``kind`` first, as kubectl prints objects."""
    head = {key: obj[key] for key in ("apiVersion", "kind") if key in obj}
    return {**head, **obj}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that keeps timestamps as strings, as the API's JSON has them."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
