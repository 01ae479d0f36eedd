"""Jobs that failed, with the reason the Job controller gave and how the last attempt ended.

Faults reported (the finding's reason is the Failed condition's own):

- ``BackoffLimitExceeded`` (error): more pods failed than ``spec.backoffLimit`` allows. The
  newest failed pod is named with its container's exit code and termination reason. Fix: read
  its logs (``kubectl logs POD -c CONTAINER -n NS``), fix the cause, then run the Job again.
- ``DeadlineExceeded`` (error): the Job ran longer than ``spec.activeDeadlineSeconds`` and its
  pods were stopped. Fix: find what makes it slow, or raise the deadline.
- ``PodFailurePolicy`` (error): a ``podFailurePolicy`` rule with action FailJob matched (the
  controller's message names the container and exit code). Fix: what that exit code means for
  the application.
- ``MaxFailedIndexesExceeded`` / ``FailedIndexes`` (error): an Indexed Job with
  ``backoffLimitPerIndex`` has failed indexes.
- ``Suspended`` (info): ``spec.suspend`` is true, so no pods run until it is resumed (queueing
  systems such as Kueue suspend Jobs waiting for quota). Fix: ``kubectl patch job NAME
  --type=merge -p '{"spec":{"suspend":false}}'`` if nothing is meant to hold it.

Not reported: a Job that completed, even after failed attempts (``Complete=True`` with
``status.failed > 0``); a failed run of a CronJob followed by a newer run that completed; a Job
still running inside its limits.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import conditions, describe_condition, ns_flag
from k8sdoctor.cluster.state import controller_ref

from ._containers import describe_termination, exit_code_meaning
from ._workload_pods import container_statuses, creation_order, superseded


def analyze(state: ClusterState) -> Iterator[Finding]:
    for job in state.objects("Job"):
        by_type = conditions(job)
        if _true(by_type, "Complete"):
            continue  # succeeded, whatever the failed attempts before
        failed = by_type.get("Failed") if _true(by_type, "Failed") else (
            by_type.get("FailureTarget") if _true(by_type, "FailureTarget") else None)
        if failed is not None and not superseded(state, job):
            yield _failed(state, job, failed)
        if (job.get("spec") or {}).get("suspend") and failed is None:
            yield _suspended(state, job)


def _true(by_type: Mapping[str, Mapping[str, Any]], kind: str) -> bool:
    return (by_type.get(kind) or {}).get("status") == "True"


def _failed(state: ClusterState, job: Mapping[str, Any],
            condition: Mapping[str, Any]) -> Finding:
    meta, spec, status = job["metadata"], job.get("spec") or {}, job.get("status") or {}
    name, namespace = meta["name"], meta.get("namespace")
    ns = ns_flag(namespace)
    reason = condition.get("reason") or "Failed"
    evidence = [describe_condition(condition),
                f"status succeeded={status.get('succeeded', 0)} failed={status.get('failed', 0)}"
                f" backoffLimit={spec.get('backoffLimit', 6)}"
                + (f" activeDeadlineSeconds={spec['activeDeadlineSeconds']}"
                   if "activeDeadlineSeconds" in spec else "")]
    remediation = []
    last = _last_failure(state, job)
    attempt = ""
    if last is not None:
        pod_name, container, terminated = last
        code, why = terminated.get("exitCode"), terminated.get("reason", "Error")
        attempt = (f"; the last attempt, pod {pod_name}, ended with container {container} exit "
                   f"code {code} ({why}): {exit_code_meaning(code, why)}")
        evidence.append(f"pod {pod_name} container {container}: "
                        f"{describe_termination(terminated)}")
        remediation.append(f"kubectl logs {pod_name} -c {container}{ns}")
    else:
        remediation.append(f"kubectl describe job {name}{ns}")
    if reason == "DeadlineExceeded":
        remediation.append(f"Find what makes the Job slow, or raise spec.activeDeadlineSeconds "
                           f"(now {spec.get('activeDeadlineSeconds')}).")
    elif reason == "BackoffLimitExceeded":
        remediation.append("Fix the cause of the failures; raising spec.backoffLimit only helps "
                           "if they are transient.")
    owner = controller_ref(job)
    if owner is not None and owner.get("kind") == "CronJob":
        remediation.append(f"Run it again now: kubectl create job {owner.get('name')}-manual "
                           f"--from=cronjob/{owner.get('name')}{ns}")
    else:
        remediation.append("A failed Job is not retried: delete it and create it again once "
                           f"fixed (kubectl delete job {name}{ns}).")
    return Finding.about(
        job, severity=Severity.ERROR, reason=reason,
        message=f"Job {name} failed ({reason}): \"{condition.get('message', '').rstrip('.')}\""
                f"{attempt}.",
        evidence=evidence, remediation=remediation, parent=state.workload_of(job),
    )


def _last_failure(state: ClusterState,
                  job: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]] | None:
    """The newest failed pod of the Job, with its first container that exited non-zero."""
    pods = sorted(
        (p for p in state.owned_by(job["metadata"].get("uid", "")) if p.get("kind") == "Pod"),
        key=creation_order, reverse=True,
    )
    for pod in pods:
        for container in container_statuses(pod):
            terminated = (container.get("state") or {}).get("terminated") or {}
            if terminated.get("exitCode", 0) != 0:
                return pod["metadata"]["name"], container.get("name", ""), terminated
    return None


def _suspended(state: ClusterState, job: Mapping[str, Any]) -> Finding:
    name, namespace = job["metadata"]["name"], job["metadata"].get("namespace")
    suspended = conditions(job).get("Suspended")
    return Finding.about(
        job, severity=Severity.INFO, reason="Suspended",
        message=f"Job {name} is suspended: it runs no pods until spec.suspend is false.",
        evidence=[describe_condition(suspended) if suspended else "spec.suspend=true"],
        remediation=[f"kubectl patch job {name}{ns_flag(namespace)} --type=merge -p "
                     "'{\"spec\":{\"suspend\":false}}'  # unless a queueing system holds it"],
        parent=state.workload_of(job),
    )


ANALYZER = Analyzer(
    name="job",
    kinds=("Job", "Pod"),
    analyze=analyze,
    doc=__doc__ or "",
    spec_reasons=frozenset({"Suspended"}),
)
