"""The last log lines of crashed containers, added to their findings' evidence on a live cluster.

The line a crashing process writes last is usually the root cause (``exec /app/start.sh: no such
file or directory``, ``FATAL: password authentication failed``), so a ``CrashLoopBackOff``,
``OOMKilled`` or terminated-with-error finding carries it. Reading logs is I/O, so this runs after
the analyzers, only against a source that can read logs (never a snapshot), and stays bounded:
at most ``MAX_PODS`` pods (the first of each workload), ``TAIL_LINES`` lines per container, each
cut to ``MAX_LINE_CHARS``, all passed through secret redaction. A log that cannot be read costs
only its lines: the finding says why instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from k8sdoctor.analysis.finding import Finding
from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.explain.redact import redact

MAX_PODS = 10
TAIL_LINES = 20
READ_LINES = 50
"""Lines asked of the server: more than are kept, so that blank lines do not eat the tail and
the explain stage's ``--with-logs`` (40 lines) is answered from the same read."""
MAX_LINE_CHARS = 300
CRASH_REASONS = {"CrashLoopBackOff": True, "InitCrashLoopBackOff": True, "OOMKilled": False,
                 "InitOOMKilled": False, "TerminatedWithError": False, "InitError": False}
"""Finding reasons whose logs are read, and whether from the previous container instance (a
container restarted after its crash) or the current one (a container that stays terminated)."""


@runtime_checkable
class ContainerLogReader(Protocol):
    """A source that can read container logs: the live cluster."""

    def container_logs(self, namespace: str, pod: str, container: str, *,
                       previous: bool = False, lines: int = 50) -> list[str]:
        """The last ``lines`` lines; raises with the server's words when there are none."""
        ...


def with_crash_logs(
    findings: Sequence[Finding], state: ClusterState, reader: ContainerLogReader
) -> list[Finding]:
    """``findings``, the crash findings of up to ``MAX_PODS`` pods (one per workload) with the
    tail of their crashed containers' logs in their evidence."""
    result, read_for, pods = [], set(), 0
    for finding in findings:
        previous = CRASH_REASONS.get(finding.reason)
        owner = str(finding.parent) if finding.parent else f"Pod/{finding.name}"
        key = (finding.namespace, owner)
        if (finding.kind != "Pod" or previous is None or key in read_for or pods >= MAX_PODS
                or (pod := state.get("Pod", finding.namespace, finding.name)) is None):
            result.append(finding)
            continue
        read_for.add(key)
        pods += 1
        lines = [line for container in crashed_containers(pod, previous)
                 for line in _log_lines(reader, finding, container, previous)]
        result.append(replace(finding, evidence=(*finding.evidence, *lines)))
    return result


def crashed_containers(pod: Mapping[str, Any], previous: bool) -> list[str]:
    """Init then app containers that crash-loop (``previous``) or stay terminated with an
    error."""
    status = pod.get("status") or {}
    names = []
    for field in ("initContainerStatuses", "containerStatuses"):
        for container in status.get(field) or ():
            state = container.get("state") or {}
            if previous:
                crashed = (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff"
            else:
                crashed = (state.get("terminated") or {}).get("exitCode", 0) != 0
            if crashed and container.get("name"):
                names.append(container["name"])
    return names


def _log_lines(reader: ContainerLogReader, finding: Finding, container: str,
               previous: bool) -> Iterable[str]:
    which = "previous log" if previous else "log"
    try:
        lines = reader.container_logs(finding.namespace or "", finding.name, container,
                                      previous=previous, lines=READ_LINES)
    except Exception as err:  # a log that cannot be read costs only its lines
        return [f"container {container} {which}: log not readable: {err}"]
    kept = [line for line in lines if line.strip()][-TAIL_LINES:]
    if not kept:
        return [f"container {container} {which}: wrote no log lines"]
    return [f"container {container} {which}: {_cut(redact(line))}" for line in kept]


def _cut(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS - 1] + "…"
