"""Live List items made objects: completed, their ``managedFields`` cut off (and held, within a
budget, rather than freed), and checked."""

from __future__ import annotations

from typing import Any

from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.list_items import CutOffs, take_items
from k8sdoctor.cluster.validate import Rejected

MANAGED = [{"manager": "kubelet", "operation": "Update", "apiVersion": "v1",
            "time": "2025-11-02T09:00:00Z", "fieldsType": "FieldsV1", "subresource": "status",
            "fieldsV1": {"f:status": {"f:phase": {}, "f:podIP": {}}}}]


def _pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "shop", "managedFields": list(MANAGED)},
            "spec": {"containers": [{"name": "app", "image": "shop/app:1.4"}]},
            "status": {"phase": "Running"}}


def test_the_cut_off_managed_fields_are_held_when_asked() -> None:
    items: list[dict[str, Any]] = []
    dropped: list[Rejected] = []
    held: list[Any] = []

    take_items(KNOWN_KINDS["Pod"], [_pod("a"), _pod("b")], "/api/v1/pods", items, dropped, held)

    assert [(o["kind"], o["apiVersion"], o["metadata"]["name"]) for o in items] == [
        ("Pod", "v1", "a"), ("Pod", "v1", "b")]
    assert not any("managedFields" in o["metadata"] for o in items)
    assert held == [MANAGED, MANAGED] and not dropped


def test_without_a_holder_the_managed_fields_are_let_go() -> None:
    items: list[dict[str, Any]] = []
    take_items(KNOWN_KINDS["Pod"], [_pod("a")], "/api/v1/pods", items, [])
    assert "managedFields" not in items[0]["metadata"]


def test_cut_offs_are_held_until_the_budget_of_page_bytes_is_spent() -> None:
    cut_offs = CutOffs(budget=1000)
    first, second, third = cut_offs.holder(600), cut_offs.holder(400), cut_offs.holder(1)

    assert first is not None and second is first
    assert third is None
    assert cut_offs.holder(1) is None


def test_a_source_that_lives_on_holds_nothing() -> None:
    assert CutOffs(budget=0).holder(4096) is None
