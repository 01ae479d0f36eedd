"""Analyzer selection, isolation of a crashing analyzer, de-duplication and ordering."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from k8sdoctor.analysis import Analyzer, ClusterState, Finding, Severity
from k8sdoctor.analysis.engine import kinds_needed, run_analyzers, select
from k8sdoctor.errors import BadInputError

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "uid": "n1"}}


def _flag_nodes(state: ClusterState) -> Iterator[Finding]:
    for node in state.objects("Node"):
        for _ in range(2):  # the same fault twice must be reported once
            yield Finding.about(node, severity=Severity.WARNING, reason="Test", message="m")


def _crash(state: ClusterState) -> Iterator[Finding]:
    raise KeyError("status")


FLAGGER = Analyzer(name="flagger", kinds=("Node",), analyze=_flag_nodes, doc="Flags nodes.")
CRASHER = Analyzer(name="crasher", kinds=("Pod",), analyze=_crash, doc="Crashes.", default=False)


def test_a_crashing_analyzer_is_reported_and_the_others_run() -> None:
    state = ClusterState({"Node": [NODE]}, now=NOW)
    findings, errors = run_analyzers(state, [CRASHER, FLAGGER])
    assert [(f.analyzer, f.reason) for f in findings] == [("flagger", "Test")]
    assert [(e.stage, e.subject) for e in errors] == [("analyzer", "crasher")]
    assert "KeyError" in errors[0].message


def test_finding_id_is_stable_and_names_the_fault() -> None:
    state = ClusterState({"Node": [NODE]}, now=NOW)
    first, _ = run_analyzers(state, [FLAGGER])
    second, _ = run_analyzers(state, [FLAGGER])
    assert first[0].id == second[0].id
    assert len(first[0].id) == 16


def test_select_defaults_all_and_unknown() -> None:
    installed = [CRASHER, FLAGGER]
    assert select(installed) == [FLAGGER]
    assert select(installed, ["all"]) == installed
    assert select(installed, ["crasher,flagger"]) == [CRASHER, FLAGGER]
    with pytest.raises(BadInputError, match="unknown analyzer nope"):
        select(installed, ["nope"])
    assert kinds_needed(installed) == {"Node", "Pod"}


def test_an_analyzer_without_docstring_is_refused() -> None:
    with pytest.raises(ValueError, match="docstring"):
        Analyzer(name="bare", kinds=("Pod",), analyze=_crash, doc="  ")


def test_severity_order() -> None:
    assert Severity.CRITICAL > Severity.ERROR > Severity.WARNING > Severity.INFO
    assert max([Severity.INFO, Severity.ERROR, Severity.WARNING]) is Severity.ERROR
