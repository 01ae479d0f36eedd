"""ClusterState lookups and indexes on objects shaped as the API returns them."""

from __future__ import annotations

from datetime import datetime, timezone

from k8sdoctor.cluster.state import ClusterState, ObjectRef, newest_timestamp

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def _deployment() -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "uid": "d-1"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}},
    }


def _replicaset() -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "web-7d4b9c8f5",
            "namespace": "shop",
            "uid": "rs-1",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                 "uid": "d-1", "controller": True, "blockOwnerDeletion": True}],
        },
    }


def _pod(name: str, node: str, owner_uid: str = "rs-1", owner: str = "web-7d4b9c8f5") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"pod-{name}",
            "labels": {"app": "web", "pod-template-hash": "7d4b9c8f5"},
            "creationTimestamp": "2026-11-20T09:00:00Z",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                 "uid": owner_uid, "controller": True}],
        },
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "web:1"}]},
        "status": {"phase": "Running"},
    }


def _event(pod: dict, reason: str, last: str) -> dict:
    meta = pod["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta['name']}.{reason}", "namespace": "shop"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": meta["name"],
                           "uid": meta["uid"]},
        "reason": reason,
        "type": "Warning",
        "lastTimestamp": last,
    }


def _state() -> ClusterState:
    pods = [_pod("web-7d4b9c8f5-a1", "node-1"), _pod("web-7d4b9c8f5-b2", "node-2")]
    return ClusterState(
        {
            "Deployment": [_deployment()],
            "ReplicaSet": [_replicaset()],
            "Pod": pods,
            "Event": [
                _event(pods[0], "BackOff", "2026-11-20T09:50:00Z"),
                _event(pods[0], "Pulled", "2026-11-20T09:40:00Z"),
            ],
        },
        now=NOW,
    )


def test_workload_of_walks_replicaset_to_deployment() -> None:
    state = _state()
    pod = state.get("Pod", "shop", "web-7d4b9c8f5-a1")
    assert state.workload_of(pod) == ObjectRef("Deployment", "web", "shop")


def test_workload_of_names_an_owner_missing_from_the_state() -> None:
    state = ClusterState({"Pod": [_pod("batch-x", "node-1", "job-1", "nightly")]}, now=NOW)
    pod = state.objects("Pod")[0]
    assert state.workload_of(pod) == ObjectRef("ReplicaSet", "nightly", "shop")


def test_indexes() -> None:
    state = _state()
    assert [p["metadata"]["name"] for p in state.pods_on_node("node-2")] == ["web-7d4b9c8f5-b2"]
    assert len(state.owned_by("rs-1")) == 2
    assert len(state.pods_matching("shop", {"app": "web"})) == 2
    assert state.pods_matching("shop", {}) == ()
    assert len(state.pods_selected_by("shop", {"matchLabels": {"app": "web"}})) == 2
    assert len(state.in_namespace("Pod", "other")) == 0


def test_events_are_found_like_any_object() -> None:
    state = _state()
    pulled = state.get("Event", "shop", "web-7d4b9c8f5-a1.Pulled")
    assert pulled is not None and pulled["reason"] == "Pulled"
    assert state.get("Event", "other", "web-7d4b9c8f5-a1.Pulled") is None
    assert len(state.in_namespace("Event", "shop")) == 2
    event = {**pulled, "metadata": {**pulled["metadata"], "name": "x.Created", "uid": "e-1"}}
    with_uid = ClusterState({"Pod": state.objects("Pod"), "Event": [event]}, now=NOW)
    assert with_uid.by_uid("e-1") is event
    assert with_uid.by_uid("pod-web-7d4b9c8f5-a1") is state.objects("Pod")[0]
    assert with_uid.by_uid("absent") is None and with_uid.by_uid("") is None


def test_events_for_an_object_are_oldest_first() -> None:
    state = _state()
    pod = state.get("Pod", "shop", "web-7d4b9c8f5-a1")
    assert [e["reason"] for e in state.events_for(pod)] == ["Pulled", "BackOff"]


def test_has_kind_means_listed_not_merely_present() -> None:
    state = ClusterState({"Pod": []}, now=NOW, listed_kinds={"Pod", "ConfigMap"})
    assert state.has_kind("ConfigMap")
    assert not state.has_kind("Secret")


def test_age_and_newest_timestamp() -> None:
    state = _state()
    assert state.age_of("2026-11-20T09:00:00Z") == 3600
    assert state.age_of(None) is None
    assert newest_timestamp(state.objects("Event")) == datetime(
        2026, 11, 20, 9, 50, tzinfo=timezone.utc
    )


def test_label_index_gives_the_same_answer_as_a_scan() -> None:
    state = _state()
    other = _pod("db-0", "node-1")
    other["metadata"]["labels"] = {"app": "db", "tier": "data"}
    state = ClusterState({"Pod": [*state.objects("Pod"), other]}, now=NOW)
    assert [p["metadata"]["name"] for p in state.pods_matching("shop", {"app": "db"})] == ["db-0"]
    assert state.pods_matching("shop", {"app": "db", "tier": "web"}) == ()
    assert state.pods_matching("elsewhere", {"app": "db"}) == ()
    selector = {"matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "pod-template-hash", "operator": "Exists"}]}
    assert len(state.pods_selected_by("shop", selector)) == 2
    only_expressions = {"matchExpressions": [{"key": "tier", "operator": "In",
                                              "values": ["data"]}]}
    assert [p["metadata"]["name"] for p in state.pods_selected_by("shop", only_expressions)] == [
        "db-0"]
