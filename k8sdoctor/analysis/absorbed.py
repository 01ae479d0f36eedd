"""Warning events a finding explains, carried in its evidence.

The optional ``events`` analyzer leaves out a Warning event whose object already has a finding at
warning or above: that finding explains it. So the event's own words must travel with that
finding, or they are lost (a Service's ``FailedToUpdateEndpointSlices`` under its
``NoEndpoints``). This adds each recent Warning event on a finding's object that its evidence
does not quote yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.analysis.objects import describe_event
from k8sdoctor.cluster.state import ClusterState, event_time

RECENT_SECONDS = 3600
"""As the events analyzer: older events are history, not evidence."""
MAX_EVENTS = 3


def with_absorbed_events(state: ClusterState, findings: Iterable[Finding]) -> list[Finding]:
    """``findings``, each at warning or above with the recent Warning events on its object that
    its evidence does not yet quote (the newest reason last, at most ``MAX_EVENTS``)."""
    result = []
    for finding in findings:
        added = _unquoted_events(state, finding) if finding.severity >= Severity.WARNING else []
        result.append(replace(finding, evidence=(*finding.evidence, *added)) if added
                      else finding)
    return result


def _unquoted_events(state: ClusterState, finding: Finding) -> list[str]:
    obj = state.get(finding.kind, finding.namespace, finding.name)
    if obj is None:
        return []
    quoted = " ".join(finding.evidence)
    latest: dict[str, dict] = {}
    for event in state.events_for(obj):
        age = state.age_of(event_time(event))
        if event.get("type") != "Warning" or age is None or age > RECENT_SECONDS:
            continue
        latest[event.get("reason") or ""] = event  # events_for is oldest first
    lines = []
    for reason, event in latest.items():
        message = (event.get("message") or event.get("note") or "").strip()
        if (message and message in quoted) or (not message and reason in quoted):
            continue
        lines.append(describe_event(event))
    return lines[-MAX_EVENTS:]
