"""A live fetch is bounded and degrades one kind at a time: a body cut short or not JSON is asked
for once more and then that kind is reported, a continue token that keeps expiring ends its List
instead of looping, a slow List costs only itself, and the whole fetch has a deadline. Every
message is a sentence for people, with the real wait in it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from k8sdoctor.cluster.durations import format_seconds, parse_duration
from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.state import Scope
from k8sdoctor.errors import BadInputError
from tests.conftest import RunCli
from tests.fakeapi import FakeApiServer

PODS = "/api/v1/pods"
KINDS = {"Pod", "Service", "Deployment"}


def _pod_list(continue_token: str = "") -> bytes:
    metadata = {"resourceVersion": "9", **({"continue": continue_token} if continue_token else {})}
    return json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": metadata,
                       "items": []}).encode()


def _pods_requests(api: FakeApiServer) -> int:
    return sum(1 for r in api.requests if r.path == PODS)


def _errors(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {e.kind: e.message for e in result.errors}


# -- bodies cut short or not JSON ---------------------------------------------------------------


def test_a_truncated_list_is_retried_once_then_reported(cluster: FakeApiServer,
                                                        kubeconfig: Path) -> None:
    body = json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {},
                       "items": [{"metadata": {"name": f"p{i}"}} for i in range(40)]}).encode()
    cluster.inject(PODS, None, body=body, cut_at=100)
    result = LiveSource(str(kubeconfig)).load(KINDS, Scope())
    assert _errors(result) == {"Pod": f"not listed: GET {PODS}: the response was cut short: 100 "
                                      f"of {len(body):,} bytes arrived"}
    assert _pods_requests(cluster) == 2
    assert result.state.objects("Service") and result.state.objects("Deployment")
    assert not result.state.has_kind("Pod")


def test_a_truncated_list_that_comes_whole_the_second_time_is_listed(
        cluster: FakeApiServer, kubeconfig: Path) -> None:
    cluster.inject(PODS, None, body=_pod_list(), cut_at=10, times=1)
    result = LiveSource(str(kubeconfig)).load(KINDS, Scope())
    assert result.errors == ()
    assert result.state.objects("Pod")


@pytest.mark.parametrize(("body", "began"), [
    (b"<html><body>502 Bad Gateway</body></html>", "<html><body>502 Bad Gateway</body></html>"),
    (b"\x00\xff garbage", "\x00\ufffd garbage"),
])
def test_a_body_that_is_not_json_is_retried_once_then_reported(
        cluster: FakeApiServer, kubeconfig: Path, body: bytes, began: str) -> None:
    cluster.inject(PODS, None, body=body, content_type="text/html")
    result = LiveSource(str(kubeconfig)).load(KINDS, Scope())
    assert _errors(result) == {
        "Pod": f"not listed: GET {PODS} did not return JSON (it began {began!r})"}
    assert _pods_requests(cluster) == 2


def test_the_cli_reports_a_truncated_list_in_one_readable_line(
        cluster: FakeApiServer, kubeconfig: Path, run_cli: RunCli) -> None:
    cluster.inject(PODS, None, body=_pod_list() * 50, cut_at=64)
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-o", "json"])
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["complete"] is False
    assert report["findings"]  # the other kinds were analyzed
    [line] = [line for line in result.stderr_lines if "Pod" in line]
    assert line == (f"k8sdoctor: warning: fetch Pod: not listed: GET {PODS}: the response was "
                    f"cut short: 64 of {len(_pod_list()) * 50:,} bytes arrived")
    strict = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "--strict"])
    assert strict.code == 4


# -- continue tokens ----------------------------------------------------------------------------


def test_an_expiring_continue_token_relists_once_then_stops(cluster: FakeApiServer,
                                                            kubeconfig: Path) -> None:
    # every continued page is 410 Gone, and even the full relist hands out a continue token
    cluster.inject(PODS, 410, "The provided continue parameter is too old", "Expired",
                   query={"continue": None})
    cluster.inject(PODS, None, body=_pod_list("token-1"))
    started = time.monotonic()
    result = LiveSource(str(kubeconfig)).load(KINDS, Scope())
    assert time.monotonic() - started < 10
    assert _errors(result) == {"Pod": f"not listed: GET {PODS}: the continue token expired "
                                      "(410 Gone) again after a full relist"}
    assert _pods_requests(cluster) == 4  # page, 410, relist, 410
    assert result.state.objects("Service")


def test_a_continue_token_handed_out_twice_ends_the_list(cluster: FakeApiServer,
                                                         kubeconfig: Path) -> None:
    cluster.inject(PODS, None, body=_pod_list("same-token"))
    result = LiveSource(str(kubeconfig)).load(KINDS, Scope())
    assert _errors(result) == {
        "Pod": f"not listed: GET {PODS}: the server sent the same continue token twice"}
    assert _pods_requests(cluster) == 2


# -- timeouts -----------------------------------------------------------------------------------


def test_a_slow_list_costs_only_itself_and_says_how_long_it_waited(
        cluster: FakeApiServer, kubeconfig: Path) -> None:
    cluster.inject(PODS, None, delay=1.5)
    started = time.monotonic()
    result = LiveSource(str(kubeconfig), request_timeout=0.4).load(KINDS, Scope())
    assert _errors(result) == {
        "Pod": f"not listed: GET {PODS}: no answer within 0.4s (--request-timeout)"}
    time.sleep(max(0.0, started + 2.5 - time.monotonic()))  # the server answers late
    assert _pods_requests(cluster) == 1  # one wait, no hidden retry
    assert result.state.objects("Service") and result.state.objects("Deployment")


def test_the_whole_fetch_has_a_deadline(cluster: FakeApiServer, kubeconfig: Path) -> None:
    cluster.inject(PODS, None, delay=4.0)
    started = time.monotonic()
    result = LiveSource(str(kubeconfig), request_timeout=None,
                        fetch_timeout=1.0).load(KINDS, Scope())
    assert time.monotonic() - started < 3.5
    message = _errors(result)["Pod"]
    assert message.startswith(f"not listed: GET {PODS}: no answer within ")
    assert message.endswith("(the --fetch-timeout deadline)")
    assert result.state.objects("Service")


def test_the_cli_takes_kubectl_durations(cluster: FakeApiServer, kubeconfig: Path,
                                         run_cli: RunCli) -> None:
    cluster.inject(PODS, None, delay=3.0)
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "--request-timeout", "300ms",
                      "--fetch-timeout", "1m", "-o", "json"])
    assert result.code == 0, result.stderr
    assert (f"k8sdoctor: warning: fetch Pod: not listed: GET {PODS}: no answer within 0.3s "
            "(--request-timeout)") in result.stderr_lines
    bad = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "--request-timeout", "soon"])
    assert bad.code == 2
    assert bad.stderr_lines == [
        "k8sdoctor: error: --request-timeout: invalid duration 'soon'; give seconds (30) or a "
        "duration with a unit (30s, 2m, 1m30s, 1h); 0 means no limit"]


@pytest.mark.parametrize(("text", "seconds"), [
    ("0", 0.0), ("30", 30.0), ("30s", 30.0), ("2m", 120.0), ("1m30s", 90.0), ("1.5h", 5400.0),
    ("500ms", 0.5), ("1h2m3s", 3723.0), (".5s", 0.5),
])
def test_durations_as_kubectl_takes_them(text: str, seconds: float) -> None:
    assert parse_duration(text, "--request-timeout") == seconds


@pytest.mark.parametrize("text", ["", "abc", "-1s", "5 m", "1d", "30x", "s", "1m30"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(BadInputError, match="--fetch-timeout: invalid duration"):
        parse_duration(text, "--fetch-timeout")


@pytest.mark.parametrize(("seconds", "text"), [
    (0.25, "0.2s"), (0.3, "0.3s"), (2, "2s"), (30, "30s"), (63.4, "1m3s"), (300, "5m"),
    (3723, "1h2m3s"),
])
def test_waits_are_shown_briefly(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text
