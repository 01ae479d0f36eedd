"""StatefulSets whose Service or storage is missing, whose replicas are not ready, or whose
rolling update is stuck.

Faults reported:

- ``GoverningServiceMissing`` (error): ``spec.serviceName`` names a Service that does not
  exist, so the pods' stable DNS names (``web-0.web.NS.svc``) do not resolve. Fix: create the
  headless Service (``clusterIP: None``) selecting the pods, or fix ``serviceName``.
- ``GoverningServiceNotHeadless`` (warning): the governing Service has a cluster IP, so no
  per-pod DNS records exist. Fix: recreate it with ``clusterIP: None``.
- ``StorageClassNotFound`` (error; warning while every existing claim is already bound): a
  ``volumeClaimTemplates`` entry names a StorageClass that does not exist, so new claims stay
  Pending. Fix: create the class or change ``storageClassName`` (templates are immutable:
  recreate the StatefulSet with ``kubectl delete statefulset NAME --cascade=orphan``).
- ``RollingUpdateStuck`` (error; critical when no replica is ready): ``currentRevision`` differs
  from ``updateRevision`` and a pod of the new revision has not become ready for 10 minutes.
  Fix: fix the template or ``kubectl rollout undo statefulset/NAME``,
  then delete the stuck pod: the controller does not replace a pod that never became ready.
- ``ReplicasNotReady`` (warning; error when half or fewer are ready; critical when none is):
  the first failing pod by ordinal is named with why it is not ready, or, when it does not
  exist, the controller's ``FailedCreate`` message. With ``podManagementPolicy: OrderedReady``
  no later pod is created until it is ready. Fix: see that pod's findings.

Not reported: a StatefulSet scaled to zero; a scale-up or rolling update under way (every pod
that is not ready was created less than 3 minutes ago and is still starting, or is being
replaced, and with ``OrderedReady`` the pods not created yet wait behind it); a revision
difference under ``updateStrategy: OnDelete`` or held by a ``partition``;
``storageClassName: ""`` (static volumes); a Service or StorageClass that could not be listed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, ObjectRef, Severity
from k8sdoctor.analysis.objects import (
    absence_is_known,
    describe_event,
    format_duration,
    ns_flag,
)

from . import _admission
from ._workload_pods import STARTING_GRACE_SECONDS, is_ready, is_starting, live_pods, why_not_ready

STUCK_UPDATE_SECONDS = 600
"""How long a pod of the new revision may stay not ready before the update counts as stuck
(10 minutes, the default progressDeadlineSeconds of a Deployment)."""


def analyze(state: ClusterState) -> Iterator[Finding]:
    for stateful_set in state.objects("StatefulSet"):
        yield from _governing_service(state, stateful_set)
        yield from _storage_classes(state, stateful_set)
        yield from _replicas(state, stateful_set)


def _governing_service(state: ClusterState, sts: Mapping[str, Any]) -> Iterator[Finding]:
    meta, spec = sts["metadata"], sts.get("spec") or {}
    service_name, namespace = spec.get("serviceName"), meta.get("namespace")
    if not service_name or not absence_is_known(state, "Service", namespace):
        return
    service = state.get("Service", namespace, service_name)
    ns = ns_flag(namespace)
    if service is None:
        yield Finding.about(
            sts, severity=Severity.ERROR, reason="GoverningServiceMissing",
            message=f"StatefulSet {meta['name']} names governing Service {service_name} in "
                    "spec.serviceName, which does not exist: its pods' stable DNS names do "
                    "not resolve.",
            evidence=[f"spec.serviceName={service_name}",
                      f"no Service {service_name} in namespace {namespace}"],
            remediation=[f"Create a headless Service {service_name} (clusterIP: None) in "
                         f"namespace {namespace} selecting the StatefulSet's pods, or fix "
                         "spec.serviceName.",
                         f"kubectl get service{ns}"],
        )
    elif (service.get("spec") or {}).get("clusterIP") != "None":
        yield Finding.about(
            sts, severity=Severity.WARNING, reason="GoverningServiceNotHeadless",
            message=f"Governing Service {service_name} of StatefulSet {meta['name']} is not "
                    "headless, so no per-pod DNS records exist.",
            evidence=[f"Service {service_name}: spec.clusterIP="
                      f"{(service.get('spec') or {}).get('clusterIP')}"],
            remediation=[f"Recreate Service {service_name} with clusterIP: None (the field is "
                         "immutable), and keep a separate Service for client traffic."],
        )


def _storage_classes(state: ClusterState, sts: Mapping[str, Any]) -> Iterator[Finding]:
    if not absence_is_known(state, "StorageClass"):
        return
    meta, spec = sts["metadata"], sts.get("spec") or {}
    name, namespace = meta["name"], meta.get("namespace")
    for template in spec.get("volumeClaimTemplates") or ():
        class_name = (template.get("spec") or {}).get("storageClassName")
        if not class_name or state.get("StorageClass", None, class_name) is not None:
            continue
        template_name = (template.get("metadata") or {}).get("name", "")
        claims = [f"{template_name}-{name}-{ordinal}" for ordinal in _ordinals(spec)]
        bound = absence_is_known(state, "PersistentVolumeClaim", namespace) and all(
            ((state.get("PersistentVolumeClaim", namespace, claim) or {}).get("status") or {})
            .get("phase") == "Bound" for claim in claims)
        yield Finding.about(
            sts, severity=Severity.WARNING if bound else Severity.ERROR,
            reason="StorageClassNotFound",
            message=f"Volume claim template {template_name} of "
                    f"StatefulSet {name} uses StorageClass {class_name}, which does not exist"
                    + (": scaling up will leave the new claims Pending." if bound
                       else ": its claims cannot be provisioned."),
            evidence=[f"volumeClaimTemplates[].spec.storageClassName={class_name}",
                      f"claims: {', '.join(claims)}"],
            remediation=[f"Create StorageClass {class_name}, or change storageClassName in "
                         "the template: volumeClaimTemplates are immutable, so recreate the "
                         f"StatefulSet (kubectl delete statefulset {name}{ns_flag(namespace)} "
                         "--cascade=orphan, then apply the fixed manifest).",
                         "kubectl get storageclass"],
            refers_to=ObjectRef("StorageClass", class_name),
        )


def _ordinals(spec: Mapping[str, Any]) -> range:
    start = (spec.get("ordinals") or {}).get("start", 0)
    return range(start, start + spec.get("replicas", 1))


def _replicas(state: ClusterState, sts: Mapping[str, Any]) -> Iterator[Finding]:
    meta, spec = sts["metadata"], sts.get("spec") or {}
    status = sts.get("status") or {}
    desired, ready = spec.get("replicas", 1), status.get("readyReplicas", 0)
    if desired == 0 or meta.get("generation", 0) > status.get("observedGeneration", 0):
        return
    pods = live_pods(state, [meta.get("uid", "")])
    by_name = {pod["metadata"]["name"]: pod for pod in pods}
    severity = (Severity.CRITICAL if ready == 0
                else Severity.ERROR if ready * 2 <= desired else Severity.WARNING)
    evidence = [f"replicas desired={desired} ready={ready} current="
                f"{status.get('currentReplicas', 0)} updated={status.get('updatedReplicas', 0)}",
                f"currentRevision={status.get('currentRevision')} "
                f"updateRevision={status.get('updateRevision')}"]
    stuck = _stuck_update(state, sts, pods)
    if stuck is not None:
        pod, waited = stuck
        name, ns = meta["name"], ns_flag(meta.get("namespace"))
        why = why_not_ready(pod, state)
        yield Finding.about(
            sts, severity=Severity.CRITICAL if ready == 0 else Severity.ERROR,
            reason="RollingUpdateStuck",
            message=f"Rolling update of StatefulSet {name} is stuck: pod "
                    f"{pod['metadata']['name']} of revision {status.get('updateRevision')} has "
                    f"not become ready for {format_duration(waited)} ({why}).",
            evidence=evidence,
            remediation=[f"Fix the pod template, or roll back: kubectl rollout undo "
                         f"statefulset/{name}{ns}",
                         f"Then delete the stuck pod so it is recreated: kubectl delete pod "
                         f"{pod['metadata']['name']}{ns} (the controller does not replace a pod "
                         "that never became ready)."],
        )
        return
    if ready >= desired:
        return
    first = None
    if absence_is_known(state, "Pod", meta.get("namespace")):
        names = [f"{meta['name']}-{ordinal}" for ordinal in _ordinals(spec)]
        first = next((n for n in names if n not in by_name or not is_ready(by_name[n])), None)
        if first is None or _coming_up(state, sts, names, by_name, first):
            return  # the status lags behind ready pods, or pods are on their way up
    yield _not_ready(state, sts, first, by_name.get(first or ""), severity, evidence)


def _coming_up(state: ClusterState, sts: Mapping[str, Any], names: list[str],
               by_name: Mapping[str, Mapping[str, Any]], first: str) -> bool:
    """A scale-up or a replacement under way: every pod that is not ready is starting, every
    missing pod is being replaced (its old pod is terminating) or, under OrderedReady, waits
    its turn behind ``first``, the lowest ordinal not ready, which is starting or replaced."""
    if not all(is_starting(state, pod) for pod in by_name.values() if not is_ready(pod)):
        return False
    replaced = _being_replaced(state, sts)
    if first not in by_name and first not in replaced:
        return False
    ordered = (sts.get("spec") or {}).get("podManagementPolicy", "OrderedReady") == "OrderedReady"
    missing = [n for n in names if n not in by_name and n not in replaced]
    return ordered or not missing


def _being_replaced(state: ClusterState, sts: Mapping[str, Any]) -> set[str]:
    """Names of the StatefulSet's pods that are terminating inside their grace period (plus a
    little): the controller recreates each as soon as it is gone."""
    return {
        pod["metadata"]["name"] for pod in state.owned_by(sts["metadata"].get("uid", ""))
        if pod.get("kind") == "Pod" and pod["metadata"].get("deletionTimestamp")
        and (state.age_of(pod["metadata"]["deletionTimestamp"]) or 0) < STARTING_GRACE_SECONDS
    }


def _stuck_update(state: ClusterState, sts: Mapping[str, Any],
                  pods: list[Mapping[str, Any]]) -> tuple[Mapping[str, Any], float] | None:
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    current, update = status.get("currentRevision"), status.get("updateRevision")
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete" or not update \
            or current == update:
        return None
    for pod in pods:
        labels = pod["metadata"].get("labels") or {}
        if labels.get("controller-revision-hash") != update or is_ready(pod):
            continue
        waited = state.age_of(pod["metadata"].get("creationTimestamp"))
        if waited is not None and waited >= STUCK_UPDATE_SECONDS:
            return pod, waited
    return None


def _not_ready(state: ClusterState, sts: Mapping[str, Any], first: str | None,
               pod: Mapping[str, Any] | None, severity: Severity,
               evidence: list[str]) -> Finding:
    meta, spec = sts["metadata"], sts.get("spec") or {}
    name, namespace = meta["name"], meta.get("namespace")
    ns = ns_flag(namespace)
    desired = spec.get("replicas", 1)
    ready = (sts.get("status") or {}).get("readyReplicas", 0)
    remediation = []
    if pod is not None:
        why = why_not_ready(pod, state)
        detail = f"the first failing pod is {first}: {why}"
        evidence.append(f"pod {first} not ready: {why}")
        remediation.append(f"kubectl describe pod {first}{ns}  # and see the pod's findings")
    elif first is not None:
        detail = f"pod {first} does not exist"
        events = _admission.failed_create_events(state, sts)
        if events:
            text = _admission.api_error(events[-1].get("message", ""))
            explained = _admission.explain(text, namespace,
                                           f"the pod template of StatefulSet {name}")
            detail += f": {explained.cause}: \"{text.rstrip('.')}\""
            evidence.append(describe_event(events[-1]))
            remediation.append(explained.fix)
    else:
        detail = ""
    later = first is not None and first != f"{name}-{_ordinals(spec)[-1]}"
    if spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady" and later:
        remediation.append(f"With podManagementPolicy OrderedReady no later pod is created or "
                           f"updated until {first} is ready.")
    remediation.append(f"kubectl describe statefulset {name}{ns}")
    return Finding.about(
        sts, severity=severity, reason="ReplicasNotReady",
        message=f"StatefulSet {name} has {ready}/{desired} replicas ready"
                + (f"; {detail}." if detail else "."),
        evidence=evidence, remediation=remediation,
    )


ANALYZER = Analyzer(
    name="statefulset",
    kinds=("StatefulSet", "Service", "StorageClass", "PersistentVolumeClaim", "Pod", "Node",
           "Event"),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({
        "GoverningServiceMissing", "GoverningServiceNotHeadless"
    }),
)
