"""Retries with exponential backoff that honour a server's ``Retry-After``, for LLM backends.

A backend wraps one HTTP call in ``call_with_retry`` and supplies a classifier that says whether
an exception is worth another attempt (HTTP 429 and 5xx, a dropped connection) and how long the
server asked us to wait. The number of attempts is bounded, a server that asks for a wait longer
than ``RetryPolicy.max_retry_after`` is not waited for (a quota that resets in an hour fails now,
not in an hour), and ``sleep`` is injectable so tests never really wait.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. The defaults suit an interactive CLI run with a few concurrent calls."""

    attempts: int = 4
    """Tries in all, the first one included."""
    base_delay: float = 1.0
    """Backoff before the second try; doubled for each one after, when the server names none."""
    max_delay: float = 20.0
    max_retry_after: float = 60.0
    """A server asking for a longer wait than this (seconds) is not retried."""
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[], float] = random.random
    """A number in [0, 1); spreads the retries of concurrent calls apart."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")

    def backoff(self, retry_number: int) -> float:
        """The wait before retry ``retry_number`` (1 for the first retry) when the server names
        none: exponential, capped, with the upper half jittered."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry_number - 1))
        return ceiling / 2 + ceiling / 2 * self.jitter()


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True)
class RetryHint:
    """The classifier's verdict on a retryable failure."""

    reason: str
    """What went wrong, for the final error: ``HTTP 429``, ``HTTP 503``, ``connection reset``."""
    retry_after: float | None = None
    """Seconds the server asked us to wait (``Retry-After``), if it said."""


class RetryAfterTooLong(Exception):
    """The server asked for a wait longer than the policy accepts; ``cause`` is its failure."""

    def __init__(self, cause: Exception, retry_after: float) -> None:
        super().__init__(f"the server asks to retry after {retry_after:g} s")
        self.cause = cause
        self.retry_after = retry_after


class RetryCounter:
    """An ``on_retry`` callback that counts retries, over one or several ``call_with_retry``."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, retry_number: int, delay: float, hint: RetryHint) -> None:
        self.count += 1


def call_with_retry(
    operation: Callable[[], T],
    classify: Callable[[Exception], RetryHint | None],
    policy: RetryPolicy,
    on_retry: Callable[[int, float, RetryHint], None] | None = None,
) -> T:
    """``operation()``, tried again while ``classify`` finds its failure retryable.

    The last failure is re-raised as it came once the attempts are spent or the failure is not
    retryable; ``RetryAfterTooLong`` is raised when the server asks for too long a wait.
    ``on_retry(retry_number, delay, hint)`` is told about each retry before its wait.
    """
    retry_number = 0
    while True:
        try:
            return operation()
        except Exception as err:
            hint = classify(err)
            if hint is None or retry_number + 1 >= policy.attempts:
                raise
            if hint.retry_after is not None and hint.retry_after > policy.max_retry_after:
                raise RetryAfterTooLong(err, hint.retry_after) from err
            retry_number += 1
            delay = (
                hint.retry_after if hint.retry_after is not None else policy.backoff(retry_number)
            )
            if on_retry is not None:
                on_retry(retry_number, delay, hint)
            policy.sleep(delay)


def retry_after_seconds(
    headers: Mapping[str, str], now: Callable[[], datetime] | None = None
) -> float | None:
    """The wait a response asks for, from ``retry-after-ms`` or ``Retry-After`` (seconds or an
    HTTP date); None when it names none or names it in a form we cannot read."""
    lowered = {key.lower(): value for key, value in headers.items()}
    milliseconds = _non_negative_number(lowered.get("retry-after-ms"))
    if milliseconds is not None:
        return milliseconds / 1000
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _non_negative_number(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now() if now is not None else datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def _non_negative_number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
