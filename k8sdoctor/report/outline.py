"""The shape every human-facing format shares: ranked root causes, each with its root object, its
summary sentence, its first fix and the objects it breaks in a few words.

``outline(report)`` gives the root causes to show (a report built without the cause graph gets
one per finding, worst first, so no renderer needs a second code path); ``affected_text``
compresses a cause's objects the way a person would write them: ``deployment cart, service cart,
pods cart-7d9c-{x2k9p,7fq2m,9dd4l}``, ``pods web-7d9c-{a,b,c} +37 more``; ``headline`` is the
summary line, ``15 root causes (6 critical) behind 40 findings``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import groupby

from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.analysis.rootcause import RootCause, RootObject
from k8sdoctor.cluster.state import ObjectRef
from k8sdoctor.report.model import Report

SHOWN_PER_KIND = 3
"""Names shown per kind before ``+N more``."""


def outline(report: Report) -> list[RootCause]:
    """The root causes to show, rank 1 first; without a cause graph, one per finding."""
    if report.root_causes or not report.findings:
        return sorted((c for c in report.root_causes if not _all_suppressed(c)),
                      key=lambda c: c.rank)
    findings = sorted((f for f in report.findings if f.suppression is None),
                      key=lambda f: (-f.severity.rank, f.sort_key()))
    return [_alone(finding, rank) for rank, finding in enumerate(findings, 1)]


def _all_suppressed(cause: RootCause) -> bool:
    """A reviewed suppression covers every finding of the cause: it leaves the default text."""
    return all(f.suppression is not None for f in cause.findings)


def baseline_mark(cause: RootCause) -> str | None:
    """``new`` when a finding of the cause is not in the baseline, ``known`` when all are, None
    without a baseline."""
    marks = {f.baseline for f in cause.findings if f.suppression is None}
    return "new" if "new" in marks else "known" if "known" in marks else None


def _alone(finding: Finding, rank: int) -> RootCause:
    return RootCause(
        rank=rank, severity=finding.severity,
        root_object=RootObject(finding.kind, finding.api_version, finding.namespace,
                               finding.name),
        root=finding, affected=(finding.object_ref,), summary=finding.message,
        explanation=finding.explanation,
    )


def root_label(cause: RootCause) -> str:
    """``Deployment shop/cart``, ``Node ip-10-0-2-117``."""
    root = cause.root_object
    return f"{root.kind} {root.namespace}/{root.name}" if root.namespace else (
        f"{root.kind} {root.name}")


def first_fix(cause: RootCause) -> str | None:
    return cause.remediation[0] if cause.remediation else None


def affected_text(cause: RootCause, shown_per_kind: int = SHOWN_PER_KIND,
                  named_in: str = "") -> str:
    """The objects ``cause`` breaks besides its root object, kind by kind, names compressed;
    those ``named_in`` already names (the summary sentence) are left out; empty when nothing
    is left."""
    root = cause.root_object.ref
    refs = [ref for ref in cause.affected if ref != root and not _named(ref, named_in)]
    by_kind: dict[str, list[ObjectRef]] = {}
    for ref in refs:
        by_kind.setdefault(ref.kind, []).append(ref)
    parts = []
    for kind, same_kind in by_kind.items():
        names = [_name(ref, cause.root_object.namespace) for ref in same_kind]
        label = _plural(kind) if len(names) > 1 else kind.lower()
        parts.append(f"{label} {_compressed(names, shown_per_kind)}")
    return ", ".join(parts)


def headline(report: Report, causes: Sequence[RootCause] | None = None) -> str:
    """``15 root causes (6 critical) behind 40 findings``; "" for a healthy report."""
    causes = outline(report) if causes is None else causes
    if not causes:
        return ""
    critical = sum(1 for c in causes if c.severity is Severity.CRITICAL)
    text = f"{len(causes)} root cause{'s' if len(causes) != 1 else ''}"
    if critical:
        text += f" ({critical} critical)"
    total = len(report.findings)
    return text + f" behind {total} finding{'s' if total != 1 else ''}"


def _named(ref: ObjectRef, text: str) -> bool:
    """Whether ``text`` names ``ref`` as ``Kind name`` or ``Kind namespace/name``."""
    if not text:
        return False
    names = [f"{ref.kind} {ref.name}"] + (
        [f"{ref.kind} {ref.namespace}/{ref.name}"] if ref.namespace else [])
    return any(re.search(rf"{re.escape(n)}(?![\w.-])", text) for n in names)


def _name(ref: ObjectRef, root_namespace: str | None) -> str:
    """The name alone inside the root's namespace, ``namespace/name`` elsewhere."""
    if ref.namespace and ref.namespace != root_namespace:
        return f"{ref.namespace}/{ref.name}"
    return ref.name


def _compressed(names: list[str], shown: int) -> str:
    """``web-7d9c-{x2k9p,7fq2m}, api-0`` for names sharing a generated prefix; at most ``shown``
    names, then ``+N more``."""
    visible, more = names[:shown], len(names) - shown
    parts = []
    for prefix, group in groupby(visible, key=_prefix):
        members = list(group)
        if prefix and len(members) > 1:
            parts.append(prefix + "{" + ",".join(n[len(prefix):] for n in members) + "}")
        else:
            parts.extend(members)
    return ", ".join(parts) + (f" +{more} more" if more > 0 else "")


def _prefix(name: str) -> str:
    """``web-7d9c-`` of ``web-7d9c-x2k9p``: everything up to the last dash."""
    cut = name.rfind("-")
    return name[: cut + 1] if cut > 0 else ""


def _plural(kind: str) -> str:
    word = kind.lower()
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"
