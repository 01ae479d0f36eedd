"""The explanation cache: one small JSON file per answer under the user's XDG cache directory.

The key is a hash of everything that shapes the answer: backend, model, prompt version, language
and the exact (anonymized) text sent. Entries hold the answer as the model gave it, so with
anonymization on no real name is ever written to disk; they are created mode 0600 in a 0700
directory and expire after a TTL. A damaged or expired entry is a miss, never an error, and a
cache directory that cannot be written only costs the next run a call.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from k8sdoctor.explain.answer import Answer
from k8sdoctor.private_files import private_dir, replace_file

ENTRY_FORMAT = 1
ENTRIES_DIR = "explanations"
DEFAULT_TTL_SECONDS = 7 * 86400.0


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CACHE_HOME/k8sdoctor`` (``~/.cache/k8sdoctor`` when unset or relative)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "k8sdoctor"


@dataclass(frozen=True)
class CacheKey:
    backend: str
    model: str
    prompt_version: str
    language: str
    text: str
    """Everything sent: the system prompt and the (anonymized) group prompt."""

    def digest(self) -> str:
        material = json.dumps(
            [ENTRY_FORMAT, self.backend, self.model, self.prompt_version, self.language,
             self.text],
            ensure_ascii=False,
        )
        return hashlib.sha256(material.encode()).hexdigest()


@dataclass
class ExplanationCache:
    directory: Path
    ttl_seconds: float = DEFAULT_TTL_SECONDS
    clock: Callable[[], float] = field(default=time.time)

    @property
    def entries(self) -> Path:
        return self.directory / ENTRIES_DIR

    def get(self, key: CacheKey) -> Answer | None:
        path = self._path(key)
        answer: Answer | None = None
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            if entry["format"] == ENTRY_FORMAT:
                stored_at = float(entry["storedAt"])
                answer = Answer.from_dict(entry["answer"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            answer = None
        if answer is None or not 0 <= self.clock() - stored_at <= self.ttl_seconds:
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            return None
        return answer

    def put(self, key: CacheKey, answer: Answer, model: str) -> None:
        """Store ``answer``; a cache that cannot be written is silently skipped."""
        entry = {"format": ENTRY_FORMAT, "storedAt": self.clock(), "backend": key.backend,
                 "model": model, "answer": answer.to_dict()}
        with contextlib.suppress(OSError):
            private_dir(self.directory)
            private_dir(self.entries)
            replace_file(self._path(key), json.dumps(entry, ensure_ascii=False).encode())

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        removed = 0
        try:
            paths = list(self.entries.iterdir())
        except FileNotFoundError:
            return 0
        for path in paths:
            if path.suffix == ".json" or path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                removed += path.suffix == ".json"
        return removed

    def list_entries(self) -> list[CacheEntry]:
        """Every stored entry, oldest first; damaged ones are listed with ``damaged`` set."""
        try:
            paths = [p for p in self.entries.iterdir() if p.suffix == ".json"]
        except FileNotFoundError:
            return []
        now = self.clock()
        listed: list[CacheEntry] = []
        for path in paths:
            try:
                size = path.stat().st_size
                entry = json.loads(path.read_text(encoding="utf-8"))
                stored_at = float(entry["storedAt"])
                listed.append(CacheEntry(
                    key=path.stem, backend=str(entry.get("backend") or "?"),
                    model=str(entry.get("model") or "?"), stored_at=stored_at, size=size,
                    expired=not 0 <= now - stored_at <= self.ttl_seconds))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                listed.append(CacheEntry(key=path.stem, backend="?", model="?", stored_at=0.0,
                                         size=_size(path), expired=True, damaged=True))
        return sorted(listed, key=lambda e: (e.stored_at, e.key))

    def stats(self) -> CacheStats:
        entries = self.list_entries()
        live = [e for e in entries if not e.expired]
        return CacheStats(
            directory=self.entries,
            entries=len(entries),
            expired=len(entries) - len(live),
            damaged=sum(e.damaged for e in entries),
            bytes=sum(e.size for e in entries),
            oldest=min((e.stored_at for e in live), default=None),
            newest=max((e.stored_at for e in live), default=None),
            by_model=dict(Counter(f"{e.backend}/{e.model}" for e in live)),
            ttl_seconds=self.ttl_seconds,
        )

    def _path(self, key: CacheKey) -> Path:
        return self.entries / f"{key.digest()}.json"


@dataclass(frozen=True)
class CacheEntry:
    """What ``k8sdoctor cache list`` shows of one stored answer (never its text)."""

    key: str
    backend: str
    model: str
    stored_at: float
    size: int
    expired: bool
    damaged: bool = False


@dataclass(frozen=True)
class CacheStats:
    directory: Path
    entries: int
    expired: int
    """Entries past the TTL (or damaged): the next lookup removes them."""
    damaged: int
    bytes: int
    oldest: float | None
    newest: float | None
    by_model: dict[str, int]
    """Valid entries by ``backend/model``."""
    ttl_seconds: float


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
