"""``k8sdoctor serve``: a real process against the fake API server, scraped with
``prometheus_client``'s own parser; and the scan loop's rules for failed scans."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from k8sdoctor.errors import ClusterUnreachableError
from k8sdoctor.serve import parse_interval
from k8sdoctor.serve.metrics import ServeMetrics
from k8sdoctor.serve.scanner import HOLD_BACK_LIMIT, Scanner
from tests.conftest import LIVE_CLUSTER, RunCli
from tests.fakeapi import FakeApiServer

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
LISTENING = re.compile(r"on (http://127\.0\.0\.1:\d+) ")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def samples(metrics_text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(metrics_text) for s in family.samples}


def value(metrics: Mapping, name: str, **labels: str) -> float | None:
    return metrics.get((name, tuple(sorted(labels.items()))))


def wait_for(condition: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


class Service:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process, self.url = process, url

    def metrics(self) -> dict:
        status, text = get(self.url + "/metrics")
        assert status == 200
        return samples(text)


@pytest.fixture
def service(fake_api: FakeApiServer, kubeconfig: Path, tmp_path: Path) -> Iterator[Service]:
    fake_api.load(LIVE_CLUSTER)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "k8sdoctor", "serve", "--kubeconfig", str(kubeconfig),
             "--address", "127.0.0.1", "--port", "0", "--interval", "1", "-a", "all"],
            stderr=stderr, stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        match = wait_for(lambda: LISTENING.search(log.read_text()))
        yield Service(process, match.group(1))
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "Traceback" not in log.read_text()


def test_serve_scrapes_and_reports_like_analyze(service: Service, kubeconfig: Path,
                                                run_cli: RunCli) -> None:
    assert get(service.url + "/healthz")[0] == 200
    wait_for(lambda: get(service.url + "/readyz")[0] == 200)
    status, body = get(service.url + "/report")
    assert status == 200
    report = json.loads(body)
    direct = json.loads(run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-a", "all",
                                 "-o", "json"]).stdout)
    assert [f["id"] for f in report["findings"]] == [f["id"] for f in direct["findings"]]
    metrics = service.metrics()
    for severity, count in report["summary"]["bySeverity"].items():
        assert value(metrics, "k8sdoctor_findings", severity=severity) == count
    assert sum(v for (name, _), v in metrics.items()
               if name == "k8sdoctor_findings_by_reason") == len(report["findings"])
    first = report["findings"][0]
    assert value(metrics, "k8sdoctor_findings_by_namespace", namespace=first["namespace"] or "",
                 severity=first["severity"]) >= 1
    assert value(metrics, "k8sdoctor_health_score") == report["summary"]["healthScore"][
        "cluster"]
    assert value(metrics, "k8sdoctor_last_scan_success") == 1
    assert value(metrics, "k8sdoctor_scans_total") >= 1
    assert value(metrics, "k8sdoctor_scan_duration_seconds_count") >= 1
    assert get(service.url + "/nothing")[0] == 404


def test_serve_survives_a_500_and_recovers(service: Service, fake_api: FakeApiServer) -> None:
    wait_for(lambda: get(service.url + "/readyz")[0] == 200)
    good = json.loads(get(service.url + "/report")[1])
    fake_api.inject("/version", 500, "etcdserver: leader changed", "InternalError", times=2)

    failed = wait_for(lambda: (m := service.metrics()) and value(
        m, "k8sdoctor_scan_failures_total", reason="unreachable") and m)
    assert value(failed, "k8sdoctor_last_scan_success") == 0
    assert get(service.url + "/readyz")[0] == 200
    assert get(service.url + "/healthz")[0] == 200
    status, body = get(service.url + "/report")
    assert status == 200 and json.loads(body)["findings"] == good["findings"]
    for severity, count in good["summary"]["bySeverity"].items():
        assert value(failed, "k8sdoctor_findings", severity=severity) == count

    recovered = wait_for(lambda: (m := service.metrics()) and value(
        m, "k8sdoctor_last_scan_success") == 1 and m)
    assert value(recovered, "k8sdoctor_scan_failures_total", reason="unreachable") >= 1
    assert service.process.poll() is None


def test_the_alert_rules_use_metrics_serve_exports(service: Service) -> None:
    wait_for(lambda: get(service.url + "/readyz")[0] == 200)
    text = get(service.url + "/metrics")[1]
    names = {f.name for f in text_string_to_metric_families(text)} | {
        name for name, _ in samples(text)}
    rules = next(d for d in yaml.safe_load_all((DEPLOY / "servicemonitor.yaml").read_text())
                 if d["kind"] == "PrometheusRule")
    for group in rules["spec"]["groups"]:
        for rule in group["rules"]:
            used = set(re.findall(r"\bk8sdoctor_[a-z_]+", rule["expr"]))
            assert used and used <= names, (rule["alert"], used - names)


def test_a_taken_port_is_one_line_and_exit_2(run_cli: RunCli, service: Service) -> None:
    port = service.url.rsplit(":", 1)[1]
    result = run_cli(["serve", "--snapshot", str(LIVE_CLUSTER), "--address", "127.0.0.1",
                      "--port", port])
    assert result.code == 2
    assert result.stderr_lines == [f"k8sdoctor: error: cannot listen on 127.0.0.1:{port}: "
                                   "Address already in use"]


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30s", 30), ("5m", 300),
                                               ("1h", 3600), ("1.5m", 90)])
def test_intervals(text: str, seconds: float) -> None:
    assert parse_interval(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "0", "0.5s", "-5m"])
def test_bad_intervals_exit_2(run_cli: RunCli, text: str) -> None:
    result = run_cli(["serve", "--interval", text, "--snapshot", str(LIVE_CLUSTER)])
    assert result.code == 2
    assert result.stderr_lines[-1].startswith(f"k8sdoctor: error: --interval {text!r}")


# -- the scan loop's rules, with plain scan functions ---------------------------------------------


def report(findings: int, fetch_errors: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "summary": {"findings": findings, "complete": not fetch_errors,
                    "bySeverity": {"critical": findings, "error": 0, "warning": 0, "info": 0}},
        "findings": [{"analyzer": "pod", "severity": "critical", "namespace": "shop",
                      "reason": "CrashLoopBackOff"}] * findings,
        "errors": [{"stage": "fetch", "subject": kind, "message": "the server answered 500"}
                   for kind in fetch_errors],
        "metadata": {},
    }


class Scripted:
    """Answers each scan with the next item: a report, or an exception to raise."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)

    def __call__(self) -> Mapping[str, Any]:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def scanner_for(*outcomes: Any) -> Scanner:
    return Scanner(Scripted(*outcomes), 60, ServeMetrics(), log=lambda message: None)


def test_a_failed_scan_keeps_the_last_report() -> None:
    scanner = scanner_for(report(3), ClusterUnreachableError("boom"), RuntimeError("bug"),
                          report(1))
    assert scanner.scan_once()
    assert not scanner.scan_once() and not scanner.scan_once()
    assert scanner.published is not None
    assert scanner.published.report["summary"]["findings"] == 3
    metrics = samples(_exposition(scanner))
    assert value(metrics, "k8sdoctor_scan_failures_total", reason="unreachable") == 1
    assert value(metrics, "k8sdoctor_scan_failures_total", reason="internal") == 1
    assert scanner.scan_once()
    assert scanner.published.report["summary"]["findings"] == 1


def test_a_kind_that_stops_answering_holds_the_report_back_for_a_while() -> None:
    partial = report(0, fetch_errors=("Pod",))
    scanner = scanner_for(report(5), *[partial] * HOLD_BACK_LIMIT)
    scanner.scan_once()
    for _ in range(HOLD_BACK_LIMIT - 1):
        assert not scanner.scan_once()
        assert scanner.published.report["summary"]["findings"] == 5
    assert scanner.scan_once()
    assert scanner.published.report["errors"][0]["subject"] == "Pod"
    metrics = samples(_exposition(scanner))
    assert value(metrics, "k8sdoctor_scan_failures_total",
                 reason="incomplete") == HOLD_BACK_LIMIT - 1
    assert value(metrics, "k8sdoctor_fetch_errors", kind="Pod") == 1
    assert value(metrics, "k8sdoctor_fetch_failures_total", kind="Pod") == HOLD_BACK_LIMIT


def test_a_kind_never_readable_does_not_hold_reports_back() -> None:
    forbidden = report(2, fetch_errors=("Secret",))
    scanner = scanner_for(forbidden, report(4, fetch_errors=("Secret",)))
    assert scanner.scan_once() and scanner.scan_once()
    assert scanner.published.report["summary"]["findings"] == 4


def test_llm_use_is_counted_from_the_report_metadata() -> None:
    explained = report(1)
    explained["metadata"]["inference"] = {"backends": [
        {"backend": "ollama", "model": "llama3.1:8b", "calls": 3, "cacheHits": 2,
         "failures": 1, "promptTokens": 1200, "completionTokens": 300,
         "latencySeconds": {"p50": 2.5, "max": 7.0}}],
        "calls": [{"backend": "ollama", "model": "llama3.1:8b", "outcome": outcome,
                   "latencySeconds": latency}
                  for outcome, latency in (("answer", 2.5), ("answer", 7.0), ("invalid", 1.0),
                                           ("cached", None), ("cached", None), ("failed", None))]}
    scanner = scanner_for(explained, explained)
    scanner.scan_once()
    scanner.scan_once()
    metrics = samples(_exposition(scanner))
    labels = {"backend": "ollama", "model": "llama3.1:8b"}
    assert value(metrics, "k8sdoctor_llm_calls_total", **labels) == 6
    assert value(metrics, "k8sdoctor_llm_cache_hits_total", **labels) == 4
    assert value(metrics, "k8sdoctor_llm_failures_total", **labels) == 2
    assert value(metrics, "k8sdoctor_llm_tokens_total", type="prompt", **labels) == 2400
    assert value(metrics, "k8sdoctor_llm_tokens_total", type="completion", **labels) == 600
    duration = "k8sdoctor_llm_call_duration_seconds"
    assert value(metrics, f"{duration}_count", outcome="answer", **labels) == 4
    assert value(metrics, f"{duration}_sum", outcome="answer", **labels) == 19.0
    assert value(metrics, f"{duration}_bucket", outcome="answer", le="5.0", **labels) == 2
    assert value(metrics, f"{duration}_count", outcome="invalid", **labels) == 2


def _exposition(scanner: Scanner) -> str:
    from prometheus_client import generate_latest

    return generate_latest(scanner.metrics.registry).decode()


def test_serve_with_explain_exports_the_llm_calls(tmp_path: Path) -> None:
    from tests.explain.conftest import THREE_CAUSES
    from tests.explain.stubs import OllamaStub
    from tests.explain.test_explain_cli import explain_first_object

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    env.pop("K8SDOCTOR_CONFIG", None)
    log = tmp_path / "serve.log"
    with OllamaStub(explain_first_object) as ollama, log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "k8sdoctor", "serve", "--snapshot", str(THREE_CAUSES),
             "--explain", "--base-url", ollama.url, "--address", "127.0.0.1", "--port", "0",
             "--interval", "60"], stderr=stderr, stdout=subprocess.DEVNULL, env=env)
        try:
            url = wait_for(lambda: LISTENING.search(log.read_text())).group(1)
            wait_for(lambda: get(url + "/readyz")[0] == 200, timeout=60)
            metrics = samples(get(url + "/metrics")[1])
            report = json.loads(get(url + "/report")[1])
        finally:
            process.terminate()
            process.wait(timeout=30)
    labels = {"backend": "ollama", "model": "llama3.1:8b"}
    calls = len(report["rootCauses"])
    assert calls >= 1 and all(c["explanation"] for c in report["rootCauses"])
    assert value(metrics, "k8sdoctor_llm_calls_total", **labels) == calls
    assert value(metrics, "k8sdoctor_llm_call_duration_seconds_count", outcome="answer",
                 **labels) == calls
    assert value(metrics, "k8sdoctor_llm_tokens_total", type="prompt", **labels) > 0
    assert value(metrics, "k8sdoctor_root_causes", severity=report["rootCauses"][0][
        "severity"]) >= 1
