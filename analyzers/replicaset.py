"""ReplicaSets whose controller cannot create the pods they ask for.

Faults reported:

- ``FailedCreate`` (error; critical when not one pod exists): the API server refuses the
  ReplicaSet controller's pods. The controller's own message is quoted (the ``ReplicaFailure``
  condition, else the newest ``FailedCreate`` event) and sorted into a cause, each with its fix:
  an exhausted ResourceQuota (raise it, or lower the requests), a quota demanding requests or
  limits the pod does not set, Pod Security admission (meet the namespace's level), an
  admission webhook that denied the pod or could not be reached, a LimitRange, a missing
  ServiceAccount.

Not reported: old ReplicaSets scaled to zero; a ReplicaSet that already has every pod it asks
for (its ``FailedCreate`` events are history); one whose latest spec the controller has not
observed yet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import conditions, describe_condition, describe_event, ns_flag

from . import _admission


def analyze(state: ClusterState) -> Iterator[Finding]:
    for replica_set in state.objects("ReplicaSet"):
        yield from _check(state, replica_set)


def _check(state: ClusterState, replica_set: Mapping[str, Any]) -> Iterator[Finding]:
    meta, spec = replica_set["metadata"], replica_set.get("spec") or {}
    status = replica_set.get("status") or {}
    desired = spec.get("replicas", 1)
    existing = status.get("replicas", 0)
    if desired == 0 or existing >= desired:
        return
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return
    failure = conditions(replica_set).get("ReplicaFailure") or {}
    events = _admission.failed_create_events(state, replica_set)
    if failure.get("status") == "True":
        text = failure.get("message", "")
    elif events:
        text = _admission.strip_prefix(events[-1].get("message", ""))
    else:
        return
    name, namespace = meta["name"], meta.get("namespace")
    parent = state.workload_of(replica_set)
    where = (f"the pod template of {parent.kind} {parent.name}" if parent
             else f"the pod template of ReplicaSet {name}")
    explained = _admission.explain(text, namespace, where)
    evidence = [f"replicas desired={desired} current={existing} "
                f"ready={status.get('readyReplicas', 0)}"]
    if failure:
        evidence.append(describe_condition(failure))
    evidence += [describe_event(e) for e in events[-1:]]
    yield Finding.about(
        replica_set,
        severity=Severity.CRITICAL if existing == 0 else Severity.ERROR,
        reason="FailedCreate",
        message=f"ReplicaSet {name} cannot create its pods ({existing}/{desired} exist): "
                f"{explained.cause}: \"{text.rstrip('.')}\".",
        evidence=evidence,
        remediation=[explained.fix, f"kubectl describe replicaset {name}{ns_flag(namespace)}"],
        parent=parent,
    )


ANALYZER = Analyzer(
    name="replicaset",
    kinds=("ReplicaSet", "Event"),
    analyze=analyze,
    doc=__doc__ or "",
)
