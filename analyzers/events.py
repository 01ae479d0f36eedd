"""Recent Warning events that no other finding explains, aggregated per object and reason.

Faults reported:

- One finding per object and event reason, named after Kubernetes' own reason (``Rebooted``,
  ``DNSConfigForming``, ``FailedToUpdateEndpointSlices``, ``NetworkNotReady``...) (warning):
  Warning events seen in the hour before the state was taken, with how many times, when first
  and last, and the latest message. Fix: ``kubectl describe`` the object; the message says what
  failed.

An event counts as explained, and is left out, when the default analyzers report a finding at
warning or above on its object or on the workload that owns it: those findings already carry
the event as evidence. The analyzers are called directly on the same state (every default
built-in one that is installed), so this analyzer reads every kind they read.

Not reported: events older than an hour; Normal events; events about objects that no longer
exist (pods of a finished rollout); a warning that a later event shows resolved
(``FailedScheduling`` followed by ``Scheduled``, ``FailedCreate`` by ``SuccessfulCreate``,
``ProvisioningFailed`` by ``ProvisioningSucceeded``, an image pull failure by ``Pulled``), and
any warning about a pod that became Ready after it (probe failures while it started, its node
briefly ``NodeNotReady``).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import conditions, format_duration, ns_flag
from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.state import event_time

RECENT_SECONDS = 3600
RESOLVED_BY: Mapping[str, frozenset[str]] = {
    "FailedScheduling": frozenset({"Scheduled"}),
    "FailedAttachVolume": frozenset({"SuccessfulAttachVolume"}),
    "FailedMount": frozenset({"Created", "Started"}),
    "FailedCreatePodSandBox": frozenset({"Created", "Started"}),
    "FailedCreate": frozenset({"SuccessfulCreate"}),
    "ProvisioningFailed": frozenset({"ProvisioningSucceeded"}),
    "Failed": frozenset({"Pulled"}),
    "BackOff": frozenset({"Pulled", "Started"}),
}

_Key = tuple[str, str, str]


def _peers() -> tuple[Analyzer, ...]:
    """The default built-in analyzers installed next to this one; a module that fails to import
    is skipped here (the plugin loader reports it when it loads that analyzer itself)."""
    package = importlib.import_module("k8sdoctor.analyzers")
    found = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("_") or module.name == "events":
            continue
        try:
            analyzer = importlib.import_module(f"k8sdoctor.analyzers.{module.name}").ANALYZER
        except Exception:  # a sibling's bug must not break this analyzer
            continue
        if isinstance(analyzer, Analyzer) and analyzer.default:
            found.append(analyzer)
    return tuple(sorted(found, key=lambda a: a.name))


_PEERS = _peers()


def analyze(state: ClusterState) -> Iterator[Finding]:
    groups: dict[tuple[_Key, str], list[Mapping[str, Any]]] = defaultdict(list)
    for event in state.objects("Event"):
        if event.get("type") != "Warning":
            continue
        target = _target(event)
        groups[(_key(target), event.get("reason") or "")].append(event)
    if not groups:
        return
    explained = _explained(state)
    for (key, reason), events in sorted(groups.items()):
        events = sorted(events, key=event_time)
        last_seen = state.age_of(event_time(events[-1]))
        if last_seen is None or last_seen > RECENT_SECONDS:
            continue
        obj = _object(state, key, _target(events[-1]))
        if obj is None or _is_explained(state, obj, key, explained):
            continue
        if _resolved(state, obj, reason, event_time(events[-1])):
            continue
        yield _finding(state, obj, reason, events)


def _target(event: Mapping[str, Any]) -> Mapping[str, Any]:
    return event.get("involvedObject") or event.get("regarding") or {}


def _key(target: Mapping[str, Any]) -> _Key:
    return (target.get("kind", ""), target.get("namespace") or "", target.get("name", ""))


def _explained(state: ClusterState) -> set[_Key]:
    keys: set[_Key] = set()
    for peer in _PEERS:
        try:
            findings = list(peer.analyze(state))
        except Exception:  # the engine reports a crashing analyzer when it runs it itself
            continue
        for finding in findings:
            if finding.severity < Severity.WARNING:
                continue
            keys.add((finding.kind, finding.namespace or "", finding.name))
            if finding.parent is not None:
                keys.add((finding.parent.kind, finding.namespace or "", finding.parent.name))
    return keys


def _object(
    state: ClusterState, key: _Key, target: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The involved object from the state; a stand-in when its kind was not listed; None when it
    was listed and is gone."""
    kind, namespace, name = key
    found = state.get(kind, namespace or None, name)
    if found is not None:
        return found
    if state.has_kind(kind):
        return None
    known = KNOWN_KINDS.get(kind)
    return {"apiVersion": target.get("apiVersion") or (known.api_version if known else ""),
            "kind": kind, "metadata": {"name": name, "namespace": namespace or None,
                                       "uid": target.get("uid")}}


def _is_explained(
    state: ClusterState, obj: Mapping[str, Any], key: _Key, explained: set[_Key]
) -> bool:
    if key in explained:
        return True
    workload = state.workload_of(obj)
    return workload is not None and (workload.kind, key[1], workload.name) in explained


def _resolved(state: ClusterState, obj: Mapping[str, Any], reason: str, last_warning: str) -> bool:
    if obj.get("kind") == "Pod":
        ready = conditions(obj).get("Ready") or {}
        if ready.get("status") == "True" and (ready.get("lastTransitionTime") or "") >= (
                last_warning):
            return True  # it has recovered: probe failures while starting, a node blip
    fixes = RESOLVED_BY.get(reason)
    return bool(fixes) and any(
        e.get("type") == "Normal" and e.get("reason") in fixes and event_time(e) > last_warning
        for e in state.events_for(obj))


def _finding(
    state: ClusterState, obj: Mapping[str, Any], reason: str, events: Sequence[Mapping[str, Any]]
) -> Finding:
    meta = obj["metadata"]
    kind, name, namespace = obj.get("kind", ""), meta.get("name", ""), meta.get("namespace")
    count = sum(int(e.get("count") or (e.get("series") or {}).get("count") or 1) for e in events)
    first = min((e.get("firstTimestamp") or e.get("eventTime") or event_time(e)) for e in events)
    last = event_time(events[-1])
    latest = events[-1]
    message = (latest.get("message") or latest.get("note") or "").strip()
    source = ((latest.get("source") or {}).get("component") or latest.get("reportingComponent")
              or latest.get("reportingController") or "")
    first_age, last_age = state.age_of(first), state.age_of(last)
    when = (f"first seen {format_duration(first_age)} ago, last {format_duration(last_age)} ago"
            if first_age is not None and last_age is not None else f"last at {last}")
    selector = f"involvedObject.name={name},reason={reason}"
    return Finding.about(
        obj, severity=Severity.WARNING, reason=reason,
        message=f"{kind} {name}: {count} Warning event(s) {reason} ({when}): {message}",
        evidence=[f"event Warning {reason}" + (f" from {source}" if source else "")
                  + f" (x{count}, first {first}, last {last}): {message}"],
        remediation=[
            f"kubectl describe {kind.lower()} {name}{ns_flag(namespace)}",
            f"kubectl get events{ns_flag(namespace)} --field-selector {selector}",
        ],
        parent=state.workload_of(obj),
    )


ANALYZER = Analyzer(
    name="events",
    kinds=tuple(sorted({"Event", *(kind for peer in _PEERS for kind in peer.kinds)})),
    analyze=analyze,
    doc=__doc__ or "",
    default=False,
)
