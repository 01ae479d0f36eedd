"""The manifests in ``deploy/`` validate against the Kubernetes OpenAPI schemas
(``kubernetes-validate``, strict: unknown fields fail), run k8sdoctor the hardened way, and pass
arguments the CLI accepts. Nothing is applied to a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer.main
import yaml

from k8sdoctor.cli import app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES_VERSION = "1.30.0"
BUILT_IN = ("rbac.yaml", "secrets-metadata.yaml", "serve.yaml", "cronjob.yaml")
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}


def documents(filename: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DEPLOY / filename).read_text()) if d]


def by_kind(filename: str, kind: str) -> dict[str, Any]:
    return next(d for d in documents(filename) if d["kind"] == kind)


@pytest.mark.parametrize("filename", BUILT_IN)
def test_manifests_validate_against_the_kubernetes_schemas(filename: str) -> None:
    for document in documents(filename):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validation_catches_a_wrong_field() -> None:
    deployment = by_kind("serve.yaml", "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def pod_spec(filename: str) -> dict[str, Any]:
    if filename == "serve.yaml":
        return by_kind(filename, "Deployment")["spec"]["template"]["spec"]
    return by_kind(filename, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]


@pytest.mark.parametrize("filename", ["serve.yaml", "cronjob.yaml"])
def test_k8sdoctor_runs_non_root_read_only_with_limits(filename: str) -> None:
    spec = pod_spec(filename)
    assert spec["serviceAccountName"] == by_kind("rbac.yaml", "ServiceAccount")["metadata"][
        "name"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    (container,) = spec["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])


@pytest.mark.parametrize("filename", ["serve.yaml", "cronjob.yaml"])
def test_the_container_arguments_are_ones_the_cli_accepts(filename: str) -> None:
    (container,) = pod_spec(filename)["containers"]
    command = typer.main.get_command(app)
    context = command.make_context("k8sdoctor", list(container["args"]), resilient_parsing=False)
    name = container["args"][0]
    subcommand = command.get_command(context, name)
    assert subcommand is not None
    subcommand.make_context(name, list(container["args"][1:]))


def test_the_deployment_probes_health_and_readiness() -> None:
    (container,) = pod_spec("serve.yaml")["containers"]
    port = container["ports"][0]["name"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
    assert f"--port={container['ports'][0]['containerPort']}" in container["args"]


def test_the_service_monitor_scrapes_the_service() -> None:
    service = by_kind("serve.yaml", "Service")
    monitor = by_kind("servicemonitor.yaml", "ServiceMonitor")
    assert {d["kind"] for d in documents("servicemonitor.yaml")} == OPERATOR_KINDS
    labels = service["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [
        service["metadata"]["namespace"]]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
