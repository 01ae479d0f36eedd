"""The interface every cluster source implements, and what it hands back."""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from k8sdoctor.cluster.state import ClusterState, Scope


@dataclass(frozen=True)
class FetchError:
    """A kind that could not be listed. The run goes on without it; the report says so."""

    kind: str
    message: str


@dataclass(frozen=True)
class LoadResult:
    state: ClusterState
    errors: tuple[FetchError, ...] = field(default=())
    missing_namespaces: tuple[str, ...] = field(default=())
    """Namespaces of ``-n`` that do not exist: worth a warning, as a typo would otherwise give
    a silent, empty report."""
    listing_inferred: bool = False
    """The source could not tell which kinds it holds completely (a plain ``kubectl get``
    file): a kind it lacks may still exist, and references to it go unchecked."""
    clock_source: str = ""
    """Where the state's "now" came from (``server_time.SOURCES``)."""
    manifests: bool = False
    """The objects are plain manifests with no status (``helm template``): judged as specs."""


class ClusterSource(Protocol):
    """Somewhere cluster objects come from: a live API server or a snapshot."""

    def load(self, kinds: Collection[str], scope: Scope) -> LoadResult:
        """Every object of ``kinds`` within ``scope``, as one state.

        Raises ``BadInputError`` for unreadable input and ``ClusterUnreachableError`` when the
        cluster cannot be reached at all; a single kind that fails becomes a ``FetchError``.
        """
        ...


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a source decodes objects (and while a report
    is rendered: ``report.render``).

    Decoding Lists builds a great many dicts and lists that never form cycles, and the collector
    would rescan them over and over as the heap grows: a third of the time to list 5,000 pods,
    three quarters of the time to read a 90,000-object snapshot. It runs again once they are in.
    ``run`` also keeps it paused while analyzers build indexes and findings over the state, and
    then freezes the state (``gc.freeze``) so that no later collection scans it again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
