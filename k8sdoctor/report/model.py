"""The report of one run: the ``k8sdoctor/v1`` contract of DESIGN.md section 4."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from k8sdoctor import __version__
from k8sdoctor.analysis.coverage import NotChecked
from k8sdoctor.analysis.finding import Finding, RunError, Severity
from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.analysis.score import HealthScore

API_VERSION = "k8sdoctor/v1"


@dataclass(frozen=True)
class Report:
    findings: Sequence[Finding]
    errors: Sequence[RunError]
    source: str
    """The cluster context, or the snapshot path."""
    analyzers: Sequence[str]
    generated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    cluster_time: datetime | None = None
    """The state's "now": the capture time for a snapshot."""
    cluster_time_source: str = ""
    """What ``cluster_time`` was read from: ``apiServer`` (its ``Date`` header),
    ``localClock``, ``capturedAt`` or ``newestObject`` (a snapshot's)."""
    extra_metadata: Mapping[str, Any] = field(default_factory=dict)
    """Added by later stages, e.g. the explain stage's inference statistics."""
    root_causes: Sequence[RootCause] = ()
    """The findings partitioned into ranked root causes (``analysis.causes``), rank 1 first."""
    not_checked: Sequence[NotChecked] = ()
    """References a partial input could not check (a kind the file lacks); the ``fetch``
    errors sum them up per kind."""
    manifests: bool = False
    """The input was plain manifests, judged as specs: status-based checks were skipped."""
    health: HealthScore | None = None
    """The health score per namespace and for the cluster (``analysis/score.py``)."""
    gate: Mapping[str, Any] = field(default_factory=dict)
    """Summary entries of the CI gate (``k8sdoctor.gate``): ``suppressed``, ``baseline``,
    ``expiredSuppressions``."""

    @property
    def healthy(self) -> bool:
        return not self.findings

    def count_by_severity(self) -> dict[str, int]:
        counts = Counter(f.severity for f in self.findings)
        return {s.value: counts.get(s, 0) for s in reversed(Severity)}

    def worst_severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), default=None)

    @property
    def incomplete(self) -> bool:
        return any(e.makes_data_incomplete for e in self.errors)

    def to_dict(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "toolVersion": __version__,
            "generatedAt": _rfc3339(self.generated_at),
            "source": self.source,
            "analyzers": list(self.analyzers),
        }
        if self.cluster_time is not None and not self.manifests:
            metadata["clusterTime"] = _rfc3339(self.cluster_time)
            if self.cluster_time_source:
                metadata["clusterTimeSource"] = self.cluster_time_source
        if self.manifests:
            metadata["input"] = "manifests"
        metadata.update(self.extra_metadata)
        summary: dict[str, Any] = {
            "status": "Healthy" if self.healthy else "ProblemsDetected",
            "findings": len(self.findings),
            "rootCauses": len(self.root_causes),
            "bySeverity": self.count_by_severity(),
            "complete": not self.incomplete,
        }
        summary.update(self.gate)
        if self.health is not None:
            summary["healthScore"] = self.health.to_dict()
        document = {
            "apiVersion": API_VERSION,
            "kind": "Report",
            "metadata": metadata,
            "summary": summary,
            "rootCauses": [c.to_dict() for c in self.root_causes],
            "findings": [f.to_dict() for f in self.findings],
            "errors": [e.to_dict() for e in self.errors],
        }
        if self.not_checked:
            document["notChecked"] = [n.to_dict() for n in self.not_checked]
        return document


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
