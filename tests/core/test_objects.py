"""Shared object readers: kubectl-style ages, selector flags, pod requests, Service ports and
the label values a namespace's pods carry."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from k8sdoctor.analysis.objects import (
    PodLabelVariants,
    format_duration,
    lacks_service_port,
    pod_request,
    selector_flag,
)
from k8sdoctor.cluster.state import ClusterState


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(-5, "0s"), (45, "45s"), (119, "119s"), (450, "7m30s"), (600, "10m"), (5700, "95m"),
     (10800, "3h"), (18720, "5h12m"), (100000, "27h"), (273600, "3d4h"), (3456000, "40d")],
)
def test_format_duration_matches_kubectl(seconds: int, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_selector_flag_is_shell_safe() -> None:
    assert selector_flag({"matchLabels": {"app": "web"}}) == "app=web"
    selector = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}
    assert selector_flag(selector) == "'tier in (a,b)'"
    assert selector_flag(None) == ""


def test_pod_request_counts_sidecars_init_peaks_pod_level_resources_and_overhead() -> None:
    sidecar = {"name": "proxy", "restartPolicy": "Always",
               "resources": {"requests": {"cpu": "100m"}}}
    init = {"name": "migrate", "resources": {"requests": {"cpu": "2"}}}
    app = {"name": "app", "resources": {"limits": {"cpu": "500m"}}}  # limit: the request too
    assert pod_request({"initContainers": [sidecar], "containers": [app]}, "cpu") == 0.6
    assert pod_request({"initContainers": [sidecar, init], "containers": [app]}, "cpu") == 2.1
    pod_level = {"resources": {"requests": {"cpu": "1"}}, "overhead": {"cpu": "250m"},
                 "containers": [app]}
    assert pod_request(pod_level, "cpu") == 1.25
    assert pod_request(pod_level, "memory") == 0.0


def test_a_service_lacks_a_port_by_number_or_name_unless_it_is_an_external_name() -> None:
    service = {"spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}
    assert not lacks_service_port(service, 80)
    assert not lacks_service_port(service, "http")
    assert lacks_service_port(service, 8080)
    assert lacks_service_port(service, "grpc")
    assert not lacks_service_port(service, None)
    assert not lacks_service_port({"spec": {"type": "ExternalName"}}, 443)


def _pod(name: str, labels: dict[str, str], phase: str = "Running") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "labels": labels},
            "status": {"phase": phase}}


def test_label_variants_give_the_first_live_pod_of_each_combination_of_values() -> None:
    pods = [_pod("web-b", {"app": "web"}), _pod("web-a", {"app": "web"}),
            _pod("api-x", {"app": "api", "tier": "backend"}),
            _pod("etl-29012345-q8k2p", {"app": "etl"}, phase="Succeeded")]
    state = ClusterState({"Pod": pods}, now=datetime(2026, 11, 20, tzinfo=timezone.utc))
    variants = PodLabelVariants(state)
    found = variants("shop", ["app", "tier"])
    assert {values: pod["metadata"]["name"] for values, pod in found.items()} == {
        ("web", None): "web-a", ("api", "backend"): "api-x"}
    assert variants("shop", ["app", "tier"]) is found  # read once per namespace and keys
    assert variants("other", ["app"]) == {}
