"""Waiting when the API server says "not now", as client-go does, within the run's time limits.

An API server short of capacity answers ``429 Too Many Requests`` (API Priority and Fairness, or
the older max-in-flight limit) or a 5xx such as ``503 Service Unavailable``, with a
``Retry-After`` header saying how many seconds to wait. client-go then waits that long and asks
again, the same request, up to 10 tries; so does the live source. A 429 without a readable
``Retry-After`` waits 1 s (what kube-apiserver sends); a 5xx without one is a real error and is
not asked again. Waits are capped at 10 s, and a request's tries together never outlast
``--request-timeout`` nor the fetch's ``--fetch-timeout`` deadline. When the tries run out the
error says plainly that the server throttled the request, how often and for how long.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus

from k8sdoctor.cluster.durations import format_seconds
from k8sdoctor.cluster.fetch_problems import HttpError
from k8sdoctor.cluster.server_time import header_of, parse_date

TOO_MANY_REQUESTS = 429


@dataclass(frozen=True)
class RetryPolicy:
    """How answers that ask to be retried later are waited for."""

    tries: int = 10
    """Requests made in all, the first one included (client-go's limit)."""
    longest_wait: float = 10.0
    """The longest single wait, whatever ``Retry-After`` asks for."""
    default_wait: float = 1.0
    """The wait after a 429 whose ``Retry-After`` is missing or unreadable."""
    sleep: Callable[[float], None] = time.sleep


def retry_wait(
    policy: RetryPolicy, status: int, retry_after: str | None, server_now: datetime | None = None
) -> float | None:
    """Seconds to wait before asking again after ``status``, or None when it is not an answer to
    ask again: anything but a 429, or a 5xx that carries a ``Retry-After``.

    ``retry_after`` is the header: seconds (``1``) or an HTTP date, read against the server's own
    clock (``server_now``, its ``Date`` header) when it sent one."""
    asked = parse_retry_after(retry_after, server_now)
    if status == TOO_MANY_REQUESTS:
        wait = policy.default_wait if asked is None else asked
    elif status >= 500 and asked is not None:
        wait = asked
    else:
        return None
    return min(max(wait, 0.0), policy.longest_wait)


def retry_after_of(response: object) -> str | None:
    """The ``Retry-After`` header of a response or an ``ApiException``, if any."""
    return header_of(response, "Retry-After")


def parse_retry_after(value: str | None, server_now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds: a whole number of seconds, or an HTTP date less the server's
    (or this machine's) time; None when missing or not either form."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    moment = parse_date(text)
    if moment is None:
        return None
    now = server_now or datetime.now(timezone.utc)
    return max(0.0, (moment - now).total_seconds())


class Throttled(HttpError):
    """The server kept asking to be asked later, and the tries or the time ran out."""

    def __init__(self, error: HttpError, tries: int, waited: float, stopped_by: str = "") -> None:
        super().__init__(error.status, error.reason, error.message)
        self.tries, self.waited, self.stopped_by = tries, waited, stopped_by
        """``stopped_by``: the time limit that left no room for the next wait ("" when the
        tries ran out)."""

    def __str__(self) -> str:
        answer = f"{self.status} {_phrase(self.status)}"
        if self.status == TOO_MANY_REQUESTS:
            what = ("throttled by the API server (API Priority and Fairness): it answered "
                    f"{answer}")
            hint = ("the server is overloaded or this user's priority level is full; run again "
                    "later, with a lower --fetch-concurrency, or have the cluster's FlowSchemas "
                    "give this user more room")
        else:
            what = f"the API server answered {answer} ({self.message}), asking to retry later,"
            hint = "it is overloaded or restarting; run again later"
        tries = "1 try" if self.tries == 1 else f"{self.tries} tries"
        stop = (f", and {self.stopped_by} left no time to wait again" if self.stopped_by else "")
        return f"{what} to {tries} over {format_seconds(self.waited)}{stop}; {hint}"

    def problem(self) -> str:
        return str(self)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Server Error"


class Tries:
    """One request's tries: after an answer that asks to be retried, wait or give up.

    ``until`` is when ``--request-timeout`` ends for the request and all its tries (None: no
    limit); ``deadline`` is the fetch's (``--fetch-timeout``), both on ``time.monotonic``."""

    def __init__(self, policy: RetryPolicy, request_timeout: float | None,
                 deadline: float | None) -> None:
        self.policy = policy
        self.started = time.monotonic()
        self.until = None if request_timeout is None else self.started + request_timeout
        self.deadline = deadline
        self.made = 0

    def wait_or_raise(self, error: HttpError, retry_after: str | None,
                      server_now: datetime | None = None) -> None:
        """Sleep as long as the server asked and return, for the request to be made again; or
        raise ``error`` (not an answer to retry) or ``Throttled`` (no tries or time left)."""
        self.made += 1
        wait = retry_wait(self.policy, error.status, retry_after, server_now)
        if wait is None:
            raise error
        now = time.monotonic()
        if self.made >= self.policy.tries:
            raise Throttled(error, self.made, now - self.started)
        for limit, name in ((self.until, "--request-timeout"),
                            (self.deadline, "the --fetch-timeout deadline")):
            if limit is not None and now + wait >= limit:
                raise Throttled(error, self.made, now - self.started, name)
        self.policy.sleep(wait)
