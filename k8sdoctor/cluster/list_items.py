"""The items of a live List page made objects of the state: completed, trimmed and checked.

A List leaves ``apiVersion`` and ``kind`` out of its items, carries each object's
``managedFields`` (which client last set which field: of no use to an analyzer, and about a
third of the memory the objects take) and may hold an item of the wrong shape. Each item is
completed in place, its ``managedFields`` cut off, and checked against the shape analyzers
expect.

Freeing what is cut off costs CPU, one deallocation per node of each entry's field tree. A
process that exits without freeing the state, as the CLI's one-shot commands do, need never pay
it: for them ``CutOffs`` holds the cut-offs of the first ``HOLD_BYTES`` of pages with the state
instead. At 10,000 pods that is 13% less CPU for 260 MiB more memory. Past that budget they are
freed page by page, which keeps the peak memory down where holding stops paying: at 40,000 pods
and more the larger heap costs in page faults what freeing costs (``benchmarks/RESULTS.md``). A
process that lives on (``serve``, the MCP server) frees them at once: it would only pay later,
with a higher peak.
"""

from __future__ import annotations

import threading
from typing import Any

from k8sdoctor.cluster.kinds import ResourceKind, metadata_view
from k8sdoctor.cluster.state import K8sObject
from k8sdoctor.cluster.validate import Rejected, admissible, admit

HOLD_BYTES = 256 * 2**20
"""Of how many bytes of List pages a one-shot run holds the cut-off ``managedFields``."""


class CutOffs:
    """Where the ``managedFields`` cut off the items of one load's first ``budget`` bytes of
    pages are held (``take_items`` is given ``holder()``), kept with the load's state."""

    def __init__(self, budget: int) -> None:
        self._left = budget
        self._held: list[Any] = []
        self._lock = threading.Lock()

    def holder(self, page_bytes: int) -> list[Any] | None:
        """The list that holds the cut-offs of a page of ``page_bytes``; None once the budget
        is spent, and they are freed."""
        with self._lock:
            self._left -= page_bytes
            return self._held if self._left >= 0 else None


def take_items(kind: ResourceKind, page_items: Any, path: str, items: list[K8sObject],
               dropped: list[Rejected], held: list[Any] | None = None) -> None:
    """Each item of a page, made a whole object (``as_object``), into ``items`` when it has the
    shape analyzers expect, else into ``dropped``; the ``managedFields`` cut off go into
    ``held`` when it is given."""
    for item in page_items:
        obj = as_object(kind, item, held)
        if admissible(obj):
            items.append(obj)
            continue
        rejected = admit(obj, f"GET {path}, item {len(items) + len(dropped)}")
        if rejected is None:
            items.append(obj)
        else:
            dropped.append(rejected)


def as_object(kind: ResourceKind, item: Any, held: list[Any] | None = None) -> Any:
    """A list item as a whole object: ``apiVersion`` and ``kind`` set (lists leave them out), no
    ``managedFields`` (put in ``held`` when given), and for metadata-only kinds nothing but
    metadata. An item of the wrong shape is returned as it is, for ``admit`` to name what is
    wrong with it.

    The items come fresh from the parser and nothing else holds them, so they are completed in
    place rather than copied: ``apiVersion`` and ``kind`` come last in them (``snapshot``
    writes them first again)."""
    if type(item) is not dict:
        return item
    metadata = item.get("metadata")
    if type(metadata) is dict:
        cut = metadata.pop("managedFields", None)
        if held is not None and cut is not None:
            held.append(cut)
        if kind.metadata_only:
            return metadata_view(kind, metadata)
    item["apiVersion"], item["kind"] = kind.api_version, kind.kind
    return item
