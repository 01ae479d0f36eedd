"""The items of a live List page made objects of the state: completed, trimmed and checked.

A List leaves ``apiVersion`` and ``kind`` out of its items, carries each object's
``managedFields`` (which client last set which field: of no use to an analyzer, and about a
third of the memory the objects take) and may hold an item of the wrong shape. Each item is
completed in place, its ``managedFields`` dropped, and checked against the shape analyzers
expect.

Holding the dropped ``managedFields`` instead of freeing them page by page was measured and left
out: it saves a tenth of the CPU at 10,000 pods, nothing from 40,000 up (the larger heap costs
as much in page faults), and adds half again to the peak memory (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

from typing import Any

from k8sdoctor.cluster.kinds import ResourceKind, metadata_view
from k8sdoctor.cluster.state import K8sObject
from k8sdoctor.cluster.validate import Rejected, admissible, admit


def take_items(kind: ResourceKind, page_items: Any, path: str, items: list[K8sObject],
               dropped: list[Rejected]) -> None:
    """Each item of a page, made a whole object (``as_object``), into ``items`` when it has the
    shape analyzers expect, else into ``dropped``."""
    for item in page_items:
        obj = as_object(kind, item)
        if admissible(obj):
            items.append(obj)
            continue
        rejected = admit(obj, f"GET {path}, item {len(items) + len(dropped)}")
        if rejected is None:
            items.append(obj)
        else:
            dropped.append(rejected)


def as_object(kind: ResourceKind, item: Any) -> Any:
    """A list item as a whole object: ``apiVersion`` and ``kind`` set (lists leave them out), no
    ``managedFields``, and for metadata-only kinds nothing but metadata. An item of the wrong
    shape is returned as it is, for ``admit`` to name what is wrong with it.

    The items come fresh from the parser and nothing else holds them, so they are completed in
    place rather than copied: ``apiVersion`` and ``kind`` come last in them (``snapshot``
    writes them first again)."""
    if type(item) is not dict:
        return item
    metadata = item.get("metadata")
    if type(metadata) is dict:
        metadata.pop("managedFields", None)
        if kind.metadata_only:
            return metadata_view(kind, metadata)
    item["apiVersion"], item["kind"] = kind.api_version, kind.kind
    return item
