"""Cause-graph cases as data: a cluster in, the ranked root causes out.

A case file is YAML::

    chain: a missing ConfigMap -> stuck pods -> Deployment -> Service -> Ingress
    cases:
      - name: the ConfigMap leads, everything it breaks follows
        include:                                   # objects of other fixtures, optional
          - {analyzer_case: references, name: "missing ConfigMap volume ..."}
          - {scenario: quota-exceeded}             # a bundled eval scenario's cluster
        objects: [ ...more objects as kubectl get -o yaml prints them... ]
        listed: [ServiceAccount]                   # kinds listed though no object has them
        now: "2026-11-20T10:00:00Z"                # optional: an included case's, else the
                                                   # newest timestamp
        analyzers: [gateway]                       # optional ones to run beside the default
        expect:                                    # every root cause, in rank order
          - root: ConfigMap/shop/web-config        # the root object
            reason: ConfigMapNotFound
            severity: critical                     # optional
            affected: [Pod/shop/web-59c8d7f6b4-k7x2m, Deployment/shop/web]
            summary_contains: ["is missing"]       # optional

The default analyzers run on the objects; the kinds that count as listed are those the objects
have and ``listed``, so a case says nothing about kinds it leaves out. Every finding must be in
exactly one root cause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from k8sdoctor.analysis import engine
from k8sdoctor.analysis.causes import root_causes
from k8sdoctor.analysis.registry import discover
from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.cluster.state import ClusterState, newest_timestamp, parse_time
from k8sdoctor.testing import load_cases

CASES_DIR = Path(__file__).parent / "cases"
ANALYZER_CASES = Path(__file__).parent.parent / "analyzers" / "cases"
SCENARIOS = Path(__file__).parents[2] / "k8sdoctor" / "data" / "scenarios"


@dataclass(frozen=True)
class CauseCase:
    name: str
    objects: Sequence[Mapping[str, Any]]
    expect: Sequence[Mapping[str, Any]]
    listed: Sequence[str] = ()
    now: datetime | None = None
    source: str = ""
    analyzers: Sequence[str] = ()
    """Optional analyzers to run beside the default ones."""

    @property
    def id(self) -> str:
        return f"{self.source}::{self.name}"


def load(path: Path) -> list[CauseCase]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for entry in document["cases"]:
        objects: list[Mapping[str, Any]] = []
        listed = list(entry.get("listed") or ())
        now = parse_time(entry.get("now"))
        for ref in entry.get("include") or ():
            included, also_listed, their_now = _included(ref)
            objects += included
            listed += also_listed
            now = now or their_now
        objects += entry.get("objects") or []
        cases.append(CauseCase(
            name=entry["name"], objects=objects, expect=entry.get("expect") or [],
            listed=listed, now=now, source=path.stem, analyzers=entry.get("analyzers") or ()))
    return cases


def _included(
    ref: Mapping[str, str]
) -> tuple[list[Mapping[str, Any]], list[str], datetime | None]:
    """The objects of a bundled scenario or an analyzer case, the kinds it lists and its time."""
    if "scenario" in ref:
        document = yaml.safe_load((SCENARIOS / f"{ref['scenario']}.yaml").read_text())
        return document["items"], [], None
    case = next(c for c in load_cases(ANALYZER_CASES / f"{ref['analyzer_case']}.yaml")
                if c.name == ref["name"])
    return list(case.objects), list(case.listed), case.now


def causes_of(case: CauseCase) -> list[RootCause]:
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for obj in case.objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    now = case.now or newest_timestamp(case.objects)
    assert now is not None, "a case needs 'now' or timestamps"
    state = ClusterState(by_kind, now=now, listed_kinds={*by_kind, *case.listed})
    installed, _ = discover()
    selected = engine.select(installed, [])
    if case.analyzers:
        selected = engine.select(installed, [*(a.name for a in selected), *case.analyzers])
    findings, errors = engine.run_analyzers(state, selected)
    assert not errors, errors
    causes = root_causes(findings, state)
    placed = [f.id for cause in causes for f in cause.findings]
    assert sorted(placed) == sorted(f.id for f in findings), "every finding in one root cause"
    return causes


def describe(cause: RootCause) -> dict[str, Any]:
    """A root cause as a case's ``expect`` entry writes it."""
    root = cause.root_object
    return {
        "root": "/".join(p for p in (root.kind, root.namespace, root.name) if p),
        "reason": cause.reason,
        "severity": cause.severity.value,
        "affected": sorted("/".join(p for p in (r.kind, r.namespace, r.name) if p)
                           for r in cause.affected),
    }


def check(case: CauseCase) -> None:
    causes = causes_of(case)
    actual = [describe(c) for c in causes]
    expected = [{"root": e["root"], "reason": e["reason"],
                 "severity": e.get("severity"), "affected": sorted(e["affected"])}
                for e in case.expect]
    for row, want in zip(actual, expected, strict=False):
        if want["severity"] is None:
            row["severity"] = None
    assert actual == expected
    for cause, entry in zip(causes, case.expect, strict=True):
        for words in entry.get("summary_contains") or ():
            assert words in cause.summary, (words, cause.summary)
