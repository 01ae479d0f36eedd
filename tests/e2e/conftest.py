"""Fixtures of the e2e tier: real control planes holding the fixture clusters.

Every test here carries the ``e2e`` marker and is skipped, with the reason, when the binaries are
not built (``scripts/build-e2e-binaries``) or ``openssl`` is missing. The demo and the healthy
cluster each get one control plane for the whole session (the tests only read them, apart from
RBAC objects that no fixture holds); tests that change a cluster in ways others would see
(thousands of ConfigMaps, a compaction, CRDs coming and going) get their own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import Scope
from tests.e2e import loader
from tests.e2e.controlplane import ControlPlane, cached_binaries
from tests.helpers import DEMO, HEALTHY, REPOSITORY

E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def binaries() -> Path:
    found = cached_binaries()
    if found is None:
        pytest.skip("kube-apiserver and etcd are not built: run scripts/build-e2e-binaries "
                    "(needs Go; the first build takes several minutes)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed; the e2e tier makes its certificates with it")
    return found


@dataclass
class LoadedCluster:
    """A control plane holding a fixture cluster, and what the fixture said."""

    plane: ControlPlane
    fixture: Path
    objects: list[dict[str, Any]]
    now: datetime
    """The fixture's capture time: the live runs are judged as of then too."""
    workdir: Path

    def kubeconfig(self, name: str = "admin", user: str | None = None, **options: Any) -> Path:
        from tests.e2e.controlplane import ADMIN

        return self.plane.kubeconfig(self.workdir / f"kubeconfig-{name}", user or ADMIN,
                                     **options)

    def clock(self) -> Callable[[], datetime]:
        return lambda: self.now


def start_plane(binaries: Path, workdir: Path, objects: list[dict[str, Any]] = (),
                **options: Any) -> ControlPlane:
    plane = ControlPlane(binaries, workdir / "plane", service_cidr=loader.service_cidr(objects),
                         **options)
    try:
        plane.start()
    except BaseException:
        plane.stop()
        raise
    return plane


def _loaded(binaries: Path, fixture: Path, factory: pytest.TempPathFactory,
            name: str) -> Iterator[LoadedCluster]:
    workdir = factory.mktemp(name)
    objects = loader.read_objects(fixture)
    plane = start_plane(binaries, workdir, objects)
    try:
        loaded = loader.load(plane, objects)
        now = SnapshotSource(str(fixture)).load((), Scope()).state.now
        yield LoadedCluster(plane, fixture, loaded, now, workdir)
    finally:
        plane.stop()


@pytest.fixture(scope="session")
def demo_cluster(binaries: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[LoadedCluster]:
    yield from _loaded(binaries, DEMO, tmp_path_factory, "demo")


@pytest.fixture(scope="session")
def healthy_cluster(binaries: Path, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[LoadedCluster]:
    yield from _loaded(binaries, HEALTHY, tmp_path_factory, "healthy")


def deploy_documents(name: str) -> list[dict[str, Any]]:
    text = (REPOSITORY / "deploy" / name).read_text(encoding="utf-8")
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.fixture(scope="session")
def service_account_token(demo_cluster: LoadedCluster) -> str:
    """``deploy/rbac.yaml`` and ``deploy/secrets-metadata.yaml`` applied; a token for their
    ServiceAccount."""
    plane = demo_cluster.plane
    plane.apply_documents(deploy_documents("rbac.yaml") + deploy_documents("secrets-metadata.yaml"))
    answer = plane.json("POST", "/api/v1/namespaces/k8sdoctor/serviceaccounts/k8sdoctor/token", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600}})
    return answer["status"]["token"]


@pytest.fixture(scope="session")
def scratch_plane(binaries: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[ControlPlane]:
    """An empty control plane for tests that fill it themselves (in namespaces of their own)."""
    plane = start_plane(binaries, tmp_path_factory.mktemp("scratch"))
    try:
        yield plane
    finally:
        plane.stop()
