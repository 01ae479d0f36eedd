"""The interface every cluster source implements, and what it hands back."""

from __future__ import annotations

from collections.abc import Collection
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


class ClusterSource(Protocol):
    """Somewhere cluster objects come from: a live API server or a snapshot."""

    def load(self, kinds: Collection[str], scope: Scope) -> LoadResult:
        """Every object of ``kinds`` within ``scope``, as one state.

        Raises ``BadInputError`` for unreadable input and ``ClusterUnreachableError`` when the
        cluster cannot be reached at all; a single kind that fails becomes a ``FetchError``.
        """
        ...
