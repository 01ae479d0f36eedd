"""Baselines: adopt k8sdoctor on a cluster with known problems, and gate only on new ones.

``--write-baseline FILE`` records the findings of a run by fingerprint (``Finding.fingerprint``:
analyzer, reason and the object that stays, so re-created pods, restart counts, timestamps and
ordering do not change it), with the kind, namespace, name, reason and severity for people. The
file is JSON, sorted, with no timestamp, so writing it again on an unchanged cluster gives the
same bytes and a reviewer sees only real changes in a diff. ``--baseline FILE`` marks each
finding ``new`` or ``known``; ``--fail-on`` then counts only new ones, and the summary says
how many baseline entries are fixed (no longer found, among the analyzers and namespaces this
run looked at).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from k8sdoctor.analysis.finding import Finding
from k8sdoctor.errors import BadInputError
from k8sdoctor.report.model import API_VERSION, Report

KIND = "Baseline"


@dataclass(frozen=True)
class BaselineEntry:
    fingerprint: str
    analyzer: str
    reason: str
    severity: str
    kind: str
    namespace: str | None
    name: str

    def to_dict(self) -> dict[str, Any]:
        return {"fingerprint": self.fingerprint, "analyzer": self.analyzer,
                "reason": self.reason, "severity": self.severity, "kind": self.kind,
                "namespace": self.namespace, "name": self.name}


@dataclass(frozen=True)
class Baseline:
    path: str
    entries: dict[str, BaselineEntry]


def entries_of(findings: Iterable[Finding]) -> list[BaselineEntry]:
    """One entry per fingerprint, sorted as people read them (namespace, kind, name, reason)."""
    entries: dict[str, BaselineEntry] = {}
    for finding in findings:
        anchor = finding.stable_object
        current = entries.get(finding.fingerprint)
        severity = finding.severity.value
        if current is not None and current.severity != severity:
            severity = max((current.severity, severity), key=_SEVERITY_ORDER.index)
        entries[finding.fingerprint] = BaselineEntry(
            fingerprint=finding.fingerprint, analyzer=finding.analyzer, reason=finding.reason,
            severity=severity, kind=anchor.kind, namespace=anchor.namespace, name=anchor.name)
    return sorted(entries.values(), key=lambda e: (e.namespace or "", e.kind, e.name,
                                                   e.analyzer, e.reason))


_SEVERITY_ORDER = ["info", "warning", "error", "critical"]


def baseline_document(report: Report) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "source": report.source,
        "findings": [e.to_dict() for e in entries_of(report.findings)],
    }


def write_baseline(report: Report, path: str) -> int:
    """Write the baseline of ``report`` to ``path``; returns how many entries it holds."""
    document = baseline_document(report)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    target = Path(path)
    try:
        if target.parent != Path():
            target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as err:
        raise BadInputError(f"cannot write baseline {path}: {err.strerror}") from None
    return len(document["findings"])


def load_baseline(path: str) -> Baseline:
    """Read a baseline; a missing or malformed file is bad input (exit 2)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInputError(f"baseline {path} does not exist (write one with "
                            "--write-baseline)") from None
    except OSError as err:
        raise BadInputError(f"cannot read baseline {path}: {err.strerror}") from None
    except ValueError as err:
        line = getattr(err, "lineno", None)
        raise BadInputError(f"{path}{f':{line}' if line else ''}: not a k8sdoctor baseline "
                            f"(malformed JSON: {getattr(err, 'msg', err)})") from None
    if not isinstance(document, dict) or document.get("kind") != KIND or not isinstance(
            document.get("findings"), list):
        raise BadInputError(f"{path}: not a k8sdoctor baseline (kind: {KIND} with a findings "
                            "list)")
    entries: dict[str, BaselineEntry] = {}
    for index, item in enumerate(document["findings"]):
        try:
            entry = BaselineEntry(**{key: item[key] for key in (
                "fingerprint", "analyzer", "reason", "severity", "kind", "namespace", "name")})
        except (KeyError, TypeError):
            raise BadInputError(f"{path}: findings[{index}] needs fingerprint, analyzer, "
                                "reason, severity, kind, namespace and name") from None
        entries[entry.fingerprint] = entry
    return Baseline(path=path, entries=entries)


def mark(report: Report, baseline: Baseline,
         in_scope: Callable[[BaselineEntry], bool] | None = None) -> Report:
    """``report`` with each finding marked new or known, and the baseline summary."""
    findings = [replace(f, baseline="known" if f.fingerprint in baseline.entries else "new")
                for f in report.findings]
    seen = {f.fingerprint for f in findings}
    looked_at = set(report.analyzers)
    fixed = [e for fingerprint, e in baseline.entries.items()
             if fingerprint not in seen and e.analyzer in looked_at
             and (in_scope is None or in_scope(e))]
    summary = {"file": baseline.path,
               "new": sum(f.baseline == "new" for f in findings),
               "known": sum(f.baseline == "known" for f in findings),
               "fixed": len(fixed)}
    return replace(report, findings=findings, gate={**report.gate, "baseline": summary})
