"""Anonymization: identifying values become stable keyed tokens, and come back in answers."""

from __future__ import annotations

import os
import stat

import pytest

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
    ],
)
def test_public_and_generic_text_is_kept(anonymizer, text) -> None:
    assert anonymizer.mask(text) == text


def test_masking_is_idempotent_and_restore_leaves_foreign_tokens(anonymizer) -> None:
    masked = anonymizer.mask("Service ledger in billing has no ready endpoint")
    assert anonymizer.mask(masked) == masked
    assert anonymizer.restore("name-0123456789abcdef is not ours") == (
        "name-0123456789abcdef is not ours"
    )


def test_tree_masking_covers_nested_strings(anonymizer) -> None:
    tree = {"objects": ["Pod/shop/x", "Service/billing/ledger"], "count": 3}
    masked = anonymizer.mask_tree(tree)
    assert masked["count"] == 3
    assert "shop" not in masked["objects"][0] and "ledger" not in masked["objects"][1]


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
