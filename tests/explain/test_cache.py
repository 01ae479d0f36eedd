"""The explanation cache: keyed on everything that shapes the answer, private, expiring."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from k8sdoctor.explain.answer import Answer
from k8sdoctor.explain.cache import CacheKey, ExplanationCache, default_cache_dir

ANSWER = Answer(
    summary="The container name-1a2b3c4d exits with code 1 at start.",
    root_cause="DATABASE_URL points at a host that does not resolve.",
    steps=("Fix the Secret name-5e6f7a8b", "Restart the rollout"),
    commands=("kubectl rollout restart deployment/name-1a2b3c4d -n ns-9c0d1e2f",),
    confidence="medium",
)
KEY = CacheKey("ollama", "llama3.1:8b", "p1", "en", "system\x00prompt about name-1a2b3c4d")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(tmp_path: Path, clock: Clock) -> ExplanationCache:
    return ExplanationCache(tmp_path / "k8sdoctor", ttl_seconds=3600, clock=clock)


def test_a_stored_answer_comes_back(cache: ExplanationCache) -> None:
    assert cache.get(KEY) is None
    cache.put(KEY, ANSWER, model="llama3.1:8b")
    assert cache.get(KEY) == ANSWER


@pytest.mark.parametrize(
    "changed",
    [
        CacheKey("openai", KEY.model, KEY.prompt_version, KEY.language, KEY.text),
        CacheKey(KEY.backend, "llama3.2:3b", KEY.prompt_version, KEY.language, KEY.text),
        CacheKey(KEY.backend, KEY.model, "p2", KEY.language, KEY.text),
        CacheKey(KEY.backend, KEY.model, KEY.prompt_version, "de", KEY.text),
        CacheKey(KEY.backend, KEY.model, KEY.prompt_version, KEY.language, KEY.text + "."),
    ],
)
def test_every_part_of_the_key_matters(cache: ExplanationCache, changed: CacheKey) -> None:
    cache.put(KEY, ANSWER, model=KEY.model)
    assert cache.get(changed) is None


def test_files_are_private(cache: ExplanationCache) -> None:
    cache.put(KEY, ANSWER, model=KEY.model)
    [entry] = cache.entries.iterdir()
    assert stat.S_IMODE(os.stat(entry).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cache.entries).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(cache.directory).st_mode) == 0o700
    assert "prompt about" not in entry.read_text()


def test_entries_expire_after_the_ttl(cache: ExplanationCache, clock: Clock) -> None:
    cache.put(KEY, ANSWER, model=KEY.model)
    clock.now += 3599
    assert cache.get(KEY) == ANSWER
    clock.now += 2
    assert cache.get(KEY) is None
    assert list(cache.entries.iterdir()) == []


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"format": 1}', '{"format": 99, "storedAt": 1800000000, "answer": {}}',
     '{"format": 1, "storedAt": 1800000000, "answer": {"summary": 3}}'],
)
def test_a_damaged_entry_is_a_miss(cache: ExplanationCache, content: str) -> None:
    cache.put(KEY, ANSWER, model=KEY.model)
    [entry] = cache.entries.iterdir()
    entry.write_text(content)
    assert cache.get(KEY) is None
    assert not entry.exists()


def test_clear_removes_every_entry(cache: ExplanationCache) -> None:
    assert cache.clear() == 0
    cache.put(KEY, ANSWER, model=KEY.model)
    cache.put(CacheKey("openai", "gpt-4o-mini", "p1", "en", "x"), ANSWER, model="gpt-4o-mini")
    assert cache.clear() == 2
    assert cache.get(KEY) is None


def test_an_unwritable_cache_is_skipped(tmp_path: Path, clock: Clock) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = ExplanationCache(blocker / "k8sdoctor", clock=clock)
    cache.put(KEY, ANSWER, model=KEY.model)
    assert cache.get(KEY) is None


def test_truncated_and_text_answers_round_trip(cache: ExplanationCache) -> None:
    odd = Answer(summary="plain prose", truncated=True, structured=False)
    cache.put(KEY, odd, model=KEY.model)
    assert cache.get(KEY) == odd
    stored = json.loads(next(cache.entries.iterdir()).read_text())
    assert stored["answer"]["truncated"] is True


def test_default_directory_follows_xdg(tmp_path: Path) -> None:
    assert default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "k8sdoctor"
    assert default_cache_dir({"XDG_CACHE_HOME": "relative"}) == (
        Path.home() / ".cache" / "k8sdoctor"
    )
