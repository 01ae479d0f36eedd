"""A server that says "retry later" is waited for, as client-go does: a 429 from API Priority and
Fairness, or a 5xx with ``Retry-After``, is asked again (the same page, the same continue token)
after the wait it names, up to 10 tries and never past ``--request-timeout`` or the fetch's
deadline; a kind still throttled then is reported as throttled, and the other kinds are intact.
"""

from __future__ import annotations

import email.utils
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from k8sdoctor.cluster.fetch_problems import HttpError, fetch_problem
from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.state import Scope
from k8sdoctor.cluster.throttle import RetryPolicy, Throttled, parse_retry_after, retry_wait
from k8sdoctor.errors import ClusterUnreachableError
from tests.conftest import RunCli
from tests.fakeapi import FakeApiServer

PODS = "/api/v1/pods"
KINDS = {"Pod", "Service", "Deployment"}
THROTTLED = ("throttled by the API server (API Priority and Fairness): it answered 429 Too Many "
             "Requests to ")
HINT = ("; the server is overloaded or this user's priority level is full; run again later, "
        "with a lower --fetch-concurrency, or have the cluster's FlowSchemas give this user more "
        "room")


def _pods_requests(api: FakeApiServer) -> list[int]:
    """The status of every GET of the pod List, in order."""
    return [r.status for r in api.requests if r.path == PODS]


def _errors(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {e.kind: e.message for e in result.errors}


def _recorded_sleeps() -> tuple[RetryPolicy, list[float]]:
    waits: list[float] = []
    return RetryPolicy(sleep=waits.append), waits


def test_a_kind_throttled_twice_then_served_is_listed_whole(cluster: FakeApiServer,
                                                            kubeconfig: Path) -> None:
    cluster.throttle(PODS, "0", times=2)
    result = LiveSource(str(kubeconfig)).load(KINDS, Scope())
    assert result.errors == ()
    assert _pods_requests(cluster) == [429, 429, 200]
    unthrottled = LiveSource(str(kubeconfig)).load(KINDS, Scope())
    assert result.state.objects("Pod") == unthrottled.state.objects("Pod") != []


def test_the_wait_is_the_one_retry_after_names(cluster: FakeApiServer, kubeconfig: Path) -> None:
    policy, waits = _recorded_sleeps()
    cluster.throttle(PODS, "2", times=1)
    cluster.throttle(PODS, None, times=1)  # no Retry-After: kube-apiserver's usual 1 s
    cluster.throttle(PODS, "soon", times=1)  # unreadable: the same
    cluster.throttle(PODS, "3600", times=1)  # capped
    result = LiveSource(str(kubeconfig), retry=policy).load(KINDS, Scope())
    assert result.errors == ()
    assert waits == [2.0, 1.0, 1.0, 10.0]


def test_a_retry_after_date_is_read_against_the_servers_clock(cluster: FakeApiServer,
                                                              kubeconfig: Path) -> None:
    policy, waits = _recorded_sleeps()
    cluster.date = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)  # far from this clock
    later = email.utils.format_datetime(cluster.date + timedelta(seconds=4), usegmt=True)
    cluster.throttle(PODS, later, times=1)
    result = LiveSource(str(kubeconfig), retry=policy).load(KINDS, Scope())
    assert result.errors == ()
    assert waits == [4.0]


def test_the_client_really_waits(cluster: FakeApiServer, kubeconfig: Path) -> None:
    cluster.throttle(PODS, "1", times=1)
    started = time.monotonic()
    result = LiveSource(str(kubeconfig)).load(KINDS, Scope())
    assert time.monotonic() - started >= 0.9
    assert result.errors == ()


def test_a_throttled_page_is_asked_again_with_its_own_continue_token(
        cluster: FakeApiServer, kubeconfig: Path) -> None:
    cluster.throttle(PODS, "0", times=2, query={"continue": None})
    result = LiveSource(str(kubeconfig), page_size=2).load(KINDS, Scope())
    assert result.errors == ()
    pages = [(r.status, r.param("continue")) for r in cluster.requests if r.path == PODS]
    assert pages[0] == (200, None)
    assert [status for status, _ in pages[1:4]] == [429, 429, 200]
    assert pages[1][1] == pages[2][1] == pages[3][1] is not None
    assert len(result.state.objects("Pod")) == len(cluster.objects("Pod")) > 2


def test_a_kind_still_throttled_after_ten_tries_is_reported_alone(cluster: FakeApiServer,
                                                                  kubeconfig: Path) -> None:
    policy, waits = _recorded_sleeps()
    cluster.throttle(PODS)
    result = LiveSource(str(kubeconfig), retry=policy).load(KINDS, Scope())
    assert _pods_requests(cluster) == [429] * 10
    assert waits == [1.0] * 9
    message = _errors(result)["Pod"]
    assert message.startswith(THROTTLED + "10 tries over ") and message.endswith(HINT)
    assert not result.state.has_kind("Pod")
    assert result.state.objects("Service") and result.state.objects("Deployment")


def test_throttling_never_outlasts_the_fetch_deadline(cluster: FakeApiServer,
                                                      kubeconfig: Path) -> None:
    cluster.throttle(PODS, "1")
    started = time.monotonic()
    result = LiveSource(str(kubeconfig), fetch_timeout=2.5).load(KINDS, Scope())
    assert time.monotonic() - started < 6
    message = _errors(result)["Pod"]
    assert message.startswith(THROTTLED)
    assert "and the --fetch-timeout deadline left no time to wait again" in message
    assert 2 <= len(_pods_requests(cluster)) <= 3
    assert result.state.objects("Service")


def test_a_requests_tries_together_stay_within_request_timeout(cluster: FakeApiServer,
                                                               kubeconfig: Path) -> None:
    cluster.throttle(PODS, "1")
    started = time.monotonic()
    result = LiveSource(str(kubeconfig), request_timeout=1.5).load(KINDS, Scope())
    assert time.monotonic() - started < 5
    assert _pods_requests(cluster) in ([429], [429, 429])  # 1 s waits within 1.5 s
    assert _errors(result)["Pod"].startswith(THROTTLED)
    assert "and --request-timeout left no time to wait again" in _errors(result)["Pod"]


def test_a_5xx_with_retry_after_is_retried_and_one_without_is_not(cluster: FakeApiServer,
                                                                  kubeconfig: Path) -> None:
    policy, waits = _recorded_sleeps()
    cluster.inject(PODS, 503, "the apiserver is shutting down", "ServiceUnavailable",
                   headers={"Retry-After": "2"}, times=1)
    cluster.inject("/apis/apps/v1/deployments", 500, "etcd is unhappy", "InternalError")
    result = LiveSource(str(kubeconfig), retry=policy).load(KINDS, Scope())
    assert waits == [2.0]
    assert result.state.objects("Pod")
    assert _errors(result) == {
        "Deployment": "the server answered 500 InternalError: etcd is unhappy"}
    assert sum(1 for r in cluster.requests if r.path == "/apis/apps/v1/deployments") == 1


def test_a_5xx_that_keeps_asking_to_retry_says_so(cluster: FakeApiServer,
                                                  kubeconfig: Path) -> None:
    policy, _ = _recorded_sleeps()
    cluster.inject(PODS, 503, "the apiserver is shutting down", "ServiceUnavailable",
                   headers={"Retry-After": "1"})
    result = LiveSource(str(kubeconfig), retry=policy).load(KINDS, Scope())
    message = _errors(result)["Pod"]
    assert message.startswith("the API server answered 503 Service Unavailable (the apiserver "
                              "is shutting down), asking to retry later, to 10 tries over ")
    assert message.endswith("; it is overloaded or restarting; run again later")


def test_throttled_discovery_ends_the_run_with_a_clear_reason(cluster: FakeApiServer,
                                                              kubeconfig: Path) -> None:
    policy, _ = _recorded_sleeps()
    cluster.throttle("/version")
    with pytest.raises(ClusterUnreachableError) as raised:
        LiveSource(str(kubeconfig), retry=policy).load(KINDS, Scope())
    assert str(raised.value).startswith(
        f"cannot read the cluster at {cluster.url} (context kind-shop): {THROTTLED}10 tries over ")


def test_the_cli_reports_a_throttled_kind_and_analyzes_the_rest(
        cluster: FakeApiServer, kubeconfig: Path, run_cli: RunCli) -> None:
    cluster.throttle(PODS, "0")
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-o", "json"])
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["complete"] is False
    assert report["findings"]
    [line] = [line for line in result.stderr_lines if "fetch Pod" in line]
    assert line.startswith(f"k8sdoctor: warning: fetch Pod: {THROTTLED}10 tries over ")
    assert {r.method for r in cluster.requests} == {"GET"}


@pytest.mark.parametrize(("value", "seconds"), [
    ("0", 0.0), ("1", 1.0), (" 7 ", 7.0), ("120", 120.0), (None, None), ("", None), ("-1", None),
    ("1.5", None), ("soon", None),
])
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_dates_in_the_past_mean_now() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("Sun, 01 Mar 2026 12:00:05 GMT", now) == 5.0
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now) == 0.0


@pytest.mark.parametrize(("status", "header", "wait"), [
    (429, "3", 3.0), (429, None, 1.0), (429, "60", 10.0), (503, "2", 2.0), (500, "0", 0.0),
    (503, None, None), (500, "soon", None), (404, "1", None), (403, "1", None), (410, None, None),
])
def test_which_answers_are_retried(status: int, header: str | None, wait: float | None) -> None:
    assert retry_wait(RetryPolicy(), status, header) == wait


# -- how many Lists at once ---------------------------------------------------------------------


def test_fetch_concurrency_bounds_the_lists_in_flight(
        cluster: FakeApiServer, kubeconfig: Path, run_cli: RunCli) -> None:
    for kind in ("Pod", "Service", "Deployment", "ReplicaSet", "Event"):
        cluster.inject(KNOWN_KINDS[kind].list_path(), None, delay=0.5)  # slow enough to overlap
    findings = []
    for concurrency in ("1", "3"):
        cluster.most_at_once = 0
        result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-o", "json",
                          "--fetch-concurrency", concurrency])
        assert result.code == 0, result.stderr
        assert cluster.most_at_once == int(concurrency)
        findings.append(json.loads(result.stdout)["findings"])
    assert findings[0] == findings[1] != []


def test_fetch_concurrency_must_be_a_positive_count(kubeconfig: Path, run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "--fetch-concurrency", "0"])
    assert result.code == 2
    assert "--fetch-concurrency" in result.stderr



def test_a_throttled_message_says_what_stopped_the_tries() -> None:
    once = Throttled(HttpError(429, "", "Too many requests, please try again later."), 1, 0.0,
                     "--request-timeout")
    assert fetch_problem(once) == (f"{THROTTLED}1 try over 0s, and --request-timeout left no "
                                   f"time to wait again{HINT}")
    odd = Throttled(HttpError(599, "", "busy"), 10, 12.3)
    assert str(odd).startswith("the API server answered 599 Server Error (busy), asking to retry "
                               "later, to 10 tries over 12s;")
