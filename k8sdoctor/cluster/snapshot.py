"""Snapshot source: cluster objects read from files instead of an API server.

Accepts what ``kubectl get ... -o yaml|json`` prints (a ``v1 List`` or a single object), raw API
List responses (``PodList``, whose items carry no ``kind``), multi-document YAML, a directory of
such files (recursively) and ``-`` for stdin. Snapshots written by ``k8sdoctor snapshot`` also
record when they were captured and which kinds were listed, so they are judged as of that moment
and a kind that was listed but empty still counts as known.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import sys
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from k8sdoctor.cluster import manifests, server_time
from k8sdoctor.cluster.fetch_problems import one_line
from k8sdoctor.cluster.kinds import KNOWN_KINDS, LAST_APPLIED, metadata_view
from k8sdoctor.cluster.selectors import matches_selector_string, parse_selector
from k8sdoctor.cluster.source import FetchError, LoadResult, gc_paused
from k8sdoctor.cluster.state import ClusterState, K8sObject, Scope, newest_timestamp, parse_time
from k8sdoctor.cluster.validate import Rejected, admit
from k8sdoctor.errors import BadInputError

ANNOTATION_PREFIX = "k8sdoctor.dev/"
CAPTURED_AT = ANNOTATION_PREFIX + "captured-at"
LISTED_KINDS = ANNOTATION_PREFIX + "listed-kinds"
SOURCE = ANNOTATION_PREFIX + "source"
FETCH_ERRORS = ANNOTATION_PREFIX + "fetch-errors"
DATA_SIZES = ANNOTATION_PREFIX + "data-sizes"
"""On a ConfigMap whose values were left out of a snapshot: ``{key: bytes}``."""

_SUFFIXES = {".yaml", ".yml", ".json"}
MAX_SNAPSHOT_BYTES = 2 * 2**30
"""The most a snapshot may hold (2 GiB, several times a 100,000-pod cluster), so that a wrong
path or an endless stream is refused before it fills the memory."""
MAX_NESTING = 1000
_TOO_DEEP = (f"nested more than about {MAX_NESTING:,} levels deep, which no Kubernetes object "
             "is; k8sdoctor reads no deeper")
ALL_KINDS = "all"


class SnapshotSource:
    """Reads objects from ``path`` (a file, a directory, or ``-`` for stdin)."""

    def __init__(
        self,
        path: str,
        *,
        label: str | None = None,
        covered_kinds: Collection[str] | None = None,
        manifests: bool | None = None,
    ) -> None:
        self.path = path
        self.label = label
        """How reports name this source; the path (or "stdin") by default."""
        self.covered_kinds = None if covered_kinds is None else frozenset(covered_kinds)
        """``--snapshot-kinds``: kinds the file holds completely, though it does not record
        them (``all`` for every kind); None when nothing was declared."""
        self.manifests = manifests
        """``--manifests``: judge the objects as plain manifests; None to decide by whether any
        object has a status."""

    def load(self, kinds: Collection[str], scope: Scope) -> LoadResult:
        with gc_paused():
            return self._load(kinds, scope)

    def _load(self, kinds: Collection[str], scope: Scope) -> LoadResult:
        documents = list(_read_documents(self.path))
        source = self.label or ("stdin" if self.path == "-" else self.path)
        return load_documents(documents, kinds, scope, source,
                              covered_kinds=self.covered_kinds, manifests_mode=self.manifests)


def load_documents(
    documents: Iterable[tuple[str, Any]],
    kinds: Collection[str],
    scope: Scope,
    source: str,
    *,
    covered_kinds: Collection[str] | None = None,
    manifests_mode: bool | None = None,
) -> LoadResult:
    """The state of parsed snapshot ``documents`` (each with where it came from, for messages):
    what ``SnapshotSource.load`` returns once its files are read. ``covered_kinds`` and
    ``manifests_mode`` are the source's ``--snapshot-kinds`` and ``--manifests``."""
    objects: dict[str, list[K8sObject]] = defaultdict(list)
    captured_at: datetime | None = None
    listed: set[str] = set()
    recorded_listing = False
    errors: list[FetchError] = []
    dropped: list[Rejected] = []
    for where, document in documents:
        if not isinstance(document, Mapping):
            raise BadInputError(f"snapshot {where}: expected a Kubernetes object or List, "
                                f"found {type(document).__name__}")
        annotations = _own_annotations(document)
        if CAPTURED_AT in annotations:
            captured_at = parse_time(annotations[CAPTURED_AT]) or captured_at
        if LISTED_KINDS in annotations:
            recorded_listing = True
            listed.update(k for k in annotations[LISTED_KINDS].split(",") if k)
        if FETCH_ERRORS in annotations:
            errors.extend(_recorded_errors(annotations[FETCH_ERRORS], where))
        for item, origin in _flatten(document, where):
            obj = _admitted(item, origin, dropped)
            if obj is not None:
                objects[obj["kind"]].append(obj)
    errors.extend(FetchError(r.kind, r.message) for r in dropped)
    if not recorded_listing and not objects and not dropped:
        raise BadInputError(
            f"snapshot {source}: holds no Kubernetes object (an empty file, or the "
            "output of a kubectl command that failed); nothing to analyze"
        )
    inferred = not recorded_listing
    as_manifests = (manifests_mode if manifests_mode is not None else
                    not recorded_listing and manifests.look_like_manifests(
                        o for items in objects.values() for o in items))
    if as_manifests:
        objects = defaultdict(list, manifests.prepare(objects))
        listed = set(objects) | manifests.COVERED_KINDS
        if covered_kinds is not None:
            listed |= set(KNOWN_KINDS) if ALL_KINDS in covered_kinds else set(covered_kinds)
        inferred = False
    elif not recorded_listing:
        listed = set(objects)
        if covered_kinds is not None and ALL_KINDS in covered_kinds:
            listed.update(KNOWN_KINDS)
            inferred = False
        elif covered_kinds is not None:
            listed.update(covered_kinds)
    held_kinds = listed if recorded_listing else {k for k, items in objects.items() if items}
    if kinds and not held_kinds & set(kinds):
        errors.append(_nothing_to_check(source, held_kinds))
    missing = _missing_namespaces(objects, scope)
    _apply_scope(objects, scope)
    newest = newest_timestamp(o for items in objects.values() for o in items)
    now = captured_at or newest
    clock_source = (server_time.CAPTURED_AT if captured_at else
                    server_time.NEWEST_OBJECT if newest else server_time.LOCAL_CLOCK)
    state = ClusterState(
        objects,
        now=now or datetime.now(timezone.utc),
        listed_kinds=listed,
        scope=scope,
        source=source,
        partly_read=[(r.kind, r.namespace) for r in dropped],
    )
    return LoadResult(state, tuple(errors), listing_inferred=inferred, manifests=as_manifests,
                      missing_namespaces=missing, clock_source=clock_source)


def parse_covered_kinds(text: str) -> frozenset[str]:
    """``--snapshot-kinds``: ``all``, or kinds by name or plural (``Service,configmaps``).
    BadInputError names an unknown one."""
    by_name = {name.lower(): name for name in KNOWN_KINDS}
    by_name.update({k.plural.lower(): k.kind for k in KNOWN_KINDS.values()})
    kinds, unknown = set(), []
    for word in (w.strip() for w in text.split(",")):
        if not word:
            continue
        if word.lower() == ALL_KINDS:
            kinds.add(ALL_KINDS)
        elif word.lower() in by_name:
            kinds.add(by_name[word.lower()])
        else:
            unknown.append(word)
    if unknown or not kinds:
        raise BadInputError(f"--snapshot-kinds: unknown kind {', '.join(unknown) or '(none)'}; "
                            f"use all, or kinds such as {', '.join(sorted(KNOWN_KINDS)[:4])}")
    return frozenset(kinds)


def _own_annotations(document: Mapping[str, Any]) -> Mapping[str, str]:
    """The document's string annotations: where ``k8sdoctor snapshot`` records what it did."""
    metadata = document.get("metadata")
    annotations = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    if not isinstance(annotations, Mapping):
        return {}
    return {k: v for k, v in annotations.items() if isinstance(v, str)}


def read_documents(path: str) -> list[tuple[str, Any]]:
    """The documents of the snapshot at ``path`` (a file, a directory, or - for stdin), each
    with where it came from: what ``load_documents`` takes."""
    return list(_read_documents(path))


def _read_documents(path: str) -> Iterator[tuple[str, Any]]:
    if path == "-":
        text = sys.stdin.read(MAX_SNAPSHOT_BYTES + 1)
        if len(text) > MAX_SNAPSHOT_BYTES:
            raise BadInputError(f"snapshot stdin: {_too_big()}")
        yield from _parse_text(text, "stdin")
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
    try:
        size = sum(file.stat().st_size for file in files)
    except OSError as err:
        raise BadInputError(f"snapshot {path}: cannot read: {err}") from None
    if size > MAX_SNAPSHOT_BYTES:
        raise BadInputError(f"snapshot {path}: {_too_big(size)}")
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise BadInputError(f"snapshot {file}: cannot read: {err}") from None
        yield from _parse_text(text, str(file))


def _too_big(size: int | None = None) -> str:
    held = f"holds {size / 2**30:.1f} GiB; " if size else ""
    return (f"{held}a snapshot may hold at most {MAX_SNAPSHOT_BYTES // 2**30} GiB; take one per "
            "namespace (-n) instead")


def _parse_text(text: str, where: str) -> Iterator[tuple[str, Any]]:
    """The documents in ``text``: JSON when it looks like JSON, else YAML, which also reads
    flow-style YAML such as ``{kind: List, items: []}``. When neither reads it, the error of the
    parser that got further is the one reported."""
    json_error: BadInputError | None = None
    if text.lstrip().startswith(("{", "[")):
        # The standard parser, not orjson as for live pages: orjson first builds its own tree
        # of the whole document, which for a 120 MB snapshot adds 170 MB to the peak memory to
        # save a sixth of the parsing time.
        try:
            yield where, json.loads(text)
            return
        except json.JSONDecodeError as err:
            json_error = BadInputError(
                f"snapshot {where}:{err.lineno}:{err.colno}: malformed JSON: {err.msg}")
            json_reach = (err.lineno, err.colno)
        except RecursionError:
            raise BadInputError(f"snapshot {where}: {_TOO_DEEP}") from None
    import yaml

    try:
        documents = list(yaml.load_all(text, Loader=_loader()))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        if json_error is not None and (mark is None or json_reach >= (mark.line + 1,
                                                                      mark.column + 1)):
            raise json_error from None
        problem = getattr(err, "problem", None) or getattr(err, "context", None) or str(err)
        if "nesting depth" in problem:
            raise BadInputError(f"snapshot {where}: {_TOO_DEEP}") from None
        position = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise BadInputError(
            f"snapshot {where}{position}: malformed YAML: {one_line(problem)}") from None
    except RecursionError:
        raise BadInputError(f"snapshot {where}: {_TOO_DEEP}") from None
    for document in documents:
        if document is not None:
            yield where, document


def _flatten(document: Any, where: str) -> Iterator[tuple[Any, str]]:
    """The objects in one document, each with where it was: a List's items (kind filled in
    from ``PodList``-style list kinds where the API leaves it out) or a single object. A
    document without a kind is no Kubernetes document; an item's shape is checked later."""
    kind = document.get("kind")
    if not isinstance(kind, str) or not kind:
        raise BadInputError(f"snapshot {where}: a document has no 'kind'")
    yield from _items(document, where)


def _items(document: Any, where: str) -> Iterator[tuple[Any, str]]:
    kind = document.get("kind") if isinstance(document, Mapping) else None
    if not isinstance(kind, str) or not (
        kind == "List" or (kind.endswith("List") and "items" in document)
    ):
        yield document, where
        return
    item_kind = kind[: -len("List")] or None
    item_api_version = document.get("apiVersion") if item_kind else None
    items = document.get("items") or []
    if not isinstance(items, list):
        raise BadInputError(f"snapshot {where}: the {kind}'s items are not a list")
    for index, item in enumerate(items):
        if isinstance(item, Mapping):
            # freshly parsed and ours: completed in place, not copied
            if type(item) is not dict:
                item = dict(item)
            if item_kind:
                item.setdefault("kind", item_kind)
            if item_api_version:
                item.setdefault("apiVersion", item_api_version)
            own = item.get("kind")
            if isinstance(own, str) and (own == "List" or (own.endswith("List")
                                                           and "items" in item)):
                yield from _items(item, f"{where} item {index}")
                continue
        yield item, f"{where} item {index}"


def _admitted(obj: Any, origin: str, dropped: list[Rejected]) -> K8sObject | None:
    """``obj`` as it enters the state (a Secret as metadata only), or None when its shape is
    wrong, with why in ``dropped``."""
    rejected = admit(obj, origin)
    if rejected is not None:
        dropped.append(rejected)
        return None
    known = KNOWN_KINDS.get(obj["kind"])
    if known is not None and known.metadata_only:
        # a `kubectl get secrets -o yaml` dump holds the values: they go no further than here
        return metadata_view(known, obj["metadata"])
    return obj


def _missing_namespaces(objects: Mapping[str, list[K8sObject]], scope: Scope) -> tuple[str, ...]:
    """The namespaces of ``-n`` that neither a Namespace object nor any object's namespace
    names: in a snapshot, that is as good as "does not exist"."""
    if not scope.namespaces:
        return ()
    seen = {(o.get("metadata") or {}).get("namespace") for items in objects.values()
            for o in items}
    seen.update((o.get("metadata") or {}).get("name") for o in objects.get("Namespace", ()))
    return tuple(n for n in scope.namespaces if n not in seen)


def _apply_scope(objects: dict[str, list[K8sObject]], scope: Scope) -> None:
    """Keep what a live run with the same ``-n`` and ``-l`` would have listed."""
    if not scope.namespaces and not scope.selector:
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
            if (not namespaced or scope.covers(obj["metadata"].get("namespace")))
            and (not requirements or not selectable
                 or matches_selector_string(requirements, obj["metadata"].get("labels")))
        ]


def _nothing_to_check(source: str, held_kinds: Collection[str]) -> FetchError:
    """The error for a snapshot none of whose kinds the selected analyzers read: their findings
    would be empty because nothing was looked at, not because nothing is wrong."""
    held = sorted(held_kinds)
    return FetchError(
        "snapshot",
        f"{source} holds no object of a kind the selected analyzers read "
        f"(it holds {', '.join(held[:8]) or 'nothing'}{', ...' if len(held) > 8 else ''}); "
        "nothing was checked",
    )


def _recorded_errors(text: str, where: str) -> Iterator[FetchError]:
    try:
        for entry in json.loads(text):
            yield FetchError(entry["kind"], entry["message"])
    except (ValueError, TypeError, KeyError):
        raise BadInputError(f"snapshot {where}: annotation {FETCH_ERRORS} is not valid") from None


def snapshot_document(result: LoadResult, *, source: str,
                      include_configmap_data: bool = False) -> dict[str, Any]:
    """The ``v1 List`` that ``k8sdoctor snapshot`` writes: every object, plus the capture time,
    the kinds listed and the kinds that failed, so a later run reproduces the live one.

    ConfigMap values are left out unless ``include_configmap_data``: the keys stay (with empty
    values) and their sizes are recorded, which is all the analyzers read, so the file can be
    attached to a ticket without the configuration it would otherwise carry."""
    state = result.state
    items = [_kubectl_order(obj if include_configmap_data or kind != "ConfigMap"
                            else configmap_without_data(obj))
             for kind in sorted(state.kinds) for obj in state.objects(kind)]
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


def configmap_without_data(configmap: Mapping[str, Any]) -> dict[str, Any]:
    """``configmap`` with every value emptied (keys kept) and its sizes in an annotation; the
    last-applied annotation, which copies the values, is dropped."""
    data = configmap.get("data") or {}
    binary = configmap.get("binaryData") or {}
    sizes = {key: len(str(value).encode()) for key, value in data.items()}
    sizes.update({key: _decoded_size(value) for key, value in binary.items()})
    metadata = dict(configmap.get("metadata") or {})
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items()
                   if k != LAST_APPLIED}
    if sizes:
        annotations[DATA_SIZES] = json.dumps(sizes, sort_keys=True)
    metadata["annotations"] = annotations
    if not annotations:
        del metadata["annotations"]
    stripped = {**configmap, "metadata": metadata}
    if "data" in configmap:
        stripped["data"] = dict.fromkeys(data, "")
    if "binaryData" in configmap:
        stripped["binaryData"] = dict.fromkeys(binary, "")
    return stripped


def _decoded_size(encoded: Any) -> int:
    try:
        return len(base64.b64decode(str(encoded or ""), validate=False))
    except (binascii.Error, ValueError):
        return len(str(encoded)) * 3 // 4


def _kubectl_order(obj: K8sObject) -> K8sObject:
    """``obj`` with ``apiVersion`` and ``kind`` first, as kubectl prints objects."""
    head = {key: obj[key] for key in ("apiVersion", "kind") if key in obj}
    return {**head, **obj}


@functools.cache
def _loader() -> type:
    """SafeLoader (libyaml's when there is one) that keeps timestamps as strings, as the API's
    JSON has them. Made on first use: a JSON snapshot or the demo's parsed copy needs no YAML."""
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    Loader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader
