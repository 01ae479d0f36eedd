"""Reading snapshots: every accepted shape, scope filtering, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from k8sdoctor.cluster.snapshot import SnapshotSource, snapshot_document
from k8sdoctor.cluster.state import Scope
from k8sdoctor.errors import BadInputError

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"},
                 "creationTimestamp": "2026-11-20T09:00:00Z"},
    "spec": {"containers": [{"name": "app", "image": "web:1"}]},
    "status": {"phase": "Running"},
}
CM = {"apiVersion": "v1", "kind": "ConfigMap",
      "metadata": {"name": "cfg", "namespace": "other",
                   "creationTimestamp": "2026-11-20T09:30:00Z"}}


def _load(path: Path, scope: Scope | None = None):
    return SnapshotSource(str(path)).load({"Pod", "ConfigMap"}, scope or Scope())


def test_list_multidoc_and_directory(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List",
                                                     "items": [POD]}))
    sub = tmp_path / "more"
    sub.mkdir()
    (sub / "b.yml").write_text("---\n" + yaml.safe_dump(CM) + "---\n")
    state = _load(tmp_path).state
    assert [p["metadata"]["name"] for p in state.objects("Pod")] == ["web-1"]
    assert state.objects("ConfigMap")[0]["metadata"]["name"] == "cfg"
    assert state.now.isoformat() == "2026-11-20T09:30:00+00:00"
    assert state.has_kind("Pod") and not state.has_kind("Secret")


def test_raw_api_list_items_get_their_kind(tmp_path: Path) -> None:
    item = {k: v for k, v in POD.items() if k not in ("kind", "apiVersion")}
    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"kind": "PodList", "apiVersion": "v1", "items": [item]}))
    pod = _load(path).state.objects("Pod")[0]
    assert (pod["kind"], pod["apiVersion"]) == ("Pod", "v1")


def test_timestamps_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(POD).replace("'2026-11-20T09:00:00Z'", "2026-11-20T09:00:00Z"))
    pod = _load(path).state.objects("Pod")[0]
    assert pod["metadata"]["creationTimestamp"] == "2026-11-20T09:00:00Z"


def test_scope_filters_namespace_and_labels(tmp_path: Path) -> None:
    other = json.loads(json.dumps(POD))
    other["metadata"].update(name="db-1", labels={"app": "db"})
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump_all([POD, other, CM]))
    state = _load(path, Scope(namespace="shop", selector="app=web")).state
    assert [p["metadata"]["name"] for p in state.objects("Pod")] == ["web-1"]
    assert state.objects("ConfigMap") == ()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("kind: List\nitems: [\n", r"s\.yaml:3:1: malformed YAML"),
        ('{"kind": "List", "items": [}', r"s\.yaml:1:28: malformed JSON"),
        ("- just\n- a list\n", "expected a Kubernetes object or List"),
        ("apiVersion: v1\nmetadata: {name: x}\n", "has no 'kind'"),
    ],
)
def test_malformed_input_is_one_clear_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(content)
    with pytest.raises(BadInputError, match=expected) as caught:
        _load(path)
    assert "\n" not in str(caught.value)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such file"):
        _load(tmp_path / "nope.yaml")


def test_snapshot_document_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump_all([POD, CM]))
    result = _load(path)
    document = snapshot_document(result, source="context kind-dev")
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump(document))
    state = _load(again).state
    assert state.now == result.state.now
    assert state.objects("Pod") == result.state.objects("Pod")
    assert state.has_kind("ConfigMap")


def test_secret_values_in_a_dump_go_no_further(tmp_path: Path) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": "db-credentials",
            "namespace": "shop",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration":
                    '{"apiVersion":"v1","data":{"password":"aHVudGVyMg=="},"kind":"Secret"}',
                "team": "payments",
            },
        },
        "data": {"password": "aHVudGVyMg=="},
    }
    path = tmp_path / "secrets.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [secret]}))
    kept = SnapshotSource(str(path)).load({"Secret"}, Scope()).state.objects("Secret")[0]
    assert "aHVudGVyMg==" not in json.dumps(kept)
    assert kept["metadata"]["annotations"] == {"team": "payments"}
    assert set(kept) == {"apiVersion", "kind", "metadata"}
