"""Analyzer test cases as data, shipped so plugin authors test their analyzers the same way.

A case file is YAML::

    analyzer: deployment
    cases:
      - name: rollout past its deadline is an error
        now: "2026-11-20T10:00:00Z"      # optional; default: the newest timestamp in objects
        objects: [ ...objects as kubectl get -o yaml prints them... ]
        expect:
          - kind: Deployment
            namespace: shop
            name: web
            reason: ProgressDeadlineExceeded
            severity: error
            message_contains: ["exceeded its progress deadline"]   # optional
            evidence_contains: ["available=0"]                     # optional
            remediation_contains: ["rollout undo"]                 # optional
            message_excludes: ["allows all"]                       # optional: must not say
            parent: {kind: Deployment, name: web}                  # optional
      - name: rollout inside its deadline is not flagged
        objects: [...]
        expect: []

A value too long to write out (a ConfigMap over the API's 1 MiB limit) can be written
``!repeat {text: "x", times: 1048577}``.

The findings of a case must be exactly the expected ones (by kind, namespace, name and reason).
Every kind the analyzer declares counts as listed, so "missing" really means absent; a case can
name more with ``listed: [Kind, ...]``, and with ``unlisted: [Kind, ...]`` play a kind that could
not be listed (a 403), where the analyzer must not report anything of that kind as missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from k8sdoctor.analysis.engine import run_analyzers
from k8sdoctor.analysis.finding import Finding
from k8sdoctor.analysis.registry import Analyzer, discover
from k8sdoctor.cluster.state import ClusterState, newest_timestamp, parse_time

_MATCH_KEYS = ("kind", "namespace", "name", "reason")


@dataclass(frozen=True)
class AnalyzerCase:
    analyzer: str
    name: str
    objects: Sequence[Mapping[str, Any]]
    expect: Sequence[Mapping[str, Any]]
    now: datetime | None = None
    listed: Sequence[str] = field(default=())
    unlisted: Sequence[str] = field(default=())
    source: str = ""

    @property
    def id(self) -> str:
        return f"{self.analyzer}: {self.name}"


def load_cases(path: str | Path) -> list[AnalyzerCase]:
    """The cases of one YAML file. ValueError says which file and case is malformed."""
    path = Path(path)
    document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CaseLoader)
    if not isinstance(document, Mapping) or "analyzer" not in document:
        raise ValueError(f"{path}: expected a mapping with 'analyzer' and 'cases'")
    cases = []
    for index, raw in enumerate(document.get("cases") or ()):
        if not isinstance(raw, Mapping) or "name" not in raw or "expect" not in raw:
            raise ValueError(f"{path}: case {index} needs 'name', 'objects' and 'expect'")
        now = raw.get("now")
        cases.append(
            AnalyzerCase(
                analyzer=document["analyzer"],
                name=raw["name"],
                objects=list(raw.get("objects") or ()),
                expect=list(raw["expect"] or ()),
                now=parse_time(now if isinstance(now, str) else None),
                listed=tuple(raw.get("listed") or ()),
                unlisted=tuple(raw.get("unlisted") or ()),
                source=str(path),
            )
        )
    return cases


class _CaseLoader(yaml.SafeLoader):
    """SafeLoader with ``!repeat {text, times}`` for values too long to write out."""


def _repeat(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    spec = loader.construct_mapping(node)  # type: ignore[arg-type]
    if not isinstance(spec.get("text"), str) or not isinstance(spec.get("times"), int):
        raise yaml.constructor.ConstructorError(
            None, None, "!repeat needs {text: STRING, times: INTEGER}", node.start_mark)
    return spec["text"] * spec["times"]


_CaseLoader.add_constructor("!repeat", _repeat)


def state_for(case: AnalyzerCase, analyzer: Analyzer) -> ClusterState:
    objects: dict[str, list[Mapping[str, Any]]] = {}
    for obj in case.objects:
        objects.setdefault(obj["kind"], []).append(obj)
    now = case.now or newest_timestamp(case.objects) or datetime.now(timezone.utc)
    return ClusterState(
        objects,  # type: ignore[arg-type]
        now=now,
        listed_kinds={*analyzer.kinds, *objects, *case.listed} - set(case.unlisted),
        source=case.source,
    )


def run_case(case: AnalyzerCase, analyzer: Analyzer) -> list[Finding]:
    findings, errors = run_analyzers(state_for(case, analyzer), [analyzer])
    if errors:
        raise AssertionError(f"{case.id}: analyzer raised: {errors[0].message}")
    return findings


def check_case(case: AnalyzerCase, analyzer: Analyzer) -> None:
    """AssertionError describing every difference between the findings and ``expect``."""
    findings = run_case(case, analyzer)
    actual = {_identity(f.to_dict()): f for f in findings}
    expected = {_identity(e): e for e in case.expect}
    problems = []
    for key in expected.keys() - actual.keys():
        problems.append(f"missing finding {_show(key)}")
    for key in actual.keys() - expected.keys():
        finding = actual[key]
        problems.append(f"unexpected finding {_show(key)} ({finding.severity.value}): "
                        f"{finding.message}")
    for key in expected.keys() & actual.keys():
        problems.extend(f"{_show(key)}: {p}" for p in _compare(expected[key], actual[key]))
    if problems:
        raise AssertionError(f"{case.id}\n  " + "\n  ".join(problems))


def _identity(record: Mapping[str, Any]) -> tuple:
    return tuple(record.get(key) for key in _MATCH_KEYS)


def _show(key: tuple) -> str:
    kind, namespace, name, reason = key
    return f"{kind}/{namespace + '/' if namespace else ''}{name} {reason}"


def _compare(expected: Mapping[str, Any], finding: Finding) -> list[str]:
    problems = []
    if "severity" in expected and expected["severity"] != finding.severity.value:
        problems.append(f"severity {finding.severity.value}, expected {expected['severity']}")
    for key, text in (
        ("message_contains", [finding.message]),
        ("evidence_contains", list(finding.evidence)),
        ("remediation_contains", list(finding.remediation)),
    ):
        wanted = expected.get(key) or ()
        for needle in [wanted] if isinstance(wanted, str) else wanted:
            if not any(needle in haystack for haystack in text):
                problems.append(f"{key.split('_')[0]} lacks {needle!r}: {text}")
    unwanted = expected.get("message_excludes") or ()
    for needle in [unwanted] if isinstance(unwanted, str) else unwanted:
        if needle in finding.message:
            problems.append(f"message says {needle!r}: {finding.message}")
    if "parent" in expected:
        parent = finding.to_dict()["parent"]
        if parent != expected["parent"]:
            problems.append(f"parent {parent}, expected {expected['parent']}")
    return problems


def installed_analyzer(name: str) -> Analyzer:
    installed, _ = discover()
    for analyzer in installed:
        if analyzer.name == name:
            return analyzer
    raise LookupError(f"analyzer {name!r} is not installed")
