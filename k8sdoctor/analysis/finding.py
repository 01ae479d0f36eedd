"""The records a run produces: findings (a fault on one object), their optional LLM explanation,
and run errors (a kind that could not be listed, an analyzer that crashed, a failed LLM call).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from k8sdoctor.cluster.state import ObjectRef


class Severity(str, Enum):
    """How bad a finding is; ordered, so ``--fail-on`` can compare."""

    INFO = "info"
    """Hygiene: worth knowing, nothing is failing."""
    WARNING = "warning"
    """Degraded, or about to fail."""
    ERROR = "error"
    """An object is failing."""
    CRITICAL = "critical"
    """Users are hurt now: a Service with no ready endpoints, every replica down, a node down."""

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2, Severity.CRITICAL: 3}


@dataclass(frozen=True)
class Explanation:
    """What an LLM said about a group of findings that share a cause."""

    summary: str
    root_cause: str
    steps: tuple[str, ...]
    backend: str
    model: str
    cached: bool = False
    commands: tuple[str, ...] = ()
    confidence: str | None = None
    truncated: bool = False
    """The answer hit the max-tokens limit and may be cut short."""
    group: str = ""
    """Id of the group of findings that share this cause and this explanation."""
    structured: bool = True
    """False when the model never gave the structured answer and ``summary`` is its text as it
    came (free text)."""
    attempts: int = 1
    """Calls it took: 2 when the first answer was invalid and the model was asked again; 0 when
    it came from the cache."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "summary": self.summary,
            "rootCause": self.root_cause,
            "steps": list(self.steps),
            "commands": list(self.commands),
            "confidence": self.confidence,
            "backend": self.backend,
            "model": self.model,
            "cached": self.cached,
            "truncated": self.truncated,
            "structured": self.structured,
            "attempts": self.attempts,
        }


GENERATED_NAME_KINDS = frozenset({"Pod", "ReplicaSet", "Job"})
"""Kinds whose objects a controller names with hashes or times, and re-creates."""


@dataclass(frozen=True)
class Suppression:
    """Why a finding is left out of the gate: a reviewed entry of the ignore file."""

    reason: str
    source: str
    """``FILE:LINE`` of the ignore-file entry, or the annotated object."""
    expires: str | None = None
    """``YYYY-MM-DD``, or None for an entry without an expiry."""

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "source": self.source, "expires": self.expires}


@dataclass(frozen=True)
class Finding:
    """One fault on one object, with the evidence that proves it and the steps that fix it."""

    severity: Severity
    kind: str
    api_version: str
    namespace: str | None
    name: str
    reason: str
    """Short machine-friendly cause: ``CrashLoopBackOff``, ``NoEndpoints``."""
    message: str
    """One human sentence, quoting Kubernetes' own text where there is one."""
    evidence: tuple[str, ...] = ()
    remediation: tuple[str, ...] = ()
    parent: ObjectRef | None = None
    """The owning workload (a pod's Deployment), when there is one."""
    analyzer: str = ""
    """Filled in by the engine from the analyzer's declaration."""
    explanation: Explanation | None = None
    baseline: str | None = None
    """``new`` or ``known`` when the run was compared with a baseline (``--baseline``)."""
    suppression: Suppression | None = None
    """The reviewed ignore-file entry (or allowed annotation) that suppresses it, if any."""
    refers_to: ObjectRef | None = None
    """The object at fault when it is not this one: the missing ConfigMap a pod reads, the
    StorageClass a claim asks for. The cause graph makes it the root cause's object."""

    @classmethod
    def about(
        cls,
        obj: Mapping[str, Any],
        *,
        severity: Severity,
        reason: str,
        message: str,
        evidence: Iterable[str] = (),
        remediation: Iterable[str] = (),
        parent: ObjectRef | None = None,
        refers_to: ObjectRef | None = None,
    ) -> Finding:
        """A finding on ``obj``, taking kind, apiVersion, namespace and name from it."""
        meta = obj.get("metadata") or {}
        return cls(
            severity=severity,
            kind=obj.get("kind", ""),
            api_version=obj.get("apiVersion", ""),
            namespace=meta.get("namespace"),
            name=meta.get("name", ""),
            reason=reason,
            message=message,
            evidence=tuple(evidence),
            remediation=tuple(remediation),
            parent=parent,
            refers_to=refers_to,
        )

    @property
    def id(self) -> str:
        """Stable across runs for the same fault on the same object."""
        key = "\x1f".join(
            (self.analyzer, self.kind, self.namespace or "", self.name, self.reason)
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def fingerprint(self) -> str:
        """Stable across re-created pods, restarts, timestamps and ordering: the fault's
        analyzer and reason on the object that stays (a pod's, ReplicaSet's or Job's owning
        workload; the object itself otherwise). Baselines match on it."""
        anchor = self._stable_anchor  # not stable_object: a report fingerprints every finding
        key = "\x1f".join((self.analyzer, anchor.kind, self.namespace or "", anchor.name,
                           self.reason))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def stable_object(self) -> ObjectRef:
        """The object a baseline names for this finding: the owning workload of an object
        with a generated name, else the object itself."""
        anchor = self._stable_anchor
        return ObjectRef(anchor.kind, anchor.name, self.namespace)

    @property
    def _stable_anchor(self) -> Finding | ObjectRef:
        """What names ``stable_object``: the parent of an object with a generated name."""
        if self.parent is not None and self.kind in GENERATED_NAME_KINDS:
            return self.parent
        return self

    @property
    def gates(self) -> bool:
        """Whether it counts for ``--fail-on``: not suppressed, and not known to the baseline."""
        return self.suppression is None and self.baseline != "known"

    @property
    def object_ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.name, self.namespace)

    def sort_key(self) -> tuple:
        return (self.namespace or "", self.kind, self.name, -self.severity.rank, self.analyzer,
                self.reason, self.message)

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "id": self.id,
            "analyzer": self.analyzer,
            "severity": self.severity.value,
            "kind": self.kind,
            "apiVersion": self.api_version,
            "namespace": self.namespace,
            "name": self.name,
            "reason": self.reason,
            "message": self.message,
            "evidence": list(self.evidence),
            "remediation": list(self.remediation),
            "parent": (
                {"kind": self.parent.kind, "name": self.parent.name} if self.parent else None
            ),
            "explanation": self.explanation.to_dict() if self.explanation else None,
            "fingerprint": self.fingerprint,
        }
        if self.baseline is not None:
            document["baseline"] = self.baseline
        if self.suppression is not None:
            document["suppressed"] = True
            document["suppression"] = self.suppression.to_dict()
        return document


@dataclass(frozen=True)
class RunError:
    """Something that kept the run from being complete. The run still goes on."""

    stage: str
    """``fetch`` (a kind could not be listed), ``plugin`` (an analyzer would not load),
    ``analyzer`` (an analyzer raised) or ``explain`` (an LLM call failed)."""
    subject: str
    """The kind, analyzer or root cause concerned."""
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def makes_data_incomplete(self) -> bool:
        """Explain failures leave the findings whole; the others do not (``--strict``)."""
        return self.stage != "explain"

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "subject": self.subject, "message": self.message}
