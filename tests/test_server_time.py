"""A live run is judged as of the API server's clock (its ``Date`` header), not this machine's.

The fake API server's answers carry a ``Date`` set to the moment its cluster fixture was taken,
which is a year before this machine's clock: judged by the local clock every restart and
rollout would look a year old; judged by the server's, the live run gives exactly the findings
the same objects give as a snapshot of that moment.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest

from k8sdoctor import run
from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.server_time import parse_date
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import Scope
from k8sdoctor.report import report_schema
from tests.conftest import LIVE_CLUSTER, RunCli
from tests.fakeapi import FakeApiServer


@pytest.fixture
def cluster(cluster: FakeApiServer) -> FakeApiServer:
    """The live fixture cluster, its server's clock at the cluster's own "now"."""
    cluster.date = SnapshotSource(str(LIVE_CLUSTER)).load((), Scope()).state.now
    return cluster


def test_now_is_the_servers_date(cluster: FakeApiServer, kubeconfig: Path) -> None:
    result = LiveSource(str(kubeconfig)).load({"Pod"}, Scope())
    assert result.state.now == cluster.date
    assert result.clock_source == "apiServer"
    assert abs((datetime.now(timezone.utc) - result.state.now).days) > 30


def test_a_skewed_local_clock_invents_no_findings(cluster: FakeApiServer, kubeconfig: Path,
                                                  run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-o", "json", "--no-logs"])
    live = json.loads(result.stdout)
    jsonschema.validate(live, report_schema())
    offline = run.analyze(SnapshotSource(str(LIVE_CLUSTER)), Scope()).to_dict()
    assert live["metadata"]["clusterTimeSource"] == "apiServer"
    assert live["metadata"]["clusterTime"] == offline["metadata"]["clusterTime"]
    assert ({(f["name"], f["reason"], f["message"]) for f in live["findings"]}
            == {(f["name"], f["reason"], f["message"]) for f in offline["findings"]})


def test_a_snapshot_says_its_time_came_from_its_objects(run_cli: RunCli) -> None:
    report = json.loads(run_cli(["analyze", "--snapshot", str(LIVE_CLUSTER), "-o", "json"]).stdout)
    assert report["metadata"]["clusterTimeSource"] == "newestObject"
    demo = json.loads(run_cli(["analyze", "--demo", "-o", "json"]).stdout)
    assert demo["metadata"]["clusterTimeSource"] == "capturedAt"


def test_http_dates_parse() -> None:
    assert parse_date("Thu, 20 Nov 2025 10:12:00 GMT") == datetime(2025, 11, 20, 10, 12,
                                                                   tzinfo=timezone.utc)
    assert parse_date("yesterday") is None
