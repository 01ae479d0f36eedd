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
import json
import sys
from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from k8sdoctor.cluster import manifests
from k8sdoctor.cluster.kinds import KNOWN_KINDS, LAST_APPLIED, metadata_view
from k8sdoctor.cluster.selectors import matches_selector_string, parse_selector
from k8sdoctor.cluster.source import FetchError, LoadResult, gc_paused
from k8sdoctor.cluster.state import ClusterState, K8sObject, Scope, newest_timestamp, parse_time
from k8sdoctor.errors import BadInputError

ANNOTATION_PREFIX = "k8sdoctor.dev/"
CAPTURED_AT = ANNOTATION_PREFIX + "captured-at"
LISTED_KINDS = ANNOTATION_PREFIX + "listed-kinds"
SOURCE = ANNOTATION_PREFIX + "source"
FETCH_ERRORS = ANNOTATION_PREFIX + "fetch-errors"
DATA_SIZES = ANNOTATION_PREFIX + "data-sizes"
"""On a ConfigMap whose values were left out of a snapshot: ``{key: bytes}``."""

_SUFFIXES = {".yaml", ".yml", ".json"}
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
        if not recorded_listing and not objects:
            raise BadInputError(
                f"snapshot {source}: holds no Kubernetes object (an empty file, or the "
                "output of a kubectl command that failed); nothing to analyze"
            )
        inferred = not recorded_listing
        as_manifests = (self.manifests if self.manifests is not None else
                        not recorded_listing and manifests.look_like_manifests(
                            o for items in objects.values() for o in items))
        if as_manifests:
            objects = defaultdict(list, manifests.prepare(objects))
            listed = set(objects) | manifests.COVERED_KINDS
            if self.covered_kinds is not None:
                listed |= set(KNOWN_KINDS) if ALL_KINDS in self.covered_kinds else set(
                    self.covered_kinds)
            inferred = False
        elif not recorded_listing:
            listed = set(objects)
            if self.covered_kinds is not None and ALL_KINDS in self.covered_kinds:
                listed.update(KNOWN_KINDS)
                inferred = False
            elif self.covered_kinds is not None:
                listed.update(self.covered_kinds)
        held_kinds = listed if recorded_listing else {k for k, items in objects.items() if items}
        if kinds and not held_kinds & set(kinds):
            errors.append(_nothing_to_check(source, held_kinds))
        _apply_scope(objects, scope)
        now = captured_at or newest_timestamp(o for items in objects.values() for o in items)
        state = ClusterState(
            objects,
            now=now or datetime.now(timezone.utc),
            listed_kinds=listed,
            scope=scope,
            source=source,
        )
        return LoadResult(state, tuple(errors), listing_inferred=inferred,
                          manifests=as_manifests)


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
    kinds where the API leaves it out) or a single object."""
    kind = document.get("kind")
    if not isinstance(kind, str) or not kind:
        raise BadInputError(f"snapshot {where}: a document has no 'kind'")
    if kind == "List" or (kind.endswith("List") and "items" in document):
        item_kind = kind[: -len("List")] or None
        item_api_version = document.get("apiVersion") if item_kind else None
        for index, item in enumerate(document.get("items") or ()):
            if not isinstance(item, Mapping):
                raise BadInputError(f"snapshot {where}: item {index} of the {kind} is not an "
                                    "object")
            item = dict(item)
            item.setdefault("kind", item_kind)
            if item_api_version:
                item.setdefault("apiVersion", item_api_version)
            yield from _flatten(item, f"{where} item {index}")
        return
    if not isinstance(document.get("metadata"), Mapping):
        raise BadInputError(f"snapshot {where}: the {kind} has no metadata")
    known = KNOWN_KINDS.get(kind)
    if known is not None and known.metadata_only:
        # a `kubectl get secrets -o yaml` dump holds the values: they go no further than here
        yield metadata_view(known, document["metadata"])
        return
    yield dict(document)


def _apply_scope(objects: dict[str, list[K8sObject]], scope: Scope) -> None:
    """Keep what a live run with the same ``-n`` and ``-l`` would have listed."""
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
    items = [obj if include_configmap_data or kind != "ConfigMap" else configmap_without_data(obj)
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


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader that keeps timestamps as strings, as the API's JSON has them."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
