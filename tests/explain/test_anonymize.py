"""Anonymization: identifying values become stable keyed tokens, and come back in answers."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone

import pytest

from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.explain.anonymize import Anonymizer, image_registry, load_or_create_key

from .conftest import identifiers, leaked

KEY = bytes(range(32))


@pytest.fixture
def anonymizer(three_causes_state) -> Anonymizer:
    anonymizer = Anonymizer(KEY)
    anonymizer.add_state(three_causes_state)
    return anonymizer


def _finding_text(findings) -> str:
    return "\n".join(
        line
        for f in findings
        for line in (f.message, *f.evidence, *f.remediation, f.name, f.namespace or "")
    )


def test_no_name_namespace_or_ip_of_the_fixture_survives(
    anonymizer, three_causes_state, three_causes_findings
) -> None:
    text = _finding_text(three_causes_findings)
    fixture_identifiers = identifiers(three_causes_state)
    assert leaked(fixture_identifiers, text)  # the check itself can fail

    masked = anonymizer.mask(text)

    assert leaked(fixture_identifiers, masked) == set()
    assert "registry.acme-corp.example" not in masked
    assert anonymizer.restore(masked) == text


def test_tokens_are_stable_per_key_and_differ_between_keys(three_causes_state) -> None:
    line = "kubectl rollout undo deployment/storefront -n shop"
    first, second, other = Anonymizer(KEY), Anonymizer(KEY), Anonymizer(b"x" * 32)
    for anonymizer in (first, second, other):
        anonymizer.add_state(three_causes_state)
    assert first.mask(line) == second.mask(line)
    assert first.mask(line) != other.mask(line)
    assert first.mask(line).startswith("kubectl rollout undo deployment/name-")
    assert " -n ns-" in first.mask(line)


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("dial tcp 10.96.200.7:5432: connect: connection refused", "10.96.200.7"),
        ("upstream [2001:db8::8a2e:370:7334]:443 reset", "2001:db8::8a2e:370:7334"),
        ("lookup orders-db.prod.acme-corp.com on 10.8.0.10:53: no such host",
         "orders-db.prod.acme-corp.com"),
        ("connecting to payments-db.billing.svc.cluster.local:5432", "payments-db"),
        ("pod storefront-7d4b9c8f5-zzzzz (deleted) of storefront", "storefront"),
        ("team=shop-team owner", "shop-team"),
    ],
)
def test_values_the_state_does_not_name_are_caught_by_shape(anonymizer, text, hidden) -> None:
    masked = anonymizer.mask(text)
    assert hidden not in masked
    assert anonymizer.restore(masked) == text


@pytest.mark.parametrize(
    "text",
    [
        "namespace kube-system, ServiceAccount default, Service kubernetes",
        'File "/app/main.py", line 3, in handler; see config.yaml',
        "pulling docker.io/library/nginx:1.27 and registry.k8s.io/pause:3.9",
        "label app.kubernetes.io/name, taint node-role.kubernetes.io/control-plane",
        "listening on 0.0.0.0:8080 and 127.0.0.1:9090 since 10:00:00",
        "exit code 137 (OOMKilled) after 12 restarts",
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu, 1 Insufficient amd.com/gpu",
        "requests exceed resources.limits.memory; see spec.template.spec.containers",
        "java.net.UnknownHostException at org.postgresql.Driver.connect",
        "acme.cert-manager.io/http01-edit-in-place, monitoring.coreos.com/v1",
    ],
)
def test_public_and_generic_text_is_kept(anonymizer, text) -> None:
    assert anonymizer.mask(text) == text


CRON_JOB = {
    "apiVersion": "batch/v1", "kind": "CronJob",
    "metadata": {"name": "settlement-report", "namespace": "payments",
                 "uid": "0b7c1f2e-4d5a-4e6b-9c8d-7e6f5a4b3c2d",
                 "creationTimestamp": "2026-11-01T08:00:00Z",
                 "labels": {"tier": "batch", "team": "treasury-ops",
                            "kubernetes.io/os": "linux"}},
    "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {
        "restartPolicy": "Never",
        "containers": [
            {"name": "report", "image": "nexus-prod:5000/finance/settlement:3.1.0"},
            {"name": "ledger-exporter",
             "image": "artifacts.treasury.example/tools/exporter:1.2"},
        ],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }}}}},
}


def test_registries_labels_and_containers_of_a_cron_job_are_masked() -> None:
    state = ClusterState({"CronJob": [CRON_JOB]},
                         now=datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc))
    anonymizer = Anonymizer(KEY)
    anonymizer.add_state(state)
    text = ('dial tcp: lookup nexus-prod on 10.96.0.10:53: no such host; pulling '
            '"nexus-prod:5000/finance/settlement:3.1.0" for container ledger-exporter '
            "(team treasury-ops, tier batch, os linux); container report of job settlement-report "
            "exited")

    masked = anonymizer.mask(text)

    for hidden in ("nexus-prod", "ledger-exporter", "treasury-ops", "settlement-report"):
        assert hidden not in masked
    assert "tier batch, os linux); container report of job name-" in masked
    assert anonymizer.restore(masked) == text


def test_masking_is_idempotent_and_restore_leaves_foreign_tokens(anonymizer) -> None:
    masked = anonymizer.mask("Service ledger in billing has no ready endpoint")
    assert anonymizer.mask(masked) == masked
    assert anonymizer.restore("name-0123456789abcdef is not ours") == (
        "name-0123456789abcdef is not ours"
    )


def test_tree_masking_covers_nested_strings_but_the_kept_keys(anonymizer) -> None:
    anonymizer.add("name", ["service"])
    tree = {"analyzer": "service", "objects": ["Pod/shop/x", "Service/billing/ledger"],
            "count": 3, "related": [{"analyzer": "service", "message": "service ledger"}]}
    masked = anonymizer.mask_tree(tree, keep=frozenset({"analyzer"}))
    assert masked["count"] == 3
    assert "shop" not in masked["objects"][0] and "ledger" not in masked["objects"][1]
    assert masked["analyzer"] == masked["related"][0]["analyzer"] == "service"
    assert masked["related"][0]["message"].startswith("name-")


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("registry.acme-corp.example/shop/web:1.4.2", "registry.acme-corp.example"),
        ("myregistry:5000/team/app@sha256:abc", "myregistry:5000"),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1",
         "123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
        ("nginx:1.27", None),
        ("bitnami/redis:7.2", None),
        ("docker.io/library/nginx", None),
        ("ghcr.io/acme/app:1", None),
    ],
)
def test_image_registry(image: str, registry: str | None) -> None:
    assert image_registry(image) == registry


def test_key_file_is_private_and_reused(tmp_path) -> None:
    path = tmp_path / "k8sdoctor" / "anonymize.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert load_or_create_key(path) == key
    assert list(path.parent.iterdir()) == [path]


def test_a_damaged_key_file_is_replaced(tmp_path) -> None:
    path = tmp_path / "anonymize.key"
    path.write_bytes(b"short")
    key = load_or_create_key(path)
    assert len(key) == 32 and path.read_bytes() == key


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Anonymizer(b"too short")
