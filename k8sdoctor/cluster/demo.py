"""The bundled demo cluster (``k8sdoctor/data/demo.yaml``) as a cluster source, read fast.

demo.yaml is the demo's one source, but parsing its YAML (430 KB) takes about 0.2 s even with
libyaml (PyYAML builds the objects in Python), more than half what all the rest of a demo run
takes, while the same objects read back as JSON in a few milliseconds. So
the first run keeps the parsed documents as JSON in the user's cache directory, named by a hash
of demo.yaml (and of k8sdoctor's version), and later runs read that copy. A changed demo.yaml
gets another name, so a stale copy is never read; a copy that cannot be written or read (a
read-only home, a damaged file) only costs the YAML parse, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Collection, Mapping
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from k8sdoctor import __version__
from k8sdoctor.cluster.snapshot import load_documents, read_documents
from k8sdoctor.cluster.source import LoadResult, gc_paused
from k8sdoctor.cluster.state import Scope
from k8sdoctor.explain.cache import default_cache_dir
from k8sdoctor.private_files import private_dir, replace_file

DEMO_SNAPSHOT = "demo.yaml"
DEMO_LABEL = "demo cluster"
PARSED_FORMAT = 1
"""Part of the cached copy's name: raise it when what is cached changes meaning."""


class DemoSource:
    """The demo snapshot at ``path``, its parsed documents cached under ``cache``."""

    def __init__(self, path: Path, cache: Path | None) -> None:
        self.path = path
        self.cache = cache

    def load(self, kinds: Collection[str], scope: Scope) -> LoadResult:
        with gc_paused():
            where = str(self.path)
            documents = [(where, document) for document in self._documents()]
            return load_documents(documents, kinds, scope, DEMO_LABEL)

    def _documents(self) -> list[Any]:
        text = self.path.read_bytes()
        copy = self._copy_path(text)
        if copy is not None:
            with contextlib.suppress(OSError, orjson.JSONDecodeError):
                documents = orjson.loads(copy.read_bytes())
                if isinstance(documents, list):
                    return documents
        documents = [document for _, document in read_documents(str(self.path))]
        if copy is not None:
            _store(copy, documents)
        return documents

    def _copy_path(self, text: bytes) -> Path | None:
        if self.cache is None:
            return None
        digest = hashlib.sha256(f"{__version__}\0{PARSED_FORMAT}\0".encode() + text)
        return self.cache / f"demo-{digest.hexdigest()[:32]}.json"


def _store(copy: Path, documents: list[Any]) -> None:
    """Write the parsed copy whole or not at all, and only when JSON gives back exactly what
    the YAML did (it would not for a non-string key or a NaN)."""
    try:
        blob = orjson.dumps(documents)
    except TypeError:
        return
    if orjson.loads(blob) != documents:
        return
    with contextlib.suppress(OSError):
        private_dir(copy.parent)
        replace_file(copy, blob)


def demo_source(stack: ExitStack, environ: Mapping[str, str] | None = None) -> DemoSource:
    """The bundled broken demo cluster, valid while ``stack`` is open; its parsed copy is kept
    beside the explanation cache (``$XDG_CACHE_HOME/k8sdoctor``)."""
    bundled = resources.files("k8sdoctor.data").joinpath(DEMO_SNAPSHOT)
    try:
        cache: Path | None = default_cache_dir(environ)
    except RuntimeError:  # no home directory to find
        cache = None
    return DemoSource(stack.enter_context(resources.as_file(bundled)), cache)
