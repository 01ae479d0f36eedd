"""Warning events a finding explains travel in its evidence, once, and only recent ones."""

from __future__ import annotations

from datetime import datetime, timezone

from k8sdoctor.analysis.absorbed import with_absorbed_events
from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.cluster.state import ClusterState

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
SERVICE = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "orders", "namespace": "shop", "uid": "u-orders"}}


def _event(reason: str, message: str, last: str, kind: str = "Warning") -> dict:
    return {"apiVersion": "v1", "kind": "Event", "type": kind, "reason": reason,
            "message": message, "lastTimestamp": last, "count": 2,
            "metadata": {"name": f"orders.{reason}", "namespace": "shop"},
            "involvedObject": {"kind": "Service", "name": "orders", "namespace": "shop",
                               "uid": "u-orders"}}


def _finding(severity: Severity, evidence: tuple[str, ...] = ()) -> Finding:
    return Finding.about(SERVICE, severity=severity, reason="NoEndpoints", message="none",
                         evidence=evidence)


def test_recent_unquoted_warnings_are_added_once() -> None:
    events = [_event("FailedToUpdateEndpointSlices", "quota exceeded", "2026-11-20T09:50:00Z"),
              _event("SyncLoadBalancerFailed", "no subnets", "2026-11-20T07:00:00Z"),
              _event("Type", "changed type", "2026-11-20T09:59:00Z", kind="Normal"),
              _event("AlreadyQuoted", "see evidence", "2026-11-20T09:55:00Z")]
    state = ClusterState({"Service": [SERVICE], "Event": events}, now=NOW)
    (finding,) = with_absorbed_events(
        state, [_finding(Severity.CRITICAL, ("controller said: see evidence",))])
    added = finding.evidence[1:]
    assert len(added) == 1 and "FailedToUpdateEndpointSlices" in added[0]
    assert "quota exceeded" in added[0]


def test_info_findings_explain_nothing() -> None:
    events = [_event("FailedToUpdateEndpointSlices", "quota exceeded", "2026-11-20T09:50:00Z")]
    state = ClusterState({"Service": [SERVICE], "Event": events}, now=NOW)
    (finding,) = with_absorbed_events(state, [_finding(Severity.INFO)])
    assert finding.evidence == ()
