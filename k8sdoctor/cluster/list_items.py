"""The items of a live List page made objects of the state: completed, trimmed and checked.

A List leaves ``apiVersion`` and ``kind`` out of its items, carries each object's
``managedFields`` (which client last set which field: of no use to an analyzer, and a third of
the bytes) and may hold an item of the wrong shape. Each item is completed in place, its
``managedFields`` cut off into a list the state holds, and checked against the shape analyzers
expect. The cut-off fields are held rather than freed: freeing millions of small dicts and strings
page by page took 0.4 s of the 3.2 s a 10,000-pod cluster takes to load, to save 260 of its
830 MiB; a run ends without freeing them (``cli.console_main``), and a state that goes frees
them with it (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from typing import Any

from k8sdoctor.cluster.kinds import ResourceKind, metadata_view
from k8sdoctor.cluster.state import K8sObject
from k8sdoctor.cluster.validate import Rejected, admissible, admit


def take_items(kind: ResourceKind, page_items: Any, path: str, items: list[K8sObject],
               dropped: list[Rejected], cut_off: list[object]) -> None:
    """Each item of a page, made a whole object (``as_object``), into ``items`` when it has the
    shape analyzers expect, else into ``dropped``; what is cut off the items goes to
    ``cut_off``."""
    for item in page_items:
        obj = as_object(kind, item, cut_off)
        if admissible(obj):
            items.append(obj)
            continue
        rejected = admit(obj, f"GET {path}, item {len(items) + len(dropped)}")
        if rejected is None:
            items.append(obj)
        else:
            dropped.append(rejected)


def as_object(kind: ResourceKind, item: Any, cut_off: list[object]) -> Any:
    """A list item as a whole object: ``apiVersion`` and ``kind`` set (lists leave them out), no
    ``managedFields`` (moved to ``cut_off``), and for metadata-only kinds nothing but metadata.
    An item of the wrong shape is returned as it is, for ``admit`` to name what is wrong with
    it.

    The items come fresh from the parser and nothing else holds them, so they are completed in
    place rather than copied: ``apiVersion`` and ``kind`` come last in them (``snapshot``
    writes them first again)."""
    if type(item) is not dict:
        return item
    metadata = item.get("metadata")
    if type(metadata) is dict:
        if "managedFields" in metadata:
            cut_off.append(metadata.pop("managedFields"))
        if kind.metadata_only:
            return metadata_view(kind, metadata)
    item["apiVersion"], item["kind"] = kind.api_version, kind.kind
    return item
