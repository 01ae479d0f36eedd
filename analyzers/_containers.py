"""What a container's status and kubelet's events say about it, in words and fixes.

Exit codes and the signals behind them, the waiting reasons that mean trouble, image pull
errors sorted by cause, ``CreateContainerConfigError`` messages read back into the missing
object, and the events kubelet writes about one container. Private to the pod analyzer; it
declares no analyzer of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from k8sdoctor.cluster.state import ClusterState, event_time

IMAGE_PULL_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull"})
CANNOT_START_REASONS = frozenset({
    "ErrImageNeverPull", "InvalidImageName", "ImageInspectError", "CreateContainerConfigError",
    "CreateContainerError", "RunContainerError", "PreStartHookError", "PreCreateHookError",
    "PostStartHookError",
})
"""Waiting reasons of a container kubelet cannot create or start (crash loops and image pulls
have their own)."""

_SIGNALS = {1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS",
            8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 15: "SIGTERM"}
_EXIT_CODES = {
    0: "it exited successfully, but a container that is restarted always must keep running",
    1: "an application error: the process exited with a general failure",
    2: "a usage error: the command was given invalid arguments or options",
    126: "the command was found but is not executable (permissions, or a wrong binary format)",
    127: "command not found: the command or entrypoint does not exist in the image",
    128: "the runtime could not start the process",
    134: "SIGABRT: the process aborted itself (a failed assertion or abort())",
    137: "SIGKILL: it was killed, by the kernel's OOM killer or by kubelet when a liveness probe "
         "failed or the grace period ran out",
    139: "SIGSEGV: a segmentation fault (an invalid memory access)",
    143: "SIGTERM: it was asked to stop (by kubelet after a failed liveness or startup probe, a "
         "deletion, or its own supervisor)",
    255: "exit status out of range (often exit(-1))",
}


def exit_code_meaning(code: int | None, reason: str | None = None) -> str:
    """What an exit code means, in a clause that fits after "exit code 137 (OOMKilled): "."""
    if reason == "OOMKilled":
        return "it used more memory than its limit and the kernel's OOM killer stopped it"
    if reason in ("StartError", "ContainerCannotRun"):
        return "the runtime could not start the process"
    if code is None:
        return "no exit code was recorded"
    if code in _EXIT_CODES:
        return _EXIT_CODES[code]
    if 128 < code < 160:
        signal = _SIGNALS.get(code - 128, f"signal {code - 128}")
        return f"it was killed by {signal}"
    return "the application's own exit status: see its logs"


def exit_code_fixes(
    terminated: Mapping[str, Any], container: Mapping[str, Any], workload: str
) -> list[str]:
    """What to change, from how a container last ended."""
    code, reason = terminated.get("exitCode"), terminated.get("reason")
    name = container.get("name", "")
    if reason == "OOMKilled":
        limit = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        now = f" (now {limit})" if limit else ""
        return [f"Raise resources.limits.memory of container {name}{now} in {workload}, or "
                "find what makes the process use more memory than that."]
    if reason in ("StartError", "ContainerCannotRun") or code == 128:
        return [f"The runtime could not start container {name}: read lastState.terminated."
                f"message, then fix command/args, the image or the mounts in {workload}."]
    command = " ".join(str(part) for part in (container.get("command") or ()))
    if code == 127:
        what = f"command {command!r}" if command else "the image's entrypoint"
        return [f"The shell could not find {what} in image {container.get('image')}: fix "
                f"command/args of container {name} in {workload}, or the image."]
    if code == 126:
        return [f"The entrypoint of container {name} is not executable: set the executable bit "
                "in the image, check its shebang and that it is built for the node's CPU "
                "architecture."]
    if code == 0:
        return [f"Container {name} exits although the pod restarts it always: run its process "
                "in the foreground, or run one-off work as a Job."]
    if code in (137, 143):
        return ["If kubelet killed it for a failing liveness or startup probe (see the Killing "
                "events), fix the probe's path, port, timeoutSeconds or failureThreshold, or "
                "give a slow start a startupProbe."]
    return []


def describe_termination(terminated: Mapping[str, Any]) -> str:
    """``reason=Error exitCode=1 finishedAt=...: message`` for evidence lists."""
    parts = [f"reason={terminated.get('reason', '')}", f"exitCode={terminated.get('exitCode')}"]
    if terminated.get("signal"):
        parts.append(f"signal={terminated['signal']}")
    if terminated.get("finishedAt"):
        parts.append(f"finishedAt={terminated['finishedAt']}")
    text = " ".join(parts)
    message = (terminated.get("message") or "").strip()
    if message:
        text += f": {_shorten(message)}"
    return text


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_PULL_CAUSES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("may require authorization",),
     "the repository does not exist or needs credentials",
     "check the image name; if the repository is private, add imagePullSecrets with "
     "credentials that can read it."),
    (("not found", "manifest unknown", "repository does not exist", "name unknown"),
     "the image or tag does not exist",
     "fix the image name or tag, or push the image to the registry."),
    (("unauthorized", "authorization failed", "access denied", "403 forbidden",
      "authentication required", "denied"),
     "the registry refused the credentials",
     "add or fix imagePullSecrets (a kubernetes.io/dockerconfigjson Secret in the pod's "
     "namespace, on the pod or its ServiceAccount) with credentials that can read the image."),
    (("toomanyrequests", "rate limit"),
     "the registry's pull rate limit was reached",
     "authenticate the pulls (imagePullSecrets) or use a registry mirror."),
    (("no such host", "i/o timeout", "connection refused", "tls handshake timeout",
      "network is unreachable", "dial tcp", "context deadline exceeded",
      "x509", "certificate"),
     "the node cannot reach the registry",
     "check DNS, proxy, firewall and CA certificates between the node and the registry."),
)


def image_pull_cause(text: str) -> tuple[str, str]:
    """``(cause, fix)`` from an image pull error message."""
    lowered = text.lower()
    for needles, cause, fix in _PULL_CAUSES:
        if any(needle in lowered for needle in needles):
            return cause, fix
    return "the image could not be pulled", "check the image reference and the registry."


_MISSING_OBJECT = re.compile(r'(?P<kind>secret|configmap) "(?P<name>[^"]+)" not found')
_MISSING_KEY = re.compile(r"couldn't find key (?P<key>\S+) in (?P<kind>Secret|ConfigMap) "
                          r"(?P<ref>\S+)")


def config_error_fix(message: str, container: str, namespace: str | None,
                     workload: str) -> str:
    """What to do about a ``CreateContainerConfigError`` message."""
    where = f" in namespace {namespace}" if namespace else ""
    if missing := _MISSING_OBJECT.search(message):
        kind = "Secret" if missing["kind"] == "secret" else "ConfigMap"
        return (f"Create {kind} {missing['name']}{where}, or fix the reference to it in the "
                f"env / envFrom of container {container} in {workload}.")
    if missing := _MISSING_KEY.search(message):
        return (f"Add key {missing['key']} to {missing['kind']} {missing['ref']}, or fix the "
                f"key in the env of container {container} in {workload}.")
    if "runAsNonRoot" in message and "non-numeric user" in message:
        return (f"Container {container} must not run as root, and kubelet cannot tell whether "
                "the image's named USER is root: set securityContext.runAsUser to its numeric "
                f"UID in {workload}, or give the image a numeric USER.")
    if "runAsNonRoot" in message:
        return (f"The image runs as root but container {container} must not: set "
                f"securityContext.runAsUser to a non-zero UID in {workload}, or use an image "
                "with a numeric non-root USER.")
    return f"Fix what the message names in the spec of container {container} in {workload}."


def waiting_fix(reason: str, message: str, container: Mapping[str, Any], workload: str) -> str:
    """What to do about the waiting reasons other than CrashLoopBackOff and image pulls."""
    name = container.get("name", "")
    if reason == "ErrImageNeverPull":
        return (f"imagePullPolicy of container {name} is Never and image "
                f"{container.get('image')} is not on the node: preload it, or set "
                f"imagePullPolicy: IfNotPresent in {workload}.")
    if reason == "InvalidImageName":
        return f"Fix the image reference of container {name} in {workload}."
    if reason == "ImageInspectError":
        return ("The runtime could not read the image on the node: remove it there "
                "(crictl rmi) so it is pulled again, or rebuild and push it.")
    if reason == "PostStartHookError":
        return (f"The lifecycle.postStart hook of container {name} failed (its output is in "
                f"the FailedPostStartHook event): fix the hook in {workload}.")
    if reason in ("PreStartHookError", "PreCreateHookError"):
        return (f"Kubelet could not prepare container {name} on its node (the CPU, memory or "
                "topology manager, or a device plugin, refused it): read the message and the "
                "kubelet log on that node.")
    lowered = message.lower()
    if "executable file not found" in lowered or "no such file or directory" in lowered:
        return (f"The command of container {name} does not exist in image "
                f"{container.get('image')}: fix command/args in {workload}.")
    if "permission denied" in lowered:
        return (f"The command of container {name} is not executable: set the executable bit "
                "in the image.")
    return f"Fix what the runtime message names in the spec of container {name} in {workload}."


def field_path_of(container: str, init: bool) -> str:
    """How kubelet's events name a container: ``spec.containers{app}``."""
    return f"spec.{'initContainers' if init else 'containers'}{{{container}}}"


def container_events(
    events: Iterable[Mapping[str, Any]], field_path: str
) -> list[Mapping[str, Any]]:
    """The pod's events about one container, oldest first."""
    return [
        event for event in events
        if (event.get("involvedObject") or event.get("regarding") or {}).get("fieldPath")
        == field_path
    ]


def recent(
    state: ClusterState, events: Iterable[Mapping[str, Any]], seconds: float
) -> list[Mapping[str, Any]]:
    """The events last seen at most ``seconds`` before ``state.now``."""
    kept = []
    for event in events:
        age = state.age_of(event_time(event))
        if age is not None and age <= seconds:
            kept.append(event)
    return kept


def event_message(event: Mapping[str, Any]) -> str:
    return (event.get("message") or event.get("note") or "").strip()
