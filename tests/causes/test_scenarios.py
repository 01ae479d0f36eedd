"""The cause graph on the labelled scenario clusters (a healthy background with one injected
fault each): the real root cause is ranked first, and no healthy object is in any chain."""

from __future__ import annotations

from functools import cache

import pytest

from k8sdoctor.analysis.rootcause import RootCause
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import Scope
from k8sdoctor.eval.scenario import ObjectRef, Scenario, analyzer_names, load_scenarios
from k8sdoctor.report.model import Report
from k8sdoctor.run import analyze
from tests.fixtures.clustergen.scenario_base import SYSTEM_NAMESPACES, build_background
from tests.fixtures.clustergen.scenario_faults import SCENARIOS as BUILDERS

SCENARIOS = load_scenarios()
Key = tuple[str, str | None, str]


@cache
def report_of(scenario: Scenario) -> Report:
    return analyze(SnapshotSource(str(scenario.snapshot)), Scope(), analyzer_names(scenario))


def holds(cause: RootCause, root: ObjectRef) -> bool:
    """The root cause is about ``root``: its root object, or the object (or workload) its fault
    is seen on. A missing ConfigMap's root cause holds the Deployment whose pods read it."""
    wanted = (root.kind, root.namespace, root.name)
    obj = cause.root_object
    if (obj.kind, obj.namespace, obj.name) == wanted:
        return True
    return any((f.kind, f.namespace, f.name) == wanted
               or (f.parent is not None
                   and (f.parent.kind, f.namespace, f.parent.name) == wanted)
               for f in cause.causes)


def healthy_objects(name: str) -> set[Key]:
    """Objects of the scenario identical to the same cluster's background before the fault."""
    cluster, _ = BUILDERS[name]()
    namespaces = {o["metadata"].get("namespace") for o in cluster.objects}
    [app] = sorted(n for n in namespaces if n and n not in SYSTEM_NAMESPACES)
    background = build_background(name, app).cluster

    def key(obj: dict) -> Key:
        return obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"]

    now = {key(o): o for o in cluster.objects}
    return {key(o) for o in background.objects if now.get(key(o)) == o and o["kind"] != "Event"}


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 10
    assert set(BUILDERS) == {s.name for s in SCENARIOS}


def test_the_real_root_cause_is_ranked_first_in_at_least_nine_of_ten() -> None:
    first = {s.name: holds(report_of(s).root_causes[0], s.root) for s in SCENARIOS}
    missed = sorted(name for name, hit in first.items() if not hit)
    assert len(missed) <= len(SCENARIOS) // 10, f"ranked first: {len(SCENARIOS) - len(missed)}"\
        f" of {len(SCENARIOS)}; missed {missed}"


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_no_healthy_object_is_in_any_chain(scenario: Scenario) -> None:
    report = report_of(scenario)
    healthy = healthy_objects(scenario.name)
    assert len(healthy) > 10
    for cause in report.root_causes:
        chain = {(r.kind, r.namespace, r.name) for r in cause.affected}
        root = cause.root_object
        chain.add((root.kind, root.namespace, root.name))
        assert not chain & healthy, (cause.summary, chain & healthy)
    placed = sorted(f.id for c in report.root_causes for f in c.findings)
    assert placed == sorted(f.id for f in report.findings)
