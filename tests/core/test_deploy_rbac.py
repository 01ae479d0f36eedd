"""The shipped RBAC grants exactly what k8sdoctor needs: get/list on every kind it reads, no
write verb anywhere, and Secrets only in the separate metadata role."""

from __future__ import annotations

from pathlib import Path

import yaml

from k8sdoctor.cluster.kinds import KNOWN_KINDS

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
READ_VERBS = {"get", "list", "watch"}


def _rules(filename: str) -> list[dict]:
    documents = yaml.safe_load_all((DEPLOY / filename).read_text())
    return [rule for doc in documents if doc["kind"] == "ClusterRole" for rule in doc["rules"]]


def _grants(rules: list[dict]) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_reader_role_lists_every_known_kind_but_secrets() -> None:
    grants = _grants(_rules("rbac.yaml"))
    for kind in KNOWN_KINDS.values():
        if kind.kind == "Secret":
            continue
        assert (kind.group, kind.plural, "list") in grants, f"cannot list {kind.kind}"
    assert ("", "pods/log", "get") in grants


def test_no_role_grants_more_than_reading() -> None:
    for filename in ("rbac.yaml", "secrets-metadata.yaml"):
        verbs = {verb for _, _, verb in _grants(_rules(filename))}
        assert verbs <= READ_VERBS, f"{filename} grants {verbs - READ_VERBS}"
    assert not any(resource == "secrets" for _, resource, _ in _grants(_rules("rbac.yaml")))
    assert _grants(_rules("secrets-metadata.yaml")) == {("", "secrets", "list")}
