"""The per-container checks of the pod analyzer, and the small records they share with it.

``PodContext`` carries one pod with what every check needs (its events, its owning workload, the
words for "where to change the spec"); ``Problem`` is one fault before it becomes a finding, so
that containers sharing a fault can be merged into one finding per pod and reason. Private to
the pod analyzer; it declares no analyzer of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from k8sdoctor.analysis import ClusterState, Finding, ObjectRef, Severity
from k8sdoctor.analysis.objects import (
    all_containers,
    conditions,
    describe_event,
    format_duration,
    ns_flag,
)

from ._containers import (
    CANNOT_START_REASONS,
    IMAGE_PULL_REASONS,
    config_error_fix,
    describe_termination,
    event_message,
    exit_code_fixes,
    exit_code_meaning,
    field_path_of,
    image_pull_cause,
    recent,
    waiting_fix,
)


@dataclass
class Problem:
    """One fault of a pod (or of one of its containers) on its way to becoming a finding."""

    reason: str
    severity: Severity
    subject: str
    """The container concerned, or "" for the pod as a whole."""
    message: str
    evidence: list[str]
    remediation: list[str]
    others: list[str] = field(default_factory=list)
    """Further containers with the same fault, merged into this one."""


@dataclass(frozen=True)
class Thresholds:
    """When a container's restarts and probe failures count as a fault (the pod analyzer's
    module constants)."""

    restart_count: int
    recent_restart_seconds: float
    probe_event_seconds: float
    readiness_grace_seconds: float


@dataclass
class PodContext:
    """One pod with what every check needs: its events (also by the part of the pod they are
    about), its conditions, its workload, kubectl's ``-n``. Treated as read-only."""

    state: ClusterState
    obj: Mapping[str, Any]
    name: str
    namespace: str | None
    parent: ObjectRef | None
    events: tuple[Mapping[str, Any], ...]
    probe_events: list[Mapping[str, Any]]
    """Its ``Killing`` and ``Unhealthy`` events: the only ones the checks of a running
    container read (most pods have none)."""
    conditions: dict[str, Mapping[str, Any]]
    """``status.conditions`` by type."""

    @classmethod
    def of(cls, state: ClusterState, pod: Mapping[str, Any]) -> PodContext:
        meta = pod["metadata"]
        events = state.events_for(pod)
        return cls(state, pod, meta.get("name", ""), meta.get("namespace"),
                   state.workload_of(pod), events,
                   [e for e in events if e.get("reason") in ("Killing", "Unhealthy")],
                   conditions(pod))

    @cached_property
    def events_by_field_path(self) -> dict[str | None, list[Mapping[str, Any]]]:
        """The pod's events by the part of it they are about (``spec.containers{app}``), oldest
        first: one pass, rather than one per failing container."""
        grouped: dict[str | None, list[Mapping[str, Any]]] = defaultdict(list)
        for event in self.events:
            grouped[_field_path(event)].append(event)
        return grouped

    @property
    def status(self) -> Mapping[str, Any]:
        return self.obj.get("status") or {}

    @property
    def ns(self) -> str:
        return ns_flag(self.namespace)

    @property
    def workload(self) -> str:
        """Where the pod's spec is changed, for remediation sentences."""
        if self.parent is None:
            return f"pod {self.name}'s spec"
        return f"the pod template of {self.parent.kind} {self.parent.name}"

    def finding(self, problem: Problem) -> Finding:
        message = problem.message
        if problem.others:
            plural = "s" if len(problem.others) > 1 else ""
            message = f"{message.rstrip('.')} (also container{plural} " \
                      f"{', '.join(problem.others)})."
        return Finding.about(self.obj, severity=problem.severity, reason=problem.reason,
                             message=message, evidence=problem.evidence,
                             remediation=problem.remediation, parent=self.parent)


@dataclass
class _Container:
    """One container of the pod, with its status and spec (read-only, but not frozen: a
    frozen dataclass costs three times as much to make, and one is made per container)."""

    pod: PodContext
    status: Mapping[str, Any]
    spec: Mapping[str, Any]
    init: bool
    sidecar: bool
    prefix: str
    """``Init`` while the pod is still initializing and this is one of its init containers."""

    @property
    def name(self) -> str:
        return self.status.get("name", "")

    @property
    def label(self) -> str:
        if self.sidecar:
            return f"Sidecar container {self.name} of pod {self.pod.name}"
        kind = "Init container" if self.init else "Container"
        return f"{kind} {self.name} of pod {self.pod.name}"

    @property
    def field_path(self) -> str:
        return field_path_of(self.name, self.init)

    @property
    def events(self) -> list[Mapping[str, Any]]:
        """The pod's events about this container, oldest first (``container_events``)."""
        return self.pod.events_by_field_path.get(self.field_path, [])

    @property
    def probe_events(self) -> list[Mapping[str, Any]]:
        """Its ``Killing`` and ``Unhealthy`` events, oldest first."""
        if not self.pod.probe_events:
            return []
        field_path = self.field_path
        return [e for e in self.pod.probe_events if _field_path(e) == field_path]

    def logs(self, previous: bool = True) -> str:
        return (f"kubectl logs {self.pod.name} -c {self.name}{self.pod.ns}"
                + (" --previous" if previous else ""))


def _field_path(event: Mapping[str, Any]) -> str | None:
    return (event.get("involvedObject") or event.get("regarding") or {}).get("fieldPath")


def container_problems(pod: PodContext, thresholds: Thresholds) -> list[Problem]:
    """The faults of a scheduled pod's containers, init containers first."""
    spec, status = pod.obj.get("spec") or {}, pod.status
    specs = {c.get("name"): c for _, c in all_containers(spec)}
    initialized_cond = pod.conditions.get("Initialized")
    initialized = (initialized_cond.get("status") == "True" if initialized_cond
                   else status.get("phase") != "Pending")
    main = status.get("containerStatuses") or ()
    main_done = bool(main) and all("terminated" in (s.get("state") or {}) for s in main)
    restarting = spec.get("restartPolicy", "Always") != "Never" and status.get("phase") != "Failed"
    problems: list[Problem] = []
    for init, statuses in ((True, status.get("initContainerStatuses")), (False, main)):
        for container_status in statuses or ():
            container_spec = specs.get(container_status.get("name")) or {}
            sidecar = init and container_spec.get("restartPolicy") == "Always"
            if sidecar and main_done:
                continue  # kubelet stops sidecars once the main containers have finished
            container = _Container(pod, container_status, container_spec, init, sidecar,
                                   "Init" if init and not sidecar and not initialized else "")
            problems += _check_container(container, restarting, thresholds)
    return problems


def _check_container(c: _Container, restarting: bool, thresholds: Thresholds
                     ) -> Iterator[Problem]:
    state = c.status.get("state") or {}
    waiting, terminated = state.get("waiting") or {}, state.get("terminated")
    reason = waiting.get("reason")
    # only these two reasons are looked at, so only their events' ages are worked out
    recent_events = recent(c.pod.state, c.probe_events, thresholds.probe_event_seconds)
    probe_kills = [e for e in recent_events
                   if e.get("reason") == "Killing" and "failed" in event_message(e)
                   and "probe" in event_message(e)]
    unhealthy = [e for e in recent_events if e.get("reason") == "Unhealthy"]
    if reason == "CrashLoopBackOff":
        yield _crash_loop(c, waiting, probe_kills, unhealthy)
    elif reason in IMAGE_PULL_REASONS:
        yield _image_pull(c, waiting)
    elif reason in CANNOT_START_REASONS:
        yield _cannot_start(c, reason, waiting)
    elif terminated and terminated.get("exitCode", 0) != 0 and not restarting and not c.sidecar:
        yield _terminated(c, terminated)
    elif "running" in state:
        yield from _restarts(c, state["running"], thresholds)
        yield from _probes(c, probe_kills, unhealthy)
        yield from _readiness(c, state["running"], unhealthy, thresholds)


def _last_termination(c: _Container) -> Mapping[str, Any]:
    return (c.status.get("lastState") or {}).get("terminated") or {}


def _last_exit(last: Mapping[str, Any]) -> str:
    code, reason = last.get("exitCode"), last.get("reason", "unknown")
    return f"last exit code {code} ({reason}): {exit_code_meaning(code, reason)}"


def _crash_loop(c: _Container, waiting: Mapping[str, Any], probe_kills: list[Mapping[str, Any]],
                unhealthy: list[Mapping[str, Any]]) -> Problem:
    last = _last_termination(c)
    restarts = c.status.get("restartCount", 0)
    message = f"{c.label} is in CrashLoopBackOff after {restarts} restarts"
    if last:
        message += f"; {_last_exit(last)}"
    if probe_kills:
        message += f"; kubelet: \"{event_message(probe_kills[-1])}\""
    evidence = [f"container {c.name}: waiting reason=CrashLoopBackOff: "
                f"{waiting.get('message', '')}".rstrip(": "),
                f"container {c.name}: restartCount={restarts}"]
    if last:
        evidence.append(f"container {c.name}: lastState.terminated {describe_termination(last)}")
    back_off = [e for e in c.events if e.get("reason") == "BackOff"]
    evidence += [describe_event(e) for e in (*back_off[-1:], *probe_kills[-1:], *unhealthy[-1:])]
    remediation = [c.logs(), f"kubectl describe pod {c.pod.name}{c.pod.ns}"]
    killed_by = [p for p in ("liveness", "startup")
                 if any(f"failed {p} probe" in event_message(e) for e in probe_kills)]
    if killed_by:
        remediation += [_probe_fix(c, probe) for probe in killed_by]
    else:
        remediation += exit_code_fixes(last, c.spec or {"name": c.name}, c.pod.workload)
    return Problem(c.prefix + "CrashLoopBackOff", Severity.ERROR, c.name, message + ".",
                   evidence, remediation)


def _image_pull(c: _Container, waiting: Mapping[str, Any]) -> Problem:
    image = c.spec.get("image") or c.status.get("image", "")
    failures = [e for e in c.events
                if e.get("reason") == "Failed" and "pull image" in event_message(e)]
    text = event_message(failures[-1]) if failures else (waiting.get("message") or "").strip()
    cause, fix = image_pull_cause(f"{text} {waiting.get('message', '')}")
    secrets = [s.get("name", "") for s in (c.pod.obj.get("spec") or {}).get("imagePullSecrets")
               or ()]
    evidence = [f"container {c.name}: waiting reason={waiting.get('reason')}: "
                f"{waiting.get('message', '')}".rstrip(": "),
                f"spec.imagePullSecrets: {', '.join(secrets) or '(none)'}"]
    evidence += [describe_event(e) for e in failures[-1:]]
    return Problem(
        c.prefix + waiting.get("reason", "ImagePullBackOff"), Severity.ERROR, c.name,
        f"{c.label} cannot pull image {image}: {cause}: \"{text}\".", evidence,
        [f"Image {image} of container {c.name} is set in {c.pod.workload}: {fix}",
         f"kubectl describe pod {c.pod.name}{c.pod.ns}"],
    )


def _cannot_start(c: _Container, reason: str, waiting: Mapping[str, Any]) -> Problem:
    failures = [e for e in c.events if e.get("reason") == "Failed"]
    text = (waiting.get("message") or "").strip() or (
        event_message(failures[-1]).removeprefix("Error: ") if failures else "")
    if reason == "CreateContainerConfigError":
        fix = config_error_fix(text, c.name, c.pod.namespace, c.pod.workload)
    else:
        fix = waiting_fix(reason, text, c.spec or {"name": c.name}, c.pod.workload)
    evidence = [f"container {c.name}: waiting reason={reason}: {text}".rstrip(": ")]
    evidence += [describe_event(e) for e in failures[-1:]]
    return Problem(c.prefix + reason, Severity.ERROR, c.name,
                   f"{c.label} cannot start ({reason}): \"{text}\".", evidence,
                   [fix, f"kubectl describe pod {c.pod.name}{c.pod.ns}"])


def _terminated(c: _Container, terminated: Mapping[str, Any]) -> Problem:
    code, reason = terminated.get("exitCode"), terminated.get("reason") or "Error"
    oom = reason == "OOMKilled"
    if c.init:
        finding_reason = "InitOOMKilled" if oom else "InitError"
    else:
        finding_reason = "OOMKilled" if oom else "TerminatedWithError"
    policy = (c.pod.obj.get("spec") or {}).get("restartPolicy", "Always")
    message = (f"{c.label} exited with code {code} ({reason}) and will not be restarted "
               f"(restartPolicy {policy}, pod phase {c.pod.status.get('phase')}): "
               f"{exit_code_meaning(code, reason)}.")
    return Problem(finding_reason, Severity.ERROR, c.name, message,
                   [f"container {c.name}: state.terminated {describe_termination(terminated)}"],
                   [c.logs(previous=False),
                    *exit_code_fixes(terminated, c.spec or {"name": c.name}, c.pod.workload)])


def _restarts(c: _Container, running: Mapping[str, Any],
              thresholds: Thresholds) -> Iterator[Problem]:
    restarts = c.status.get("restartCount", 0)
    since = c.pod.state.age_of(running.get("startedAt"))
    if (restarts < thresholds.restart_count or since is None
            or since >= thresholds.recent_restart_seconds):
        return
    last = _last_termination(c)
    message = (f"{c.label} has restarted {restarts} times, most recently "
               f"{format_duration(since)} ago")
    if last:
        message += f"; {_last_exit(last)}"
    evidence = [f"container {c.name}: restartCount={restarts} running since "
                f"{running.get('startedAt')}"]
    if last:
        evidence.append(f"container {c.name}: lastState.terminated {describe_termination(last)}")
    yield Problem("HighRestartCount", Severity.WARNING, c.name, message + ".", evidence,
                  [c.logs(), *exit_code_fixes(last, c.spec or {"name": c.name},
                                              c.pod.workload)])


def _probes(c: _Container, probe_kills: list[Mapping[str, Any]],
            unhealthy: list[Mapping[str, Any]]) -> Iterator[Problem]:
    """A running container that kubelet restarted for a failing liveness or startup probe."""
    for probe in ("liveness", "startup"):
        kills = [e for e in probe_kills if f"failed {probe} probe" in event_message(e)]
        if not kills:
            continue
        failing = [e for e in unhealthy
                   if event_message(e).lower().startswith(f"{probe} probe")]
        quoted = event_message((failing or kills)[-1])
        yield Problem(
            f"{probe.capitalize()}ProbeFailed", Severity.WARNING, c.name,
            f"{c.label} was restarted by kubelet because its {probe} probe failed: "
            f"\"{quoted}\".",
            [describe_event(e) for e in (*failing[-1:], kills[-1])],
            [_probe_fix(c, probe), c.logs()],
        )


def _readiness(c: _Container, running: Mapping[str, Any], unhealthy: list[Mapping[str, Any]],
               thresholds: Thresholds) -> Iterator[Problem]:
    """A running container that is not ready and fails its readiness probe now, past the time
    an app takes to start (or to get over a short hiccup)."""
    readiness = [e for e in unhealthy if event_message(e).lower().startswith("readiness probe")]
    if not readiness or c.status.get("ready", False):
        return
    became_unready = (c.pod.conditions.get("ContainersReady") or {}).get("lastTransitionTime")
    unready_for = min((age for age in (c.pod.state.age_of(running.get("startedAt")),
                                       c.pod.state.age_of(became_unready)) if age is not None),
                      default=None)
    if unready_for is None or unready_for < thresholds.readiness_grace_seconds:
        return
    yield Problem(
        "ReadinessProbeFailed", Severity.WARNING, c.name,
        f"{c.label} has not been ready for {format_duration(unready_for)}: "
        f"\"{event_message(readiness[-1])}\".",
        [f"container {c.name}: ready=false, running since {running.get('startedAt')}",
         describe_event(readiness[-1])],
        [_probe_fix(c, "readiness"), c.logs(previous=False)],
    )


def _probe_fix(c: _Container, probe: str) -> str:
    config = c.spec.get(f"{probe}Probe") or {}
    action = config.get("httpGet") or config.get("tcpSocket") or config.get("grpc") or {}
    target = " ".join(f"{k}={v}" for k, v in action.items() if k in ("path", "port"))
    if "exec" in config:
        target = "command " + " ".join(str(p) for p in config["exec"].get("command") or ())
    described = f" ({target}, timeoutSeconds={config.get('timeoutSeconds', 1)}, " \
                f"failureThreshold={config.get('failureThreshold', 3)})" if config else ""
    return (f"Check that the app answers its {probe} probe{described}: fix the probe's path, "
            f"port or timeouts in {c.pod.workload}, or the app's health endpoint.")
