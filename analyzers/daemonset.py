"""DaemonSets with pods unavailable, not created, or on the wrong nodes, or with a missing image
pull Secret.

Faults reported:

- ``PodsUnavailable`` (warning; error when half or fewer are available; critical when none is):
  nodes that should run the daemon do not have an available pod. The first pods that are not
  ready are named with their node and why (``CrashLoopBackOff``, ``ImagePullBackOff``); pods the
  controller could not create are explained from its ``FailedCreate`` event (quota, Pod Security
  admission, a webhook). Fix: see those pods' findings, or what the message names.
- ``MisscheduledPods`` (warning): daemon pods run on nodes that should not run them. The
  controller deletes a pod whose node no longer matches the node selector or affinity, or
  gained a NoExecute taint it does not tolerate; a pod on a node that gained a NoSchedule taint
  keeps running and stays misscheduled. Fix: tolerate the taint in the pod template (or remove
  it from the node) if the daemon belongs there; otherwise delete those pods.
- ``ImagePullSecretMissing`` (warning; error while a daemon pod cannot pull its image): the
  pod template lists an ``imagePullSecrets`` entry that does not exist in the namespace. Fix:
  create the Secret (``kubectl create secret docker-registry``) or remove the entry.

Not reported: pods created less than 3 minutes ago that are still starting (a rolling update,
a node that just joined); a DaemonSet that schedules on no node; Secrets that could not be
listed (Secrets are read as metadata only, never their values).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, ObjectRef, Severity
from k8sdoctor.analysis.objects import absence_is_known, describe_event, ns_flag, selector_flag

from . import _admission
from ._workload_pods import container_statuses, is_ready, is_starting, live_pods, why_not_ready

_MAX_NAMED_PODS = 3
_PULL_FAILURES = {"ImagePullBackOff", "ErrImagePull"}


def analyze(state: ClusterState) -> Iterator[Finding]:
    for daemon_set in state.objects("DaemonSet"):
        pods = live_pods(state, [daemon_set["metadata"].get("uid", "")])
        yield from _unavailable(state, daemon_set, pods)
        yield from _misscheduled(daemon_set)
        yield from _pull_secrets(state, daemon_set, pods)


def _unavailable(state: ClusterState, ds: Mapping[str, Any],
                 pods: list[Mapping[str, Any]]) -> Iterator[Finding]:
    meta, status = ds["metadata"], ds.get("status") or {}
    if meta.get("generation", 0) > status.get("observedGeneration", 0):
        return
    desired = status.get("desiredNumberScheduled", 0)
    available = status.get("numberAvailable", 0)
    created = status.get("currentNumberScheduled", 0)
    if desired == 0 or available >= desired:
        return
    name, namespace = meta["name"], meta.get("namespace")
    ns = ns_flag(namespace)
    not_ready = [pod for pod in pods if not is_ready(pod)]
    events = _admission.failed_create_events(state, ds) if created < desired else []
    if not events and created >= desired and state.has_kind("Pod") and all(
        is_starting(state, pod) for pod in not_ready
    ):
        return  # a rolling update or a new node: its pods are on their way up
    evidence = [f"desiredNumberScheduled={desired} currentNumberScheduled={created} "
                f"numberReady={status.get('numberReady', 0)} numberAvailable={available} "
                f"updatedNumberScheduled={status.get('updatedNumberScheduled', 0)}"]
    details, remediation = [], []
    if not_ready:
        named = [_describe(state, pod) for pod in not_ready[:_MAX_NAMED_PODS]]
        details.append(f"not ready: {'; '.join(named)}")
        evidence += [f"pod {n}" for n in named]
        selector = selector_flag((ds.get("spec") or {}).get("selector"))
        remediation.append(f"kubectl get pods -l {selector}{ns} -o wide  # then see the pods' "
                           "findings")
    if events:
        text = _admission.api_error(events[-1].get("message", ""))
        explained = _admission.explain(text, namespace, f"the pod template of DaemonSet {name}")
        details.append(f"{desired - created} pod(s) not created: {explained.cause}: "
                       f"\"{text.rstrip('.')}\"")
        evidence.append(describe_event(events[-1]))
        remediation.append(explained.fix)
    remediation.append(f"kubectl describe daemonset {name}{ns}")
    severity = (Severity.CRITICAL if available == 0
                else Severity.ERROR if available * 2 <= desired else Severity.WARNING)
    yield Finding.about(
        ds, severity=severity, reason="PodsUnavailable",
        message=f"DaemonSet {name} has {desired - available} of {desired} pods unavailable"
                + (f" ({'; '.join(details)})." if details else "."),
        evidence=evidence, remediation=remediation,
    )


def _describe(state: ClusterState, pod: Mapping[str, Any]) -> str:
    """``fluent-bit-m4n5b on worker-3: CrashLoopBackOff (fluent-bit)``."""
    why = why_not_ready(pod, state)
    node = (pod.get("spec") or {}).get("nodeName")
    where = f" on {node}" if node and node not in why else ""
    return f"{pod['metadata']['name']}{where}: {why}"


def _misscheduled(ds: Mapping[str, Any]) -> Iterator[Finding]:
    meta, status = ds["metadata"], ds.get("status") or {}
    count = status.get("numberMisscheduled", 0)
    if not count:
        return
    name, ns = meta["name"], ns_flag(meta.get("namespace"))
    template = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    selector = template.get("nodeSelector") or {}
    evidence = [f"numberMisscheduled={count}"]
    if selector:
        evidence.append("nodeSelector: " + ", ".join(f"{k}={v}" for k, v in selector.items()))
    yield Finding.about(
        ds, severity=Severity.WARNING, reason="MisscheduledPods",
        message=f"DaemonSet {name} has {count} pod(s) on nodes that should not run it.",
        evidence=evidence,
        remediation=[f"kubectl get pods{ns} -o wide -l "
                     f"{selector_flag((ds.get('spec') or {}).get('selector'))}  # compare the "
                     "nodes with the template's nodeSelector, affinity and tolerations",
                     "A pod on a node that gained a NoSchedule taint is never removed: add a "
                     f"toleration for the taint to the pod template of DaemonSet {name} if the "
                     "daemon belongs there, or delete the pod (kubectl delete pod POD"
                     f"{ns}); a node whose labels changed by mistake needs them restored."],
    )


def _pull_secrets(state: ClusterState, ds: Mapping[str, Any],
                  pods: list[Mapping[str, Any]]) -> Iterator[Finding]:
    meta = ds["metadata"]
    name, namespace = meta["name"], meta.get("namespace")
    if not absence_is_known(state, "Secret", namespace):
        return
    template = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    missing = [ref.get("name", "") for ref in template.get("imagePullSecrets") or ()
               if ref.get("name") and state.get("Secret", namespace, ref["name"]) is None]
    if not missing:
        return
    pulling = [pod["metadata"]["name"] for pod in pods
               if any(((s.get("state") or {}).get("waiting") or {}).get("reason")
                      in _PULL_FAILURES for s in container_statuses(pod))]
    evidence = [f"spec.template.spec.imagePullSecrets: {', '.join(missing)} (not found in "
                f"namespace {namespace})"]
    if pulling:
        evidence.append(f"pods failing to pull their image: {', '.join(pulling[:_MAX_NAMED_PODS])}")
    yield Finding.about(
        ds, severity=Severity.ERROR if pulling else Severity.WARNING,
        reason="ImagePullSecretMissing",
        message=f"DaemonSet {name} uses image pull Secret {', '.join(missing)}, which does not "
                f"exist in namespace {namespace}"
                + (f"; {len(pulling)} pod(s) cannot pull their image." if pulling else "."),
        evidence=evidence,
        remediation=[f"Create it: kubectl create secret docker-registry {missing[0]} -n "
                     f"{namespace} --docker-server=REGISTRY --docker-username=USER "
                     "--docker-password=TOKEN",
                     "Or remove it from imagePullSecrets in the pod template of DaemonSet "
                     f"{name}."],
        refers_to=ObjectRef("Secret", missing[0], namespace),
    )


ANALYZER = Analyzer(
    name="daemonset",
    kinds=("DaemonSet", "Pod", "Node", "Secret", "Event"),
    analyze=analyze,
    doc=__doc__ or "",
)
