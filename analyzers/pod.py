"""Pods that cannot be scheduled, cannot start, crash, were evicted or will not go away.

Faults reported (one finding per pod and reason; containers sharing a fault are named together;
an init container's reason is prefixed ``Init``, as kubectl shows ``Init:CrashLoopBackOff``):

- ``CrashLoopBackOff`` (error): a container keeps exiting and kubelet backs off restarting it.
  The message gives its last termination reason and what the exit code means (137 SIGKILL /
  OOMKilled, 143 SIGTERM, 127 command not found, 126 not executable, 1 application error, 0 a
  process that should not exit) and a liveness or startup probe that killed it. Fix: read
  ``kubectl logs POD -c CONTAINER -n NS --previous``; raise the memory limit for OOMKilled, fix
  command/args for 127/126, fix the probe for probe kills.
- ``ImagePullBackOff`` / ``ErrImagePull`` (error): the image cannot be pulled; the cause is
  sorted out of the runtime's message (tag or repository not found, credentials refused, rate
  limit, registry unreachable). Fix: the image reference, ``imagePullSecrets``, or the network.
- ``ErrImageNeverPull``, ``InvalidImageName``, ``ImageInspectError``,
  ``CreateContainerConfigError`` (a missing Secret, ConfigMap or key; runAsNonRoot with a root
  image), ``CreateContainerError``, ``RunContainerError``, ``PreStartHookError``,
  ``PostStartHookError``, ``PreCreateHookError`` (error): the container cannot be created or
  started; kubelet's message is quoted and the object or field to fix is named.
- ``OOMKilled`` / ``TerminatedWithError`` (error): a container exited non-zero and will not be
  restarted (restartPolicy Never, or the pod failed); ``InitError`` / ``InitOOMKilled`` for an
  init container (kubectl's ``Init:Error``). Fix: its logs and exit code, as above.
- ``FailedMount`` / ``FailedAttachVolume`` / ``FailedCreatePodSandBox`` (error): the pod has
  been stuck in ContainerCreating for more than 3 minutes and kubelet's latest event says why
  (a missing ConfigMap or Secret volume, a volume still attached to another node, the CNI
  plugin failing). Fix: what the event names.
- ``Unschedulable`` (error; warning while the cluster autoscaler or Karpenter is adding a node
  for it): the scheduler's message is broken into causes - insufficient cpu / memory /
  ephemeral-storage / extended resources (with the pod's request), untolerated taints (read
  from the nodes when the scheduler does not name them), node affinity or selector, volume
  binding and zone conflicts (a volume node affinity conflict names the bound PersistentVolume,
  the zone it needs and the zones of the schedulable nodes), topology spread, pod
  (anti-)affinity, host ports, cordoned nodes - each with its fix.
- ``SchedulingGated`` (warning): ``spec.schedulingGates`` hold the pod back from the scheduler.
  Fix: the controller that added the gate must remove it (a queueing system such as Kueue).
- ``Evicted`` (warning): kubelet evicted the pod; the node pressure behind it (MemoryPressure,
  DiskPressure for disk space or inodes, PIDPressure) or the exceeded ephemeral-storage limit
  is named. Fix: set requests near real usage, limit what fills the disk, then delete the
  evicted pod.
- Other pod-level failures (warning or error): the reason kubelet gave (``DeadlineExceeded``,
  ``NodeAffinity``, ``OutOfcpu``, ``UnexpectedAdmissionError``, node shutdown) with its message.
- ``LivenessProbeFailed`` / ``StartupProbeFailed`` (warning): kubelet restarted a running
  container because the probe failed (``Killing`` and ``Unhealthy`` events of the last 15
  minutes). ``ReadinessProbeFailed`` (warning): a running container has not been ready for 3
  minutes and its readiness probe is failing now. Fix: the probe's path, port, timeoutSeconds
  and failureThreshold, or the app.
- ``HighRestartCount`` (warning): a running container restarted 5 times or more and its latest
  restart is less than 6 hours old. Fix: its previous logs and last exit code, as above.
- ``NodeNotReady`` (warning; error for a pod no controller will recreate): the pod is bound to
  a node that is NotReady or has stopped reporting (the node analyzer's ``NotReady`` /
  ``NodeStatusUnknown``), so it is not ready whatever its stale container statuses say, or stuck
  Terminating because its kubelet cannot confirm the deletion (the taint manager's eviction
  included). A DaemonSet's pod on that node is reported too. Fix: bring the node back, or delete
  the node so its pods are removed and recreated elsewhere; force-delete a stuck pod only once
  the node is confirmed gone.
- ``StuckTerminating`` (warning): the pod is still there 2 minutes after its deletion deadline
  (which already includes the grace period); finalizers or an unreachable node are named. Fix:
  the finalizer's controller or the node; force deletion as a last resort.

Not reported: Succeeded pods (unless stuck Terminating); pods of a Job that completed (even
after failed attempts) or of a CronJob run that a newer completed run made history; of a Job
still retrying, only its newest failed pod is reported (of a failed Job, every failed pod is);
pods on a node that is still joining or being removed by an autoscaler;
native sidecars (init containers with ``restartPolicy: Always``) of a pod whose main containers
have finished; a container between restarts that is about to be restarted; a running container
below the restart threshold, or whose last restart is long past; probe failures that have
stopped; a container still starting up and not ready yet; a pod inside its grace period; a pod
waiting a few seconds for a volume, or one whose volumes failed to mount at first and that has
since moved on to pulling its images.

The thresholds are module constants of ``k8sdoctor.analyzers.pod``: ``RESTART_COUNT_THRESHOLD``
and the ``*_SECONDS`` durations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.objects import (
    absence_is_known,
    conditions,
    describe_condition,
    describe_event,
    format_duration,
)
from k8sdoctor.cluster.state import event_time

from . import _scheduling
from ._node_health import DownNode, down_node
from ._pod_checks import PodContext, Problem, Thresholds, container_problems
from ._workload_pods import creation_order, superseded

RESTART_COUNT_THRESHOLD = 5
"""Restarts from which a running container is reported as ``HighRestartCount``."""
RECENT_RESTART_SECONDS = 6 * 3600
"""Only a container whose current run started less than this ago counts as restarting; one
that has been stable for longer is not reported, whatever its count."""
STUCK_CREATING_SECONDS = 180
"""How long a scheduled pod may wait for its volumes and sandbox before it counts as stuck."""
STUCK_TERMINATING_SECONDS = 120
"""How long past ``metadata.deletionTimestamp`` a pod may remain before it counts as stuck."""
PROBE_EVENT_SECONDS = 15 * 60
"""Probe failure events older than this are history, not a current fault."""
READINESS_GRACE_SECONDS = 180
"""How long a running container may be not ready (starting up, or a short hiccup) before its
failing readiness probe counts as a fault."""

_CREATING_EVENTS = ("FailedAttachVolume", "FailedMount", "FailedCreatePodSandBox")
_PAST_CREATING_EVENTS = ("Pulling", "Pulled", "Created", "Started")
"""Kubelet pulls images only once the sandbox is up and the volumes are mounted."""
_SCALE_UP_EVENTS = {"TriggeredScaleUp": "the cluster autoscaler is adding a node",
                    "Nominated": "Karpenter is launching a node for it",
                    "NotTriggerScaleUp": ""}
"""The node autoscalers' verdicts on a pending pod, newest wins (Karpenter's ``Nominated``
reads ``Pod should schedule on: nodeclaim/NAME``)."""
_GRACEFUL_FAILURES = {"Evicted", "Shutdown", "Terminated", "NodeShutdown"}


def analyze(state: ClusterState) -> Iterator[Finding]:
    thresholds = Thresholds(RESTART_COUNT_THRESHOLD, RECENT_RESTART_SECONDS, PROBE_EVENT_SECONDS,
                            READINESS_GRACE_SECONDS)
    down_nodes: dict[str | None, DownNode | None] = {}  # a node hosts a hundred pods
    for pod in state.objects("Pod"):
        finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name not in down_nodes:
            down_nodes[node_name] = down_node(state, node_name)
        node = None if finished else down_nodes[node_name]
        if node is not None:
            yield _on_down_node(PodContext.of(state, pod), node)
        elif pod["metadata"].get("deletionTimestamp"):
            yield from _terminating(PodContext.of(state, pod))
        elif not _finished_as_intended(state, pod):
            yield from _check(PodContext.of(state, pod), thresholds)


def _finished_as_intended(state: ClusterState, pod: Mapping[str, Any]) -> bool:
    """Succeeded pods, pods of a completed Job or of a CronJob run that a newer completed run
    made history, and the older failed attempts of a Job still running (of a failed Job, every
    failed attempt counts)."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return True
    job = state.controller_of(pod)
    if job is None or job.get("kind") != "Job":
        return False
    by_type = conditions(job)
    if (by_type.get("Complete") or {}).get("status") == "True" or superseded(state, job):
        return True
    if phase != "Failed" or any((by_type.get(c) or {}).get("status") == "True"
                                for c in ("Failed", "FailureTarget")):
        return False
    failed = [p for p in state.owned_by(job["metadata"].get("uid", ""))
              if p.get("kind") == "Pod" and (p.get("status") or {}).get("phase") == "Failed"]
    return max(failed, default=pod, key=creation_order) is not pod


def _on_down_node(pod: PodContext, node: DownNode) -> Finding:
    """A pod bound to a node that is down: whatever its containers last reported is stale, and
    it neither runs nor goes away until the node comes back or is removed."""
    meta = pod.obj["metadata"]
    ready = node.ready
    since = pod.state.age_of(ready.get("lastTransitionTime"))
    how_long = f" for {format_duration(since)}" if since is not None and since >= 0 else ""
    node_state = (f"node {node.name}, which stopped reporting{how_long} "
                  f"({ready.get('message') or node.status})" if node.status != "NotReady" else
                  f"node {node.name}, which is NotReady{how_long} "
                  f"({ready.get('message') or ready.get('reason') or 'Ready=False'})")
    evidence = [f"spec.nodeName={node.name}", f"node {node.name}: {describe_condition(ready)}"]
    evidence += [describe_condition(c) for kind, c in pod.conditions.items()
                 if kind == "DisruptionTarget" or (kind == "Ready" and c.get("status") != "True")]
    owner = pod.parent
    remediation = [f"kubectl describe node {node.name}  # bring the node back (see its finding)"]
    if meta.get("deletionTimestamp"):
        evidence.append(f"metadata.deletionTimestamp={meta['deletionTimestamp']}")
        message = (f"Pod {pod.name} is stuck Terminating on {node_state}: its kubelet cannot "
                   "confirm that the containers stopped, so the deletion never completes.")
        remediation.append(f"Once the node is confirmed gone: kubectl delete pod {pod.name}"
                           f"{pod.ns} --grace-period=0 --force")
    else:
        message = (f"Pod {pod.name} is not ready: it is bound to {node_state}, so nothing is "
                   "known of its containers.")
        if owner is not None and owner.kind == "DaemonSet":
            message += f" DaemonSet {owner.name} keeps one pod on every node, this one included."
        remediation.append(f"If the node does not come back, delete it (kubectl delete node "
                           f"{node.name}) so its pods are removed"
                           + (" and recreated elsewhere." if owner is not None else "."))
    if owner is None:
        message += " No controller will recreate it on another node."
    return pod.finding(Problem("NodeNotReady",
                               Severity.ERROR if owner is None else Severity.WARNING, "",
                               message, evidence, remediation))


def _check(pod: PodContext, thresholds: Thresholds) -> Iterator[Finding]:
    spec, status = pod.obj.get("spec") or {}, pod.status
    phase = status.get("phase")
    if phase == "Failed" and status.get("reason"):
        yield _pod_failure(pod)
        return
    problems: list[Problem] = []
    if phase == "Pending" and not spec.get("nodeName"):
        problems += _scheduling_problems(pod)
    else:
        problems += container_problems(pod, thresholds)
        if phase == "Pending" and not problems:
            problems += _stuck_creating(pod)
    yield from (pod.finding(problem) for problem in _merge(problems))


def _merge(problems: list[Problem]) -> list[Problem]:
    """One problem per reason: findings are identified by object and reason."""
    by_reason: dict[str, Problem] = {}
    for problem in problems:
        first = by_reason.get(problem.reason)
        if first is None:
            by_reason[problem.reason] = problem
            continue
        first.others.append(problem.subject)
        first.severity = max(first.severity, problem.severity, key=lambda s: s.rank)
        first.evidence += [e for e in problem.evidence if e not in first.evidence]
        first.remediation += [r for r in problem.remediation if r not in first.remediation]
    return list(by_reason.values())


def _scheduling_problems(pod: PodContext) -> list[Problem]:
    scheduled = pod.conditions.get("PodScheduled") or {}
    if scheduled.get("status") != "False":
        return []
    if scheduled.get("reason") == "SchedulingGated":
        gates = [g.get("name", "") for g in (pod.obj.get("spec") or {}).get("schedulingGates")
                 or ()]
        return [Problem(
            "SchedulingGated", Severity.WARNING, "",
            f"Pod {pod.name} is held back from scheduling by scheduling gates "
            f"{', '.join(gates) or '(none listed)'}: \"{scheduled.get('message', '')}\".",
            [describe_condition(scheduled), f"spec.schedulingGates: {', '.join(gates)}"],
            ["The controller that added each gate removes it once the pod may run (for "
             "example a queueing system admitting the workload); check that controller's "
             f"logs and quota. kubectl get pod {pod.name}{pod.ns} -o "
             "jsonpath='{.spec.schedulingGates}'"],
        )]
    if scheduled.get("reason") != "Unschedulable":
        return []
    failed_events = [e for e in pod.events if e.get("reason") == "FailedScheduling"]
    text = scheduled.get("message") or (failed_events[-1].get("message") if failed_events
                                        else "") or ""
    failure = _scheduling.parse(text)
    evidence, remediation = _scheduling.advice(failure, pod.obj, pod.workload,
                                               pod.state.objects("Node"),
                                               volumes=_bound_volumes(pod))
    evidence.insert(0, describe_condition(scheduled))
    evidence += [describe_event(e) for e in failed_events[-1:]]
    scale_up = [e for e in pod.events if e.get("reason") in _SCALE_UP_EVENTS][-1:]
    adding_node = _SCALE_UP_EVENTS[scale_up[0]["reason"]] if scale_up else ""
    evidence += [describe_event(e) for e in scale_up]
    message = f"Pod {pod.name} cannot be scheduled: \"{failure.message.rstrip('.')}\""
    message += f" ({adding_node})." if adding_node else "."
    remediation.append(f"kubectl describe pod {pod.name}{pod.ns}")
    return [Problem("Unschedulable", Severity.WARNING if adding_node else Severity.ERROR, "",
                    message, evidence, remediation)]


def _bound_volumes(pod: PodContext) -> list[tuple[str, Mapping[str, Any]]]:
    """``(claim name, PersistentVolume)`` for each of the pod's claims bound to a volume."""
    namespace = pod.obj["metadata"].get("namespace")
    bound = []
    for volume in (pod.obj.get("spec") or {}).get("volumes") or ():
        claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        claim = pod.state.get("PersistentVolumeClaim", namespace, claim_name or "")
        volume_name = ((claim or {}).get("spec") or {}).get("volumeName")
        if claim_name and volume_name and (pv := pod.state.get("PersistentVolume", None,
                                                               volume_name)):
            bound.append((claim_name, pv))
    return bound


def _stuck_creating(pod: PodContext) -> list[Problem]:
    # a failure followed by an image pull is one the pod got past
    moved_on = min((_event_age(pod.state, e) for e in pod.events
                    if e.get("reason") in _PAST_CREATING_EVENTS), default=float("inf"))
    events = [e for e in pod.events if e.get("reason") in _CREATING_EVENTS
              and _event_age(pod.state, e) < moved_on]
    scheduled = pod.conditions.get("PodScheduled") or {}
    since = scheduled.get("lastTransitionTime") or pod.obj["metadata"].get("creationTimestamp")
    waited = pod.state.age_of(since)
    if not events or waited is None or waited < STUCK_CREATING_SECONDS:
        return []
    reason = next(r for r in _CREATING_EVENTS if any(e.get("reason") == r for e in events))
    main = [e for e in events if e.get("reason") == reason][-1]
    text = (main.get("message") or "").strip()
    node = (pod.obj.get("spec") or {}).get("nodeName", "")
    message = (f"Pod {pod.name} has been stuck in ContainerCreating for "
               f"{format_duration(waited)} on node {node}: \"{text}\".")
    newest_by_reason: dict[str, Mapping[str, Any]] = {}
    for event in reversed(events):
        newest_by_reason.setdefault(event.get("reason", ""), event)
    evidence = [describe_event(e) for e in newest_by_reason.values()]
    return [Problem(reason, Severity.ERROR, "", message, evidence,
                    [_creating_fix(reason, text, pod, node), f"kubectl describe pod "
                                                             f"{pod.name}{pod.ns}"])]


def _event_age(state: ClusterState, event: Mapping[str, Any]) -> float:
    """Seconds since the event was last seen."""
    return state.age_of(event_time(event)) or 0.0


def _creating_fix(reason: str, text: str, pod: PodContext, node: str) -> str:
    if reason == "FailedCreatePodSandBox":
        return (f"The runtime or CNI plugin on node {node} cannot set up the pod's sandbox: "
                "check the network plugin's pods there (kubectl get pods -n kube-system -o wide "
                f"--field-selector spec.nodeName={node}) and the kubelet log.")
    if "Multi-Attach" in text:
        return ("The ReadWriteOnce volume is still attached to another node (the old pod's "
                "node during a rollout, or a failed node): wait for the old pod to go away; if "
                "that node is gone, delete its VolumeAttachment (kubectl get volumeattachment).")
    if " not found" in text and ("configmap" in text or "secret" in text):
        return (f"Create the object the message names in namespace {pod.namespace}, fix the "
                f"volume's name in {pod.workload}, or mark the volume optional: true.")
    return ("A volume cannot be attached or mounted: check its PersistentVolumeClaim, the CSI "
            f"driver's pods on node {node} and kubectl get volumeattachment.")


def _pod_failure(pod: PodContext) -> Finding:
    status = pod.status
    reason, text = status["reason"], (status.get("message") or "").strip()
    node = (pod.obj.get("spec") or {}).get("nodeName", "")
    evidence = [f"status.phase=Failed reason={reason}: {text}"]
    evidence += [describe_condition(c) for c in pod.conditions.values()
                 if c.get("type") == "DisruptionTarget"]
    evidence += [describe_event(e) for e in pod.events if e.get("reason") == reason][-1:]
    remediation: list[str] = []
    if reason == "Evicted":
        message, fix = _eviction(pod, text, node, evidence)
        remediation.append(fix)
    else:
        message = f"Pod {pod.name} failed on node {node} ({reason}): \"{text}\"."
        remediation.append(f"kubectl describe node {node}")
    remediation.append(f"kubectl delete pod {pod.name}{pod.ns}  # a failed pod lingers until "
                       "deleted")
    severity = Severity.WARNING if reason in _GRACEFUL_FAILURES else Severity.ERROR
    return pod.finding(Problem(reason, severity, "", message, evidence, remediation))


_PRESSURE_OF = {"memory": "MemoryPressure", "ephemeral-storage": "DiskPressure",
                "inodes": "DiskPressure", "pids": "PIDPressure",
                # the resource names older kubelets wrote
                "nodefs": "DiskPressure", "imagefs": "DiskPressure",
                "nodefsInodes": "DiskPressure", "imagefsInodes": "DiskPressure"}


def _eviction(pod: PodContext, text: str, node: str, evidence: list[str]) -> tuple[str, str]:
    resource = text.split("low on resource: ", 1)[1].split(".", 1)[0].strip() \
        if "low on resource: " in text else ""
    pressure = _PRESSURE_OF.get(resource) or next(
        (p for p in ("MemoryPressure", "DiskPressure", "PIDPressure") if p in text), None)
    if pressure is None:
        return (f"Pod {pod.name} was evicted from node {node}: \"{text}\".",
                f"Raise the ephemeral-storage limit in {pod.workload}, or write less to the "
                "container's filesystem and emptyDir volumes (use a volume sized for it).")
    node_obj = pod.state.get("Node", None, node)
    if node_obj is not None:
        current = conditions(node_obj).get(pressure)
        if current:
            evidence.append(f"node {node}: {describe_condition(current)}")
    return (f"Pod {pod.name} was evicted from node {node} under {pressure}: \"{text}\".",
            f"Node {node} ran short of {resource or pressure}: set requests in {pod.workload} "
            "close to real usage (pods using more than they request are evicted first), and "
            "find what fills the node (kubectl top pods, kubectl describe node "
            f"{node}).")


def _terminating(pod: PodContext) -> Iterator[Finding]:
    meta = pod.obj["metadata"]
    overdue = pod.state.age_of(meta.get("deletionTimestamp"))
    if overdue is None or overdue < STUCK_TERMINATING_SECONDS:
        return
    node = (pod.obj.get("spec") or {}).get("nodeName")
    finalizers = list(meta.get("finalizers") or ())
    evidence = [f"metadata.deletionTimestamp={meta['deletionTimestamp']} "
                f"deletionGracePeriodSeconds={meta.get('deletionGracePeriodSeconds')}"]
    causes, remediation = [], []
    if finalizers:
        causes.append(f"finalizers {', '.join(finalizers)} are still set")
        evidence.append(f"metadata.finalizers: {', '.join(finalizers)}")
        remediation.append("The controller that owns each finalizer must remove it; if that "
                           "controller is gone: kubectl patch pod "
                           f"{pod.name}{pod.ns} --type=merge -p "
                           "'{\"metadata\":{\"finalizers\":null}}'")
    node_obj = pod.state.get("Node", None, node) if node else None
    ready = conditions(node_obj).get("Ready") if node_obj else None
    if node and node_obj is None and absence_is_known(pod.state, "Node"):
        causes.append(f"its node {node} no longer exists")
    elif ready is not None and ready.get("status") != "True":
        causes.append(f"its node {node} is not Ready")
        evidence.append(f"node {node}: {describe_condition(ready)}")
    if not finalizers:
        remediation.append(f"Check kubelet and the container runtime on node {node}; once the "
                           "node is confirmed gone or the containers stopped: kubectl delete "
                           f"pod {pod.name}{pod.ns} --grace-period=0 --force")
    message = (f"Pod {pod.name} has been Terminating for {format_duration(overdue)} past its "
               "deletion deadline" + (f": {' and '.join(causes)}." if causes else "."))
    yield pod.finding(Problem("StuckTerminating", Severity.WARNING, "", message, evidence,
                              remediation))


ANALYZER = Analyzer(
    name="pod",
    kinds=("Pod", "Event", "Node", "Job", "PersistentVolumeClaim", "PersistentVolume"),
    analyze=analyze,
    doc=__doc__ or "",
)
