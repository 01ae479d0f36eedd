"""What the prompt says about one root cause: its objects, evidence, related findings and logs.

``group_context`` turns a ``RootCause`` into the plain data the explain template renders, with
every piece of cluster text passed through secret redaction and cut to a sane length. With
``--with-logs``, the last lines of a crashed container's previous instance are read through a
``LogReader`` (the live source); a snapshot has no logs, and the prompt says so rather than
leaving the model to guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from k8sdoctor.analysis.finding import Finding
from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.explain.redact import redact

MAX_OBJECTS = 5
"""Affected objects listed by name; the rest are counted (a model needs a few names for its
commands, not forty)."""
MAX_RELATED = 6
MAX_EVIDENCE_LINES = 25
MAX_LINE_CHARS = 600
LOG_TAIL_LINES = 40
MAX_LOG_CHARS = 6000

NOT_REQUESTED = "Not collected (k8sdoctor was run without --with-logs)."
SNAPSHOT_HAS_NO_LOGS = "Not available: this run read a snapshot, and snapshots hold no logs."


@runtime_checkable
class LogReader(Protocol):
    """A source that can read container logs (the live cluster; never a snapshot)."""

    def previous_logs(
        self, namespace: str, pod: str, container: str, lines: int = LOG_TAIL_LINES
    ) -> list[str]:
        """The last ``lines`` lines the container's previous instance wrote.

        Raises on failure (no previous run, pod gone, forbidden); the message goes in the prompt.
        """
        ...


@dataclass(frozen=True)
class LogExcerpt:
    pod: str
    container: str
    text: str
    """Already redacted."""

    @property
    def line_count(self) -> int:
        return len(self.text.splitlines())


def describe(finding: Finding) -> str:
    """``Pod shop/web-7d4b9c8f5-x2x7k``."""
    where = f"{finding.namespace}/" if finding.namespace else ""
    return f"{finding.kind} {where}{finding.name}"


def group_context(
    cause: RootCause, logs: Sequence[LogExcerpt] = (), logs_note: str = NOT_REQUESTED
) -> dict[str, Any]:
    """The ``group`` variable of the explain template: the root finding, the objects it is seen
    on, and its consequences."""
    first = cause.root
    return {
        "analyzer": first.analyzer,
        "kind": first.kind,
        "reason": first.reason,
        "severity": first.severity.value,
        "first": describe(first),
        "root_object": str(cause.root_object),
        "summary": _clean(cause.summary or first.message),
        "message": _clean(first.message),
        "evidence": _lines(first.evidence),
        "remediation": [_clean(step) for step in first.remediation],
        "objects": [describe(f) for f in cause.causes[:MAX_OBJECTS]],
        "more_objects": max(0, len(cause.causes) - MAX_OBJECTS),
        "total": len(cause.findings),
        "total_causes": len(cause.causes),
        "related": [
            {
                "severity": f.severity.value,
                "reason": f.reason,
                "object": describe(f),
                "message": _clean(f.message),
                "evidence": _lines(f.evidence, limit=8),
            }
            for f in cause.consequences[:MAX_RELATED]
        ],
        "logs": [
            {"pod": log.pod, "container": log.container, "text": log.text,
             "line_count": log.line_count}
            for log in logs
        ],
        "logs_note": _clean(logs_note),
    }


def collect_logs(
    cause: RootCause, state: ClusterState, reader: LogReader | None,
    tail_lines: int = LOG_TAIL_LINES,
) -> tuple[list[LogExcerpt], str]:
    """Logs of the first pod of ``cause`` with a crashed container, and a note for the prompt
    when there are none."""
    if reader is None:
        return [], SNAPSHOT_HAS_NO_LOGS
    for finding in cause.causes:
        if finding.kind != "Pod":
            continue
        pod = state.get("Pod", finding.namespace, finding.name)
        containers = crashed_containers(pod) if pod is not None else []
        if not containers:
            continue
        excerpts: list[LogExcerpt] = []
        notes: list[str] = []
        for container in containers:
            try:
                lines = reader.previous_logs(finding.namespace or "", finding.name, container,
                                             lines=tail_lines)
            except Exception as err:  # a failure to read logs costs only the logs
                notes.append(f"The logs of container {container} could not be read: {err}")
                continue
            if any(line.strip() for line in lines):
                excerpts.append(LogExcerpt(describe(finding), container, _log_text(lines)))
            else:
                notes.append(f"The previous instance of container {container} wrote no logs.")
        return excerpts, " ".join(notes)
    return [], "No pod of this group has a crashed previous container instance to read logs of."


def crashed_containers(pod: Mapping[str, Any]) -> list[str]:
    """Containers (init containers first) whose previous instance terminated."""
    status = pod.get("status") or {}
    return [
        container["name"]
        for field in ("initContainerStatuses", "containerStatuses")
        for container in status.get(field) or ()
        if isinstance(container, Mapping) and container.get("name")
        and ((container.get("lastState") or {}).get("terminated"))
    ]


def _clean(text: str) -> str:
    text = redact(text)
    return text if len(text) <= MAX_LINE_CHARS else text[:MAX_LINE_CHARS] + " …"


def _lines(lines: Iterable[str], limit: int = MAX_EVIDENCE_LINES) -> list[str]:
    lines = list(lines)
    kept = [_clean(line) for line in lines[:limit]]
    if len(lines) > limit:
        kept.append(f"… {len(lines) - limit} more lines")
    return kept


def _log_text(lines: Sequence[str]) -> str:
    """The redacted tail of a log, at most ``MAX_LOG_CHARS`` characters."""
    text = redact("\n".join(lines).rstrip("\n"))
    if len(text) > MAX_LOG_CHARS:
        text = "…" + text[-MAX_LOG_CHARS:].split("\n", 1)[-1]
    return text
