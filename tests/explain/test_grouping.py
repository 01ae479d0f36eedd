"""Cause grouping: one group per shared cause, with the objects above and in front joining it."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timezone

from k8sdoctor.analysis.correlate import correlate, group_key, normalise_message
from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.cluster.state import ClusterState, ObjectRef

from .conftest import analyze


def _objects(state: ClusterState) -> dict[str, list[dict]]:
    return {kind: [copy.deepcopy(o) for o in state.objects(kind)] for kind in state.kinds}


def _rebuild(state: ClusterState, objects: dict[str, list[dict]]) -> ClusterState:
    return ClusterState(objects, now=state.now, listed_kinds=state.kinds, source=state.source)


def _crashloop(pod: str, restarts: int, namespace: str = "shop", parent: str = "web") -> Finding:
    return replace(
        Finding(
            severity=Severity.ERROR, kind="Pod", api_version="v1", namespace=namespace, name=pod,
            reason="CrashLoopBackOff",
            message=f"Container app of pod {pod} is in CrashLoopBackOff after {restarts} restarts:"
                    " it last exited with code 1 (Error), an application error.",
            parent=ObjectRef("Deployment", parent, namespace),
        ),
        analyzer="pod",
    )


def test_three_causes_make_three_groups(three_causes_state, three_causes_findings) -> None:
    groups = correlate(three_causes_findings, three_causes_state)

    assert len(three_causes_findings) == 36
    assert len(groups) == 3
    assert sorted(f.id for g in groups for f in g.findings) == sorted(
        f.id for f in three_causes_findings
    )
    by_reason = {g.representative.reason: g for g in groups}
    assert set(by_reason) == {"CrashLoopBackOff", "ImagePullBackOff", "Unschedulable"}
    for group in groups:
        assert len(group.causes) == 10
        assert {f.kind for f in group.causes} == {"Pod"}
        namespace = group.representative.namespace
        assert {(f.kind, f.namespace) for f in group.consequences} == {
            ("Deployment", namespace), ("Service", namespace)
        }


def test_forty_pods_with_different_names_and_counts_are_one_group() -> None:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    suffixes = [alphabet[i % 27] + alphabet[i // 27] + "x7k" for i in range(40)]
    pods = [_crashloop(f"web-7d4b9c8f5-{s}", 5 + i * 3) for i, s in enumerate(suffixes)]
    assert len({p.name for p in pods}) == 40

    groups = correlate(pods, ClusterState({}, now=datetime(2026, 11, 20, tzinfo=timezone.utc)))

    assert len(groups) == 1
    assert groups[0].causes == tuple(pods)


def test_normalisation_keeps_what_differs_in_substance() -> None:
    crash = _crashloop("web-7d4b9c8f5-x2x7k", 12)
    assert "<name>" in normalise_message(crash) and "<n>" in normalise_message(crash)
    oom = replace(crash, message=crash.message.replace("code 1 (Error), an application error",
                                                       "code 137 (OOMKilled)"))
    assert group_key(crash) != group_key(oom)
    other_reason = replace(crash, reason="ImagePullBackOff")
    assert group_key(crash) != group_key(other_reason)


def test_a_paused_deployment_keeps_its_own_group(three_causes_state) -> None:
    objects = _objects(three_causes_state)
    storefront = next(d for d in objects["Deployment"] if d["metadata"]["name"] == "storefront")
    storefront["spec"]["paused"] = True
    state = _rebuild(three_causes_state, objects)

    groups = correlate(analyze(state), state)

    paused = [g for g in groups if g.representative.reason == "Paused"]
    assert len(groups) == 4
    assert len(paused) == 1 and not paused[0].consequences
    crash = next(g for g in groups if g.representative.reason == "CrashLoopBackOff")
    assert ("Deployment", "ProgressDeadlineExceeded") in {
        (f.kind, f.reason) for f in crash.consequences
    }


def test_a_deployment_down_without_faulty_pods_is_its_own_cause(three_causes_state) -> None:
    objects = _objects(three_causes_state)
    objects["Pod"] = [p for p in objects["Pod"] if p["metadata"]["namespace"] != "shop"]
    state = _rebuild(three_causes_state, objects)

    groups = correlate(analyze(state), state)

    shop = [g for g in groups if g.representative.namespace == "shop"]
    assert {g.representative.kind for g in shop} == {"Deployment", "Service"}
    assert all(not g.consequences for g in shop)


def test_a_service_fault_of_its_own_does_not_follow_the_pods(three_causes_state) -> None:
    objects = _objects(three_causes_state)
    ledger = next(s for s in objects["Service"] if s["metadata"]["name"] == "ledger")
    ledger["spec"]["ports"][0]["targetPort"] = "metrics"
    state = _rebuild(three_causes_state, objects)

    groups = correlate(analyze(state), state)

    reasons = {(g.representative.kind, g.representative.reason) for g in groups}
    assert ("Service", "TargetPortNotExposed") in reasons


def test_a_workload_split_between_two_faults_joins_the_larger(three_causes_state) -> None:
    objects = _objects(three_causes_state)
    storefront_pods = [p for p in objects["Pod"] if p["metadata"]["namespace"] == "shop"]
    for pod in storefront_pods[:3]:
        status = pod["status"]["containerStatuses"][0]
        status["restartCount"] = 0
        status["lastState"] = {}
        status["state"] = {"waiting": {"reason": "CreateContainerConfigError",
                                       "message": 'secret "storefront-db" not found'}}
    state = _rebuild(three_causes_state, objects)

    groups = correlate(analyze(state), state)

    config = next(g for g in groups if g.representative.reason == "CreateContainerConfigError")
    crash = next(g for g in groups if g.representative.reason == "CrashLoopBackOff")
    assert len(config.causes) == 3 and not config.consequences
    assert len(crash.causes) == 7
    assert {f.kind for f in crash.consequences} == {"Deployment", "Service"}


def test_groups_are_ordered_by_first_finding_and_ids_are_stable(
    three_causes_state, three_causes_findings
) -> None:
    first = correlate(three_causes_findings, three_causes_state)
    second = correlate(list(three_causes_findings), three_causes_state)
    assert [g.id for g in first] == [g.id for g in second]
    positions = [three_causes_findings.index(g.findings[0]) for g in first]
    assert positions == sorted(positions)
    assert first[0].subject.endswith("and 9 more")


def test_other_analyzers_on_the_same_object_join_its_group() -> None:
    pods = [_crashloop(f"web-7d4b9c8f5-{s}", 5) for s in ("x2x7k", "b9q4m")]
    missing_key = [
        replace(
            Finding(
                severity=Severity.ERROR, kind="Pod", api_version="v1", namespace="shop",
                name=pod.name, reason="ConfigMapKeyNotFound",
                message=f"Pod {pod.name} reads key DB_HOST of ConfigMap web-config, which has "
                        "no such key.",
                parent=pod.parent,
            ),
            analyzer="references",
        )
        for pod in pods
    ]
    unrelated = replace(pods[0], name="api-5f6d7c8b9-q2w4e", reason="ImagePullBackOff",
                        message="Image of container app cannot be pulled.")
    state = ClusterState({}, now=datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc))

    groups = correlate([*pods, *missing_key, unrelated], state)

    assert [(g.representative.reason, len(g.causes), len(g.consequences)) for g in groups] == [
        ("CrashLoopBackOff", 2, 2), ("ImagePullBackOff", 1, 0)
    ]
    assert {f.analyzer for f in groups[0].consequences} == {"references"}
