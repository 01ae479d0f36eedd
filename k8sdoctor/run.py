"""One analysis run, without the CLI: source -> state -> analyzers -> report -> exit code."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from k8sdoctor.analysis import coverage, engine
from k8sdoctor.analysis.causes import root_causes
from k8sdoctor.analysis.finding import RunError
from k8sdoctor.analysis.registry import Analyzer, discover
from k8sdoctor.analysis.score import health_score
from k8sdoctor.cluster import crash_logs, manifests
from k8sdoctor.cluster.source import ClusterSource, LoadResult, gc_paused
from k8sdoctor.cluster.state import ClusterState, Scope
from k8sdoctor.exitcodes import ExitCode
from k8sdoctor.options import FailOn
from k8sdoctor.report.model import Report


def exit_code_for(report: Report, fail_on: FailOn, strict: bool) -> ExitCode:
    """Findings at or above ``fail_on`` fail the gate (unless suppressed or known to the
    baseline); with ``strict``, so does missing data."""
    if strict and report.incomplete:
        return ExitCode.INCOMPLETE
    threshold = fail_on.severity
    if threshold is not None and any(f.severity >= threshold for f in report.findings
                                     if f.gates):
        return ExitCode.FINDINGS
    return ExitCode.OK


def load_state(
    source: ClusterSource, analyzers: Sequence[Analyzer], scope: Scope
) -> LoadResult:
    return source.load(engine.kinds_needed(analyzers), scope)


@dataclass(frozen=True)
class Analysis:
    """A finished analysis: the report, and the state it was made from (for later stages such
    as explain, which needs ownership and Service selectors)."""

    report: Report
    state: ClusterState
    missing_namespaces: tuple[str, ...] = ()
    """Namespaces of ``-n`` that do not exist, for a warning."""


def analyze(
    source: ClusterSource,
    scope: Scope,
    analyzer_names: Sequence[str] = (),
    *,
    logs: bool = True,
) -> Report:
    """Fetch once, run the selected analyzers, and assemble the report.

    Raises ``BadInputError`` for an unknown analyzer or malformed snapshot and
    ``ClusterUnreachableError`` when the cluster cannot be reached.
    """
    return analyze_with_state(source, scope, analyzer_names, logs=logs).report


def analyze_with_state(
    source: ClusterSource,
    scope: Scope,
    analyzer_names: Sequence[str] = (),
    exclude_namespaces: Sequence[str] = (),
    *,
    logs: bool = True,
) -> Analysis:
    """``analyze``, keeping the cluster state for the stages that follow.

    Namespaces matching an ``exclude_namespaces`` glob are still read (a webhook's Service there
    still counts) but none of their findings is reported and they get no health score. With
    ``logs`` and a source that can read them (a live cluster), crash findings get their
    containers' last log lines."""
    installed, plugin_errors = discover()
    selected = engine.select(installed, analyzer_names)
    with gc_paused():
        loaded = load_state(source, selected, scope)
        if loaded.manifests:  # a snapshot source reads every kind, whichever analyzers run
            selected = engine.select(installed, analyzer_names, manifests=True)
        findings, analyzer_errors = engine.run_analyzers(loaded.state, selected,
                                                         specs_only=loaded.manifests)
        # The state and the indexes analyzers built over it are only read from here on: keep
        # them out of every later collection (the first would otherwise scan them all).
        gc.freeze()
    if loaded.manifests:
        findings = manifests.attribute_to_workloads(findings, loaded.state.objects("Pod"))
    exclusion = NamespaceExclusion(exclude_namespaces)
    findings = [f for f in findings if not exclusion.excludes(f.namespace)]
    if logs and isinstance(source, crash_logs.ContainerLogReader):
        findings = crash_logs.with_crash_logs(findings, loaded.state, source)
    fetch_errors = [RunError("fetch", e.kind, e.message) for e in loaded.errors]
    not_checked = (coverage.unchecked_references(loaded.state, engine.kinds_needed(selected))
                   if loaded.listing_inferred else [])
    report = Report(
        findings=findings,
        errors=[*plugin_errors, *fetch_errors, *coverage.coverage_errors(not_checked),
                *analyzer_errors],
        source=loaded.state.source,
        analyzers=[a.name for a in selected],
        cluster_time=loaded.state.now,
        root_causes=root_causes(findings, loaded.state),
        cluster_time_source=loaded.clock_source,
        not_checked=not_checked,
        manifests=loaded.manifests,
        health=health_score(loaded.state, findings, exclusion.counts),
    )
    return Analysis(report, loaded.state, loaded.missing_namespaces)


@dataclass(frozen=True)
class NamespaceExclusion:
    """``--namespace-exclude`` globs (``kube-*``, ``team-?-sandbox``)."""

    patterns: Sequence[str] = ()

    def excludes(self, namespace: str | None) -> bool:
        return namespace is not None and any(fnmatchcase(namespace, p) for p in self.patterns)

    def counts(self, namespace: str) -> bool:
        return not self.excludes(namespace)
