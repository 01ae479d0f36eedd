"""Root causes: the headline of every report. Each is one fault (a missing ConfigMap, a node that
stopped reporting, forty pods of one Deployment crashing the same way) with every finding that
follows from it: the root finding first, then its consequences (the stuck pods, the unavailable
Deployment, the Service without endpoints, the Ingress that returns 503). The cause graph in
``analysis/causes.py`` builds them; the report, every renderer and the explain stage read them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from k8sdoctor.analysis.finding import Explanation, Finding, Severity
from k8sdoctor.cluster.state import ObjectRef


@dataclass(frozen=True)
class RootObject:
    """The object at the root of a cause; it may carry no finding itself (a missing ConfigMap)."""

    kind: str
    api_version: str
    namespace: str | None
    name: str

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.name, self.namespace)

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "apiVersion": self.api_version, "namespace": self.namespace,
                "name": self.name}


@dataclass(frozen=True)
class RootCause:
    """One fault and everything it breaks, ranked among the run's other root causes."""

    rank: int
    """1 is the most important root cause of the run."""
    severity: Severity
    """The worst severity among its findings: a missing ConfigMap that leaves a Service without
    endpoints is as critical as that Service."""
    root_object: RootObject
    root: Finding
    """The finding nothing else explains; its reason and remediation are the root cause's."""
    peers: tuple[Finding, ...] = ()
    """The same fault on sibling objects: the other 39 pods of a Deployment crashing alike."""
    consequences: tuple[Finding, ...] = ()
    """What follows from the fault, nearest first: the stuck pods, their Deployment, the Service
    selecting them, the Ingress in front of it."""
    affected: tuple[ObjectRef, ...] = ()
    """The objects it breaks (every object a finding of this cause is about), in stable order."""
    summary: str = ""
    """One sentence: what is wrong and what it breaks."""
    explanation: Explanation | None = None

    @property
    def id(self) -> str:
        """Stable across runs: the root object and reason, not pod names that change."""
        key = "\x1f".join((self.root_object.kind, self.root_object.namespace or "",
                           self.root_object.name, self.root.reason))
        return hashlib.sha256(key.encode()).hexdigest()[:12]

    @property
    def reason(self) -> str:
        return self.root.reason

    @property
    def causes(self) -> tuple[Finding, ...]:
        """The root finding and its peers: the fault itself, on every object it is seen on."""
        return (self.root, *self.peers)

    @property
    def findings(self) -> tuple[Finding, ...]:
        """The root finding, its peers, then every consequence."""
        return (self.root, *self.peers, *self.consequences)

    @property
    def subject(self) -> str:
        """``CrashLoopBackOff: Pod/shop/web-7d4b9c8f5-x2x7k and 9 more`` for run errors."""
        more = len(self.peers)
        return f"{self.reason}: {self.root.object_ref}" + (f" and {more} more" if more else "")

    @property
    def remediation(self) -> tuple[str, ...]:
        return self.root.remediation

    def with_findings(self, by_id: Mapping[str, Finding]) -> RootCause:
        """The cause holding the newer copies in ``by_id`` of its findings (explained, marked
        by the gate); a finding missing from ``by_id`` is kept as it is."""

        def newer(finding: Finding) -> Finding:
            return by_id.get(finding.id, finding)

        return replace(self, root=newer(self.root), peers=tuple(map(newer, self.peers)),
                       consequences=tuple(map(newer, self.consequences)))

    def affected_by_kind(self) -> dict[str, int]:
        """``{"Pod": 3, "Deployment": 1, "Service": 1}``, kinds in first-seen order."""
        return dict(Counter(ref.kind for ref in self.affected))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rank": self.rank,
            "severity": self.severity.value,
            **self.root_object.to_dict(),
            "reason": self.reason,
            "summary": self.summary,
            "findings": [f.id for f in self.findings],
            "affected": {
                "byKind": self.affected_by_kind(),
                "objects": [
                    {"kind": ref.kind, "namespace": ref.namespace, "name": ref.name}
                    for ref in self.affected
                ],
            },
            "remediation": list(self.remediation),
            "explanation": self.explanation.to_dict() if self.explanation else None,
        }


def distinct_refs(findings: Iterable[Finding]) -> tuple[ObjectRef, ...]:
    """The objects ``findings`` are about, each once, in the order first met."""
    return tuple(dict.fromkeys(f.object_ref for f in findings))
