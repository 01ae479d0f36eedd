"""Runs the selected analyzers over one cluster state and collects their findings.

An analyzer that raises on one object loses only that object's findings (reported as a run
error); one that fails otherwise is reported and the others go on. Findings come back
de-duplicated by id, in a deterministic order, with the Warning events they explain in
their evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from k8sdoctor.analysis.absorbed import with_absorbed_events
from k8sdoctor.analysis.finding import Finding, RunError
from k8sdoctor.analysis.registry import Analyzer
from k8sdoctor.cluster.state import ClusterState, K8sObject
from k8sdoctor.cluster.validate import describe
from k8sdoctor.errors import BadInputError

ALL = "all"
MAX_SKIPPED_OBJECTS = 10
"""How many objects one analyzer may fail on before its whole run counts as failed."""


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
        produced, failures = _run_one(state, analyzer)
        errors.extend(failures)
        if specs_only:
            produced = [f for f in produced if f.reason in analyzer.spec_reasons]
        for finding in produced:
            findings.setdefault(finding.id, finding)
    return with_absorbed_events(state, sorted(findings.values(), key=Finding.sort_key)), errors


def _run_one(state: ClusterState, analyzer: Analyzer) -> tuple[list[Finding], list[RunError]]:
    """The analyzer's findings. When it raises while looking at one object, that object is left
    out (and reported) and the analyzer runs again without it, so one object it cannot handle
    costs that object's findings, not the run's; when the object cannot be told, the analyzer's
    findings are lost and the error says so."""
    skipped: list[K8sObject] = []
    errors: list[RunError] = []
    view = state
    while True:
        try:
            produced = [replace(f, analyzer=analyzer.name) for f in analyzer.analyze(view)]
        except Exception as err:  # one analyzer's bug must not cost the others' findings
            culprit = _object_at_fault(err, view)
            if culprit is None or len(skipped) >= MAX_SKIPPED_OBJECTS:
                errors.append(RunError("analyzer", analyzer.name, _describe_error(err)))
                return [], errors
            skipped.append(culprit)
            errors.append(RunError(
                "analyzer", analyzer.name,
                f"skipped {describe(culprit)}, which it could not handle: {_describe_error(err)}",
            ))
            view = state.without(skipped)
            continue
        return produced, errors


def _object_at_fault(err: BaseException, state: ClusterState) -> K8sObject | None:
    """The cluster object the analyzer was looking at when it raised: the innermost frame of the
    traceback that holds one of the state's objects (directly, or as an attribute of a small
    record such as a pod's context)."""
    by_id = {id(obj): obj for kind in state.kinds for obj in state.objects(kind)}
    frames = []
    traceback = err.__traceback__
    while traceback is not None:
        frames.append(traceback.tb_frame)
        traceback = traceback.tb_next
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            found = by_id.get(id(value))
            if found is None and hasattr(value, "__dict__") and not isinstance(value, type):
                found = next((by_id[id(v)] for v in vars(value).values() if id(v) in by_id),
                             None)
            if found is not None:
                return found
    return None


def _describe_error(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"
