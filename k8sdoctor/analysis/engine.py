"""Runs the selected analyzers over one cluster state and collects their findings.

An analyzer that raises is reported as a run error and the others go on; findings come back
de-duplicated by id and in a deterministic order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from k8sdoctor.analysis.finding import Finding, RunError
from k8sdoctor.analysis.registry import Analyzer
from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.errors import BadInputError

ALL = "all"


def select(
    installed: Sequence[Analyzer], names: Iterable[str] = (), *, manifests: bool = False
) -> list[Analyzer]:
    """The analyzers ``-a`` names (``all`` for every one), or the default ones when none is named
    (on plain manifests, every one that judges specs).

    BadInputError lists the installed names when one is unknown.
    """
    wanted = [n.strip() for name in names for n in name.split(",") if n.strip()]
    if not wanted:
        return [a for a in installed if (a.spec_reasons if manifests else a.default)]
    if ALL in wanted:
        return list(installed)
    by_name = {a.name: a for a in installed}
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        raise BadInputError(
            f"unknown analyzer {', '.join(unknown)}; installed: {', '.join(by_name) or 'none'}"
        )
    return [by_name[n] for n in dict.fromkeys(wanted)]


def kinds_needed(analyzers: Iterable[Analyzer]) -> set[str]:
    return {kind for analyzer in analyzers for kind in analyzer.kinds}


def run_analyzers(
    state: ClusterState, analyzers: Iterable[Analyzer], *, specs_only: bool = False
) -> tuple[list[Finding], list[RunError]]:
    """Every analyzer's findings; with ``specs_only`` (plain manifests) only those each
    analyzer declares spec-based."""
    findings: dict[str, Finding] = {}
    errors: list[RunError] = []
    for analyzer in analyzers:
        try:
            produced = [replace(f, analyzer=analyzer.name) for f in analyzer.analyze(state)]
        except Exception as err:  # one analyzer's bug must not cost the others' findings
            errors.append(RunError("analyzer", analyzer.name, f"{type(err).__name__}: {err}"))
            continue
        if specs_only:
            produced = [f for f in produced if f.reason in analyzer.spec_reasons]
        for finding in produced:
            findings.setdefault(finding.id, finding)
    return sorted(findings.values(), key=Finding.sort_key), errors
