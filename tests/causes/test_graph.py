"""The cause graph on the three-causes fixture and hand-made findings: one root cause per fault,
however many objects show it, with the objects above and in front as its consequences."""

from __future__ import annotations

import copy
import random
from dataclasses import replace
from datetime import datetime, timezone

from k8sdoctor.analysis.causes import root_causes
from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.cluster.state import ClusterState, ObjectRef
from tests.explain.conftest import analyze

EMPTY = ClusterState({}, now=datetime(2026, 11, 20, tzinfo=timezone.utc))


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


def test_three_causes_make_three_root_causes(three_causes_state, three_causes_findings) -> None:
    causes = root_causes(three_causes_findings, three_causes_state)

    assert len(three_causes_findings) == 36
    assert len(causes) == 3
    assert sorted(f.id for c in causes for f in c.findings) == sorted(
        f.id for f in three_causes_findings
    )
    assert [c.rank for c in causes] == [1, 2, 3]
    assert {c.reason for c in causes} == {"CrashLoopBackOff", "ImagePullBackOff", "Unschedulable"}
    for cause in causes:
        assert len(cause.causes) == 10
        assert {f.kind for f in cause.causes} == {"Pod"}
        namespace = cause.root.namespace
        assert cause.root_object.kind == "Deployment"
        assert cause.root_object.namespace == namespace
        assert {(f.kind, f.namespace) for f in cause.consequences} == {
            ("Deployment", namespace), ("Service", namespace)
        }
        assert cause.affected_by_kind() == {"Pod": 10, "Deployment": 1, "Service": 1}


def test_forty_pods_with_different_names_and_counts_are_one_root_cause() -> None:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    suffixes = [alphabet[i % 27] + alphabet[i // 27] + "x7k" for i in range(40)]
    pods = [_crashloop(f"web-7d4b9c8f5-{s}", 5 + i * 3) for i, s in enumerate(suffixes)]
    assert len({p.name for p in pods}) == 40

    causes = root_causes(pods, EMPTY)

    assert len(causes) == 1
    assert causes[0].causes == tuple(pods)
    assert causes[0].summary.startswith("40 pods of Deployment shop/web keep crashing")
    assert causes[0].subject.endswith("and 39 more")


def test_the_same_message_on_two_workloads_is_two_root_causes() -> None:
    web = [_crashloop(f"web-7d4b9c8f5-{s}", 5) for s in ("x2x7k", "b9q4m")]
    api = [_crashloop(f"api-5f6d7c8b9-{s}", 5, parent="api") for s in ("q2w4e", "z7v5n")]

    causes = root_causes([*web, *api], EMPTY)

    assert sorted(c.root_object.name for c in causes) == ["api", "web"]
    assert all(len(c.causes) == 2 for c in causes)


def test_different_reasons_on_one_workload_stay_apart() -> None:
    crash = _crashloop("web-7d4b9c8f5-x2x7k", 12)
    pull = replace(crash, name="web-7d4b9c8f5-b9q4m", reason="ImagePullBackOff",
                   message="Image of container app cannot be pulled.")
    assert len(root_causes([crash, pull], EMPTY)) == 2


def test_a_paused_deployment_keeps_its_own_root_cause(three_causes_state) -> None:
    objects = _objects(three_causes_state)
    storefront = next(d for d in objects["Deployment"] if d["metadata"]["name"] == "storefront")
    storefront["spec"]["paused"] = True
    state = _rebuild(three_causes_state, objects)

    causes = root_causes(analyze(state), state)

    paused = [c for c in causes if c.reason == "Paused"]
    assert len(causes) == 4
    assert len(paused) == 1 and not paused[0].consequences
    crash = next(c for c in causes if c.reason == "CrashLoopBackOff")
    assert ("Deployment", "ProgressDeadlineExceeded") in {
        (f.kind, f.reason) for f in crash.consequences
    }


def test_a_deployment_down_without_pods_leads_its_service(three_causes_state) -> None:
    objects = _objects(three_causes_state)
    objects["Pod"] = [p for p in objects["Pod"] if p["metadata"]["namespace"] != "shop"]
    state = _rebuild(three_causes_state, objects)

    causes = root_causes(analyze(state), state)

    shop = [c for c in causes if c.root.namespace == "shop"]
    assert len(shop) == 1
    assert shop[0].root.kind == "Deployment"
    assert [f.kind for f in shop[0].consequences] == ["Service"]


def test_a_service_fault_of_its_own_does_not_follow_the_pods(three_causes_state) -> None:
    objects = _objects(three_causes_state)
    ledger = next(s for s in objects["Service"] if s["metadata"]["name"] == "ledger")
    ledger["spec"]["ports"][0]["targetPort"] = "metrics"
    state = _rebuild(three_causes_state, objects)

    causes = root_causes(analyze(state), state)

    reasons = {(c.root.kind, c.reason) for c in causes}
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

    causes = root_causes(analyze(state), state)

    config = next(c for c in causes if c.reason == "CreateContainerConfigError")
    crash = next(c for c in causes if c.reason == "CrashLoopBackOff")
    assert len(config.causes) == 3 and not config.consequences
    assert len(crash.causes) == 7
    assert {f.kind for f in crash.consequences} == {"Deployment", "Service"}


def test_ranks_and_ids_do_not_depend_on_finding_order(
    three_causes_state, three_causes_findings
) -> None:
    first = root_causes(three_causes_findings, three_causes_state)
    shuffled = list(three_causes_findings)
    random.Random(7).shuffle(shuffled)
    second = root_causes(shuffled, three_causes_state)
    assert [(c.id, c.rank, c.root_object) for c in first] == [
        (c.id, c.rank, c.root_object) for c in second]
    assert len({c.id for c in first}) == 3


def test_a_missing_key_explains_the_pods_it_keeps_from_starting() -> None:
    parent = ObjectRef("Deployment", "web", "shop")
    stuck = [
        replace(Finding(severity=Severity.ERROR, kind="Pod", api_version="v1", namespace="shop",
                        name=name, reason="CreateContainerConfigError",
                        message=f"Container app of pod {name} cannot start.", parent=parent),
                analyzer="pod")
        for name in ("web-7d4b9c8f5-x2x7k", "web-7d4b9c8f5-b9q4m")
    ]
    missing = [
        replace(Finding(severity=Severity.ERROR, kind="Pod", api_version="v1", namespace="shop",
                        name=pod.name, reason="ConfigMapKeyNotFound",
                        message=f"Pod {pod.name} reads key DB_HOST of ConfigMap web-config.",
                        parent=parent, refers_to=ObjectRef("ConfigMap", "web-config", "shop")),
                analyzer="references")
        for pod in stuck
    ]
    unrelated = replace(stuck[0], name="api-5f6d7c8b9-q2w4e", reason="ImagePullBackOff",
                        message="Image of container app cannot be pulled.",
                        parent=ObjectRef("Deployment", "api", "shop"))

    causes = root_causes([*stuck, *missing, unrelated], EMPTY)

    assert [(c.root_object.kind, c.root_object.name, len(c.causes), len(c.consequences))
            for c in causes] == [("ConfigMap", "web-config", 2, 2), ("Deployment", "api", 1, 0)]
    assert causes[0].summary == ("ConfigMap shop/web-config lacks a key that pods read: 2 pods of "
                                 "Deployment web cannot start")
