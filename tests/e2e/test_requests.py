"""What k8sdoctor asks a real server, read from the server's own audit log: GET requests only, each
kind listed once, and Secrets as ``PartialObjectMetadataList`` with no value in the answer.

The run logs in as the ServiceAccount of ``deploy/rbac.yaml``, so its requests are told apart from
the server's own. The audit policy logs Secret requests with their full response, so the test
sees what the server really sent.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any

from k8sdoctor import run
from k8sdoctor.analysis import engine
from k8sdoctor.analysis.registry import discover
from k8sdoctor.cluster.kinds import KNOWN_KINDS
from k8sdoctor.cluster.live import LiveSource
from k8sdoctor.cluster.state import Scope
from tests.e2e.conftest import LoadedCluster
from tests.e2e.loader import SECRET_SENTINEL

SERVICE_ACCOUNT = "system:serviceaccount:k8sdoctor:k8sdoctor"


def resource_of(event: dict[str, Any]) -> tuple[str, str]:
    ref = event["objectRef"]
    return ref.get("apiGroup", ""), ref["resource"]


def test_a_full_run_only_gets_and_lists_each_kind_once(
        demo_cluster: LoadedCluster, service_account_token: str) -> None:
    plane = demo_cluster.plane
    kubeconfig = demo_cluster.kubeconfig("reader", token=service_account_token)
    groups = plane.json("GET", "/apis")["groups"]
    served = {"v1"} | {v["groupVersion"] for g in groups for v in g["versions"]}
    offset = plane.audit_offset()

    report = run.analyze(LiveSource(str(kubeconfig), clock=demo_cluster.clock()), Scope(),
                         ["all"])

    events = list(plane.audit_events(offset, SERVICE_ACCOUNT))
    assert report.errors == []
    assert events
    assert {e["verb"] for e in events} == {"get", "list"}
    assert all(e["userAgent"].startswith("k8sdoctor/") for e in events)
    # Crash logs are asked for too (GETs of pods/log); with no kubelet behind this server they
    # fail, and the run goes on.
    logs = [e for e in events if e.get("objectRef", {}).get("subresource") == "log"]
    assert logs and {e["verb"] for e in logs} == {"get"}
    assert all(e["responseStatus"]["code"] == 200 for e in events if e not in logs)
    lists = [e for e in events if e["verb"] == "list"]
    first_pages = Counter(resource_of(e) for e in lists if "continue=" not in e["requestURI"])
    selected = engine.select(discover()[0], ["all"])
    expected = {(KNOWN_KINDS[k].group, KNOWN_KINDS[k].plural)
                for k in engine.kinds_needed(selected) if KNOWN_KINDS[k].api_version in served}
    assert set(first_pages) == expected
    assert set(first_pages.values()) == {1}
    # Discovery and /version are plain GETs of non-resource paths.
    gets = {e["requestURI"] for e in events if e["verb"] == "get"}
    assert {"/version", "/api", "/apis"} <= gets


def test_secrets_arrive_as_metadata_only(demo_cluster: LoadedCluster,
                                         service_account_token: str) -> None:
    plane = demo_cluster.plane
    kubeconfig = demo_cluster.kubeconfig("reader", token=service_account_token)
    offset = plane.audit_offset()

    state = LiveSource(str(kubeconfig)).load({"Secret"}, Scope()).state

    [event] = [e for e in plane.audit_events(offset, SERVICE_ACCOUNT)
               if e["verb"] == "list" and resource_of(e) == ("", "secrets")]
    answer = event["responseObject"]
    assert answer["kind"] == "PartialObjectMetadataList"
    assert answer["apiVersion"] == "meta.k8s.io/v1"
    assert answer["items"]
    assert all(set(item) <= {"kind", "apiVersion", "metadata"} for item in answer["items"])
    # The server does hold values: an admin GET of the same Secrets shows them.
    stored = plane.json("GET", "/api/v1/secrets")["items"]
    sentinel = base64.b64encode(SECRET_SENTINEL.encode()).decode()
    assert any(sentinel in json.dumps(s.get("data")) for s in stored)
    assert sentinel not in json.dumps(answer)
    assert state.objects("Secret")
    assert all(set(s) == {"apiVersion", "kind", "metadata"} for s in state.objects("Secret"))
