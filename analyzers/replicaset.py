"""ReplicaSets whose controller cannot create the pods they ask for.

Faults reported:

- ``FailedCreate`` (error; critical when not one pod exists and no replica of the owning
  Deployment is available either): the API server refuses the ReplicaSet controller's pods
  (the ``ReplicaFailure`` condition is True). The controller's own message is quoted (the newest
  ``FailedCreate`` event, else the condition, which keeps the first error) and sorted into a
  cause, each with its fix: an exhausted ResourceQuota (raise it, or lower the requests), a
  quota demanding requests or limits the pod does not set, Pod Security admission (meet the
  namespace's level), an admission webhook that denied the pod or could not be reached, a
  LimitRange, a missing ServiceAccount.

Not reported: old ReplicaSets scaled to zero; a ReplicaSet that already has every pod it asks
for; ``FailedCreate`` events without the ``ReplicaFailure`` condition (the controller removes the
condition as soon as a creation succeeds, so such events are history); a ReplicaSet whose latest
spec the controller has not observed yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import conditions, describe_condition, describe_event, ns_flag
from k8sdoctor.cluster.state import event_time, parse_time

from . import _admission


def analyze(state: ClusterState) -> Iterator[Finding]:
    for replica_set in state.objects("ReplicaSet"):
        yield from _check(state, replica_set)


def _check(state: ClusterState, replica_set: Mapping[str, Any]) -> Iterator[Finding]:
    meta, spec = replica_set["metadata"], replica_set.get("spec") or {}
    status = replica_set.get("status") or {}
    desired = spec.get("replicas", 1)
    existing = status.get("replicas", 0)
    failure = conditions(replica_set).get("ReplicaFailure") or {}
    if desired == 0 or existing >= desired or failure.get("status") != "True":
        return
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return
    since = parse_time(failure.get("lastTransitionTime"))
    events = [e for e in _admission.failed_create_events(state, replica_set)
              if since is None or (parse_time(event_time(e)) or since) >= since]
    text = (_admission.api_error(events[-1].get("message", "")) if events
            else failure.get("message", ""))
    name, namespace = meta["name"], meta.get("namespace")
    parent = state.workload_of(replica_set)
    where = (f"the pod template of {parent.kind} {parent.name}" if parent
             else f"the pod template of ReplicaSet {name}")
    explained = _admission.explain(text, namespace, where)
    evidence = [f"replicas desired={desired} current={existing} "
                f"ready={status.get('readyReplicas', 0)}", describe_condition(failure)]
    evidence += [describe_event(e) for e in events[-1:]]
    yield Finding.about(
        replica_set,
        severity=Severity.CRITICAL if _nothing_serves(state, replica_set) else Severity.ERROR,
        reason="FailedCreate",
        message=f"ReplicaSet {name} cannot create its pods ({existing}/{desired} exist): "
                f"{explained.cause}: \"{text.rstrip('.')}\".",
        evidence=evidence,
        remediation=[explained.fix, f"kubectl describe replicaset {name}{ns_flag(namespace)}"],
        parent=parent,
    )


def _nothing_serves(state: ClusterState, replica_set: Mapping[str, Any]) -> bool:
    """No pod of the ReplicaSet exists, and its Deployment has no available replica either (a
    rollout's new ReplicaSet failing while the old one still serves hurts nobody yet)."""
    if (replica_set.get("status") or {}).get("replicas", 0):
        return False
    owner = state.controller_of(replica_set)
    return owner is None or not (owner.get("status") or {}).get("availableReplicas", 0)


ANALYZER = Analyzer(
    name="replicaset",
    kinds=("ReplicaSet", "Deployment", "Event"),
    analyze=analyze,
    doc=__doc__ or "",
)
