"""The retry loop: bounded attempts, exponential backoff, and the server's ``Retry-After``."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from k8sdoctor.explain.retry import (
    RetryAfterTooLong,
    RetryHint,
    RetryPolicy,
    call_with_retry,
    retry_after_seconds,
)


class Flaky:
    """Fails with the given exceptions in turn, then returns ``"ok"``."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


class Busy(Exception):
    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("HTTP 503")
        self.retry_after = retry_after


def classify(err: Exception) -> RetryHint | None:
    if isinstance(err, Busy):
        return RetryHint("HTTP 503", err.retry_after)
    return None


def policy(slept: list[float], attempts: int = 4) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, base_delay=1.0, max_delay=5.0, sleep=slept.append,
                       jitter=lambda: 1.0)


def test_retries_until_success_with_exponential_backoff() -> None:
    slept: list[float] = []
    operation = Flaky(Busy(), Busy(), Busy())
    assert call_with_retry(operation, classify, policy(slept)) == "ok"
    assert operation.calls == 4
    assert slept == [1.0, 2.0, 4.0]


def test_backoff_is_capped_and_jittered_in_its_upper_half() -> None:
    low = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=lambda: 0.0)
    high = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=lambda: 0.999)
    assert [low.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 2.5, 2.5]
    assert high.backoff(5) == pytest.approx(4.9975)


def test_the_server_named_wait_wins_over_backoff() -> None:
    slept: list[float] = []
    assert call_with_retry(Flaky(Busy(7.0), Busy(0.0)), classify, policy(slept)) == "ok"
    assert slept == [7.0, 0.0]


def test_gives_up_after_the_last_attempt_with_the_last_failure() -> None:
    slept: list[float] = []
    last = Busy()
    operation = Flaky(Busy(), Busy(), last, Busy())
    with pytest.raises(Busy) as raised:
        call_with_retry(operation, classify, policy(slept, attempts=3))
    assert raised.value is last
    assert operation.calls == 3
    assert len(slept) == 2


def test_a_failure_that_is_not_retryable_is_raised_at_once() -> None:
    slept: list[float] = []
    operation = Flaky(KeyError("bug"))
    with pytest.raises(KeyError):
        call_with_retry(operation, classify, policy(slept))
    assert operation.calls == 1
    assert slept == []


def test_a_wait_longer_than_the_policy_accepts_is_not_waited_for() -> None:
    slept: list[float] = []
    busy = Busy(3600.0)
    with pytest.raises(RetryAfterTooLong) as raised:
        call_with_retry(Flaky(busy), classify, policy(slept))
    assert raised.value.cause is busy
    assert raised.value.retry_after == 3600.0
    assert slept == []


def test_on_retry_hears_of_each_retry() -> None:
    heard: list[tuple[int, float, str]] = []
    call_with_retry(Flaky(Busy(2.0), Busy()), classify, policy([]),
                    on_retry=lambda n, delay, hint: heard.append((n, delay, hint.reason)))
    assert heard == [(1, 2.0, "HTTP 503"), (2, 2.0, "HTTP 503")]


def test_one_attempt_means_no_retry() -> None:
    with pytest.raises(Busy):
        call_with_retry(Flaky(Busy()), classify, RetryPolicy(attempts=1, sleep=pytest.fail))
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


NOW = datetime(2026, 11, 20, 10, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "20"}, 20.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"Retry-After": "Fri, 20 Nov 2026 10:00:30 GMT"}, 30.0),
        ({"Retry-After": "Fri, 20 Nov 2026 09:59:00 GMT"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "-3"}, None),
        ({"Retry-After": "nan"}, None),
        ({"x-ratelimit-reset-requests": "1s"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_forms(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_seconds(headers, now=lambda: NOW) == seconds
