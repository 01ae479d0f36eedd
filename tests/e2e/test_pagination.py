"""Paging against a real server: small pages over a few thousand objects fetch each exactly once,
and a ``continue`` token that expires mid-list (etcd compacted under it: 410 Expired) is handled
as the README says, by listing the kind again whole.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.state import Scope
from tests.e2e.controlplane import ControlPlane
from tests.e2e.loader import Etcd

NAMESPACE = "paging"
COUNT = 2500
PAGE = 100
READER = "k8sdoctor-ci"


@pytest.fixture(scope="module")
def many_config_maps(scratch_plane: ControlPlane) -> list[str]:
    """``COUNT`` ConfigMaps in namespace ``paging``, and ``k8sdoctor-ci`` allowed to read them."""
    plane = scratch_plane
    plane.apply_documents([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        # Not the built-in "view": its rules are filled in by kube-controller-manager.
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "configmap-reader"},
         "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "k8sdoctor-ci-configmaps"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "configmap-reader"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                       "name": READER}]},
    ])
    names = [f"settings-{i:05d}" for i in range(COUNT)]

    def create(name: str) -> None:
        plane.json("POST", f"/api/v1/namespaces/{NAMESPACE}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"app": "paging"}},
            "data": {"index": name[-5:], "padding": "x" * 512}})

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(create, names))
    return names


class PausingSource(LiveSource):
    """A live source that calls ``between_pages(path, page)`` once, after the first page of a
    paged List: where a long list would be held up by a slow network or a busy client."""

    def __init__(self, *args: Any, between_pages: Callable[[str, dict[str, Any]], None],
                 **options: Any) -> None:
        super().__init__(*args, **options)
        self.between_pages: Callable[[str, dict[str, Any]], None] | None = between_pages

    def _page(self, path: str, query: Sequence[tuple[str, Any]],
              accept: str) -> tuple[dict[str, Any], int]:
        document, size = super()._page(path, query, accept)
        if self.between_pages and (document.get("metadata") or {}).get("continue"):
            pause, self.between_pages = self.between_pages, None
            pause(path, document)
        return document, size


def reader_requests(plane: ControlPlane, offset: int) -> list[dict[str, Any]]:
    return [e for e in plane.audit_events(offset, READER)
            if e["verb"] == "list" and e["objectRef"]["resource"] == "configmaps"]


def test_small_pages_fetch_thousands_of_objects_once(
        scratch_plane: ControlPlane, many_config_maps: list[str], tmp_path: Path) -> None:
    kubeconfig = scratch_plane.kubeconfig(tmp_path / "kubeconfig", READER)
    offset = scratch_plane.audit_offset()

    state = LiveSource(str(kubeconfig), page_size=PAGE).load(
        {"ConfigMap"}, Scope(namespace=NAMESPACE)).state

    names = [c["metadata"]["name"] for c in state.objects("ConfigMap")]
    assert sorted(names) == many_config_maps
    requests = reader_requests(scratch_plane, offset)
    assert len(requests) == COUNT // PAGE
    assert all(f"limit={PAGE}" in e["requestURI"] for e in requests)
    assert sum("continue=" in e["requestURI"] for e in requests) == COUNT // PAGE - 1


def test_an_expired_continue_token_lists_the_kind_again_whole(
        scratch_plane: ControlPlane, many_config_maps: list[str], tmp_path: Path) -> None:
    kubeconfig = scratch_plane.kubeconfig(tmp_path / "kubeconfig", READER)
    etcd = Etcd(scratch_plane.etcd_url)

    def compact(path: str, page: dict[str, Any]) -> None:
        # A write moves the revision past the first page's; then the history before it is
        # compacted away, as kube-apiserver does every five minutes, and recorded where the
        # server looks for it. Wait until the server answers the token with 410 itself.
        scratch_plane.json("POST", f"/api/v1/namespaces/{NAMESPACE}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "written-mid-list"}})
        etcd.compact()
        token = urllib.parse.quote(page["metadata"]["continue"])
        deadline = time.monotonic() + 60
        while scratch_plane.request("GET", f"{path}?limit={PAGE}&continue={token}")[0] != 410:
            assert time.monotonic() < deadline, "the continue token never expired"
            time.sleep(0.5)

    offset = scratch_plane.audit_offset()
    source = PausingSource(str(kubeconfig), page_size=PAGE, between_pages=compact)
    state = source.load({"ConfigMap"}, Scope(namespace=NAMESPACE)).state

    requests = reader_requests(scratch_plane, offset)
    codes = [e["responseStatus"]["code"] for e in requests]
    assert codes == [200, 410, 200], [(e["requestURI"], c) for e, c in zip(requests, codes,
                                                                             strict=True)]
    assert "continue=" in requests[1]["requestURI"]
    assert "limit=" not in requests[2]["requestURI"]
    names = sorted(c["metadata"]["name"] for c in state.objects("ConfigMap"))
    assert names == sorted([*many_config_maps, "written-mid-list"])
