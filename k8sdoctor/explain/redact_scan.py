"""The redaction prefilter for many texts at once: one scan of them all by RE2's automaton.

``redact.maybe_secret`` tests a text with ~20 searches, each a pass over it at about a nanosecond
a character: ~3 us a text. A report of 10,000 findings holds ~40,000 distinct texts, and Python's
regular expressions have no single pass for many words. RE2 compiles the gates to one automaton
that reads each byte once, so the texts are joined (ASCII ones: a byte is a character) and scanned
together, and only those the scan marks are tested one by one. The scan's shapes are
``maybe_secret``'s, looser in places (``***`` after a key passes), in RE2's syntax: no lookahead
(a value that is not ``false`` is spelled out character by character), and a ``\\s`` narrower
than Python's (the space class is spelled out). A match across two texts marks both: a needless
test, never a missed one.
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_right
from collections.abc import Collection
from itertools import accumulate, repeat
from typing import Any

import re2

from k8sdoctor.explain.redact import (
    _KEY_WORDS,
    _SETTLED_WORDS,
    _TOKEN_CHARACTERS,
    maybe_secret,
)

_SEPARATOR = "@"
"""Between the joined texts: no class of the gates holds it, so few matches run across two."""
_SPACE = r"[\t\n\x0b\x0c\r\x1c-\x1f ]"
"""What Python's ``\\s`` matches in ASCII text."""
_KEY = "(?:" + "|".join(map(re.escape, _KEY_WORDS)) + ")"

_WORD_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789_"


def _not_one_of(words: list[str], ended: bool = False) -> list[str]:
    """Alternatives of a regular expression for the start of a text that is not one of
    ``words`` (lower-case, non-empty) followed by a character that is not a word character
    (RE2 has no lookahead): the first is the class of the first characters no word starts with.
    ``ended``: the empty word is among them too."""
    following: dict[str, list[str]] = {}
    for word in words:
        following.setdefault(word[0], []).append(word[1:])
    if ended:  # a non-word character here ends a word: no alternative for it
        alternatives = ["[" + "".join(c for c in _WORD_CHARACTERS if c not in following) + "]"]
    else:
        alternatives = ["[^" + re.escape("".join(sorted(following))) + "]"]
    for first, rests in sorted(following.items()):
        longer = [rest for rest in rests if rest]
        inner = (_not_one_of(longer, ended="" in rests) if longer
                 else ["[" + _WORD_CHARACTERS + "]"])
        alternatives.append(re.escape(first) + "(?:" + "|".join(inner) + ")")
    return alternatives


_FIRST_LETTERS = "".join(sorted({word[0] for word in _SETTLED_WORDS}))
_KEYED_VALUE = (
    rf"{_KEY}[\"']?{_SPACE}*[:=]{_SPACE}*(?:[^{_SPACE[1:-1]}\"'{_FIRST_LETTERS}]"
    rf"|[\"'][^{_FIRST_LETTERS}]|[\"']?(?:{'|'.join(_not_one_of(list(_SETTLED_WORDS))[1:])}))"
)
"""A sensitive key, its separator and a value that ``_SETTLED`` may not describe: not one of
the settled words (``false``, ``no``...); ``***``, ``<value>`` and ``[REDACTED`` are let
through, for the test of the text to settle."""

_GATES = re2.compile("|".join((
    _KEYED_VALUE,
    rf"://[^{_SPACE[1:-1]}/@]+@",
    r"\.eyj",
    "-----",
    "authorization",
    r"ya29\.|gh[pousr]_|github_pat_|glpat-|xox|[sr]k_(?:live|test)_|hf_|sk-|npm_|pypi-|sg\."
    r"|gocspx-|hooks\.slack\.com/services/",
    rf"bearer{_SPACE}+{_TOKEN_CHARACTERS}{{8}}",
    rf"token{_SPACE}+{_TOKEN_CHARACTERS}{{16}}",
    rf"basic{_SPACE}+[a-z0-9+/]{{8}}",
    rf"api[_-]?key{_SPACE}+{_TOKEN_CHARACTERS}{{8}}",
    rf"--[a-z0-9_.-]*{_KEY}{_SPACE}",
)).encode())
"""``maybe_secret``'s gates, loosened, for the lower-cased text."""
_CASE_SENSITIVE = re2.compile(rb"A(?:KIA|SIA|GPA|IDA|ROA|NPA)[A-Z0-9]{16}|AIza[0-9A-Za-z_-]{35}")


def maybe_secrets(texts: Collection[str]) -> list[str]:
    """The texts among ``texts`` for which ``maybe_secret`` is true."""
    plain, joined = list(texts), _SEPARATOR.join(texts)
    marked: list[str] = []
    if not joined.isascii():
        marked = [text for text in plain if not text.isascii()]
        plain = [text for text in plain if text.isascii()]
        joined = _SEPARATOR.join(plain)
    if plain:
        encoded = (joined + _SEPARATOR).encode()
        starts = list(accumulate(map(operator.add, map(len, plain), repeat(1)), initial=0))
        hits = _marks(_GATES, encoded.lower(), starts) | _marks(_CASE_SENSITIVE, encoded, starts)
        marked.extend(plain[index] for index in sorted(hits))
    return [text for text in marked if maybe_secret(text)]


def _marks(gates: Any, joined: bytes, starts: list[int]) -> set[int]:
    """The indexes of the texts that a match of ``gates`` touches; ``starts``: where each text
    starts in ``joined``. After a match the scan goes on from the next text."""
    marked: set[int] = set()
    position = 0
    while (match := gates.search(joined, position)) is not None:
        first = bisect_right(starts, match.start()) - 1
        last = bisect_right(starts, match.end() - 1) - 1
        marked.update(range(first, last + 1))
        position = starts[last + 1]
    return marked
