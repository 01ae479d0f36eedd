"""On a live cluster, crash findings carry the last lines of the crashed container's log.

Against the fake API server, through the real client: the previous instance's log is read with
``previous=true`` and a bounded ``tailLines``, secrets in it are redacted, only one pod per
workload is read, ``--no-logs`` turns it off, and a log that cannot be read costs only its lines.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import LIVE_CLUSTER, RunCli
from tests.fakeapi import FakeApiServer

CRASHED = ("checkout-6c9f7d5b4d-8kq2w", "checkout-6c9f7d5b4d-tx7vn")
LOG = ("2025-11-20T10:11:57.201Z INFO checkout 1.14.0 starting\n"
       "2025-11-20T10:11:57.340Z INFO connecting to "
       "postgres://checkout:hunter2-checkout-db@checkout-db:5432/orders\n"
       "2025-11-20T10:11:58.102Z FATAL cannot connect to database: dial tcp 10.96.12.4:5432: "
       "connect: connection refused\n")


def _crash_finding(report: dict) -> dict:
    return next(f for f in report["findings"]
                if f["reason"] == "CrashLoopBackOff" and f["name"] in CRASHED
                and any("previous log" in line for line in f["evidence"]))


def test_the_previous_log_tail_is_in_the_evidence(cluster: FakeApiServer, kubeconfig: Path,
                                                  run_cli: RunCli) -> None:
    for pod in CRASHED:
        cluster.set_logs("shop", pod, "app", LOG, previous=True)
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-o", "json"])
    finding = _crash_finding(json.loads(result.stdout))

    assert ("container app previous log: 2025-11-20T10:11:58.102Z FATAL cannot connect to "
            "database: dial tcp 10.96.12.4:5432: connect: connection refused"
            ) in finding["evidence"]
    assert "hunter2-checkout-db" not in result.stdout
    log_requests = [r for r in cluster.requests if r.path.endswith("/log")]
    assert len(log_requests) == 1  # one pod per workload
    assert log_requests[0].method == "GET"
    assert log_requests[0].query["previous"] == ["true"]
    assert log_requests[0].query["tailLines"] == ["50"]  # 20 are kept


def test_no_logs_reads_none(cluster: FakeApiServer, kubeconfig: Path, run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-o", "json", "--no-logs"])
    assert result.code == 0
    assert not [r for r in cluster.requests if r.path.endswith("/log")]
    assert "previous log" not in result.stdout


def test_an_unreadable_log_is_said_and_costs_nothing_else(
    cluster: FakeApiServer, kubeconfig: Path, run_cli: RunCli
) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-o", "json", "--strict"])
    report = json.loads(result.stdout)
    assert result.code == 0 and report["errors"] == []
    lines = [line for f in report["findings"] for line in f["evidence"]
             if "log not readable" in line]
    assert lines == ['container app previous log: log not readable: previous terminated '
                     'container "app" in pod "checkout-6c9f7d5b4d-8kq2w" not found']


def test_a_snapshot_reads_no_logs(run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--snapshot", str(LIVE_CLUSTER), "-o", "json"])
    assert "previous log" not in result.stdout
