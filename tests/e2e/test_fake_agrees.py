"""The fake API server of the fast tier answers as the real one does: the same requests to both,
holding the same demo cluster, get documents of the same shape (the same fields, at every level
the client reads) and the same error ``Status`` bodies, word for word.

This is what keeps ``tests/fakeapi/`` true: a field the real server adds or leaves out, or an
error worded differently, fails here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.live import METADATA_ONLY
from tests.e2e.conftest import LoadedCluster
from tests.e2e.controlplane import ADMIN
from tests.fakeapi import FakeApiServer, forbidden_message
from tests.helpers import DEMO

LIMITED = "k8sdoctor-nobody"
TOKEN = "fake-token"


@pytest.fixture(scope="module")
def fake(demo_cluster: LoadedCluster) -> Iterator[FakeApiServer]:
    with FakeApiServer(token=TOKEN) as server:
        server.load(DEMO)
        yield server


def fake_get(fake: FakeApiServer, path: str, accept: str = "application/json",
             token: str = TOKEN) -> tuple[int, str, bytes]:
    response = urllib3.request("GET", fake.url + path, retries=False, headers={
        "Accept": accept, "Authorization": f"Bearer {token}"})
    return response.status, response.headers.get("Content-Type", ""), response.data


def real_get(cluster: LoadedCluster, path: str, accept: str = "application/json",
             user: str = ADMIN) -> tuple[int, str, bytes]:
    status, body = cluster.plane.request("GET", path, user=user, accept=accept)
    return status, "", body


def shape(value: Any) -> Any:
    """The fields of a document, recursively; a list's shape is the union of its items'."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        kinds = set()
        for item in value:
            if isinstance(item, dict):
                merged.update(shape(item))
            else:
                kinds.add(type(item).__name__)
        return [merged] if merged else sorted(kinds)
    return type(value).__name__


def hash_hidden(entry: dict[str, Any]) -> dict[str, Any]:
    """A discovery entry with its storage hash (a digest of the server's storage version) shown
    only as present."""
    return {k: "<hash>" if k == "storageVersionHash" else v for k, v in entry.items()}


def top_fields(document: dict[str, Any]) -> dict[str, Any]:
    """The fields of a list document outside its items, and its items' own top-level fields."""
    return {"fields": sorted(document), "metadata": sorted(document.get("metadata") or {}),
            "item fields": sorted({k for item in document.get("items") or () for k in item})}


def test_version_has_the_same_fields(demo_cluster: LoadedCluster, fake: FakeApiServer) -> None:
    real = json.loads(real_get(demo_cluster, "/version")[2])
    faked = json.loads(fake_get(fake, "/version")[2])

    # The fake plays a v1.31 server; these came with v1.33's compatibility versions.
    newer = {"emulationMajor", "emulationMinor", "minCompatibilityMajor", "minCompatibilityMinor"}
    assert sorted(faked) == sorted(set(real) - newer)


@pytest.mark.parametrize("path", ["/api", "/apis", "/api/v1", "/apis/apps/v1"])
def test_discovery_documents_have_the_same_shape(demo_cluster: LoadedCluster,
                                                 fake: FakeApiServer, path: str) -> None:
    real = json.loads(real_get(demo_cluster, path)[2])
    faked = json.loads(fake_get(fake, path)[2])
    if "resources" in real:
        # The fake serves the resources k8sdoctor reads; each must look as the real one does.
        served = {r["name"]: r for r in faked["resources"]}
        real_entries = {r["name"]: r for r in real["resources"] if r["name"] in served}
        assert sorted(real_entries) == sorted(served)
        differing = [name for name, entry in served.items()
                     if hash_hidden(entry) != hash_hidden(real_entries[name])]
        assert differing == [], [(served[n], real_entries[n]) for n in differing]
        real, faked = ({k: v for k, v in d.items() if k != "resources"} for d in (real, faked))

    assert shape(faked) == shape(real)


@pytest.mark.parametrize("path", ["/api/v1/namespaces/shop/pods", "/apis/apps/v1/deployments",
                                  "/api/v1/nodes"])
def test_list_pages_have_the_same_fields(demo_cluster: LoadedCluster, fake: FakeApiServer,
                                         path: str) -> None:
    real = json.loads(real_get(demo_cluster, path + "?limit=2")[2])
    faked = json.loads(fake_get(fake, path + "?limit=2")[2])

    assert top_fields(faked) == top_fields(real)
    assert faked["kind"] == real["kind"] and faked["apiVersion"] == real["apiVersion"]


def test_metadata_only_lists_have_the_same_fields(demo_cluster: LoadedCluster,
                                                  fake: FakeApiServer) -> None:
    path = "/api/v1/secrets?limit=3"
    real = json.loads(real_get(demo_cluster, path, METADATA_ONLY)[2])
    faked = json.loads(fake_get(fake, path, METADATA_ONLY)[2])

    assert top_fields(faked) == top_fields(real)
    assert [(i["kind"], i["apiVersion"]) for i in faked["items"]] == [
        (i["kind"], i["apiVersion"]) for i in real["items"]]


def test_forbidden_is_the_same_status(demo_cluster: LoadedCluster, fake: FakeApiServer) -> None:
    for kind, namespace in (("Pod", None), ("Deployment", "shop")):
        fake.forbid(kind, namespace)
        path = KNOWN_KINDS[kind].list_path(namespace)
        status, _, body = real_get(demo_cluster, path, user=LIMITED)
        real = json.loads(body)
        faked = json.loads(fake_get(fake, path)[2])
        assert status == 403
        assert real["message"] == forbidden_message(kind, namespace, LIMITED)
        assert faked["message"] == forbidden_message(kind, namespace)
        faked["message"] = real["message"]
        assert faked == real


@pytest.mark.parametrize("path", [
    "/apis/gateway.networking.k8s.io/v1/gateways",
    "/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes",
    "/apis/metrics.k8s.io/v1beta1/pods",
    "/api/v1/namespaces/shop/nosuchresources",
    "/api/v1/namespaces/shop/pods/no-such-pod",
])
def test_not_found_answers_are_the_same(demo_cluster: LoadedCluster, fake: FakeApiServer,
                                        path: str) -> None:
    real_status, _, real_body = real_get(demo_cluster, path)
    fake_status, _, fake_body = fake_get(fake, path)

    assert (fake_status, fake_body.decode()) == (real_status, real_body.decode())


def test_unauthorized_is_the_same_status(demo_cluster: LoadedCluster,
                                         fake: FakeApiServer) -> None:
    real = demo_cluster.plane
    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(real.ca_file))
    response = http.request("GET", real.url + "/api/v1/pods",
                            headers={"Authorization": "Bearer not-a-token"})
    faked = fake_get(fake, "/api/v1/pods", token="not-a-token")

    assert (faked[0], json.loads(faked[2])) == (response.status, json.loads(response.data))
