"""Renderers: every output format has one, each renders a fixed report exactly as its golden file
(``K8SDOCTOR_UPDATE_GOLDEN=1`` rewrites them), findings come out in a deterministic order, text
fits the terminal width, cluster text is never taken for Rich markup, and colour appears only on a
terminal without ``NO_COLOR``.
"""

from __future__ import annotations

import json
import os
import pty
import random
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
import pytest

from k8sdoctor import __version__
from k8sdoctor.analysis.causes import root_causes
from k8sdoctor.analysis.engine import run_analyzers
from k8sdoctor.analysis.finding import Explanation, Finding, RunError, Severity
from k8sdoctor.analysis.registry import Analyzer
from k8sdoctor.cluster.state import ClusterState, ObjectRef
from k8sdoctor.report import OutputFormat, RenderOptions, render, renderer_for, report_schema
from k8sdoctor.report.model import Report

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("K8SDOCTOR_UPDATE_GOLDEN") == "1"
GENERATED_AT = datetime(2026, 11, 27, 9, 31, 5, tzinfo=timezone.utc)
CLUSTER_TIME = datetime(2026, 11, 27, 9, 30, tzinfo=timezone.utc)
SUFFIX = {OutputFormat.TEXT: "txt", OutputFormat.JSON: "json", OutputFormat.YAML: "yaml",
          OutputFormat.MARKDOWN: "md", OutputFormat.JUNIT: "xml", OutputFormat.SARIF: "sarif"}


def _findings() -> list[Finding]:
    crash = Finding(
        severity=Severity.ERROR, kind="Pod", api_version="v1", namespace="shop",
        name="cart-7d4b9c8f5-x2x7k", reason="CrashLoopBackOff", analyzer="pod",
        message="Container app of pod cart-7d4b9c8f5-x2x7k is in CrashLoopBackOff after 14 "
                "restarts; last exit code 137 (OOMKilled): it used more memory than its limit.",
        evidence=("container app: lastState.terminated reason=OOMKilled exitCode=137",
                  "event Warning BackOff from kubelet (x310): Back-off restarting failed "
                  "container app in pod cart-7d4b9c8f5-x2x7k_shop(6f0c1d2e-0b1a-4c3d-9e8f-"
                  "7a6b5c4d3e2f)"),
        remediation=("kubectl logs cart-7d4b9c8f5-x2x7k -c app -n shop --previous",
                     "Raise resources.limits.memory of container app (now 256Mi)."),
        parent=ObjectRef("Deployment", "cart", "shop"),
        explanation=Explanation(
            summary="The cart service runs out of memory on every start.",
            root_cause="The 256Mi limit is below the cache size configured in cart.yaml.",
            steps=("Lower cache.size in ConfigMap cart-config", "or raise the memory limit"),
            backend="ollama", model="qwen2.5:7b", cached=True),
    )
    no_endpoints = Finding(
        severity=Severity.CRITICAL, kind="Service", api_version="v1", namespace="shop",
        name="cart", reason="NoReadyEndpoints", analyzer="service",
        message="Service cart has no ready endpoint: its 2 pod(s) are not ready.",
        evidence=("EndpointSlice cart-d7v8p: 0 ready, 2 not ready, 0 terminating",),
        remediation=("kubectl describe pod cart-7d4b9c8f5-x2x7k -n shop",),
    )
    brackets = Finding(
        severity=Severity.WARNING, kind="Pod", api_version="v1", namespace="payments",
        name="worker-0", reason="Unhealthy", analyzer="pod",
        message="Readiness probe failed: [bold]503[/bold] from [red]/healthz[/red] "
                "[link=http://evil.example]click[/link]",
        evidence=("https://payments.internal.example.com/api/v2/health/dependencies/ledger/"
                  "replicas/primary?verbose=true&timeout=30s",),
    )
    node = Finding(
        severity=Severity.CRITICAL, kind="Node", api_version="v1", namespace=None,
        name="ip-10-0-2-117.eu-west-1.compute.internal", reason="NodeStatusUnknown",
        analyzer="node", message="Node stopped reporting: Kubelet stopped posting node status.",
        evidence=("condition Ready=Unknown reason=NodeStatusUnknown",),
        remediation=("kubectl describe node ip-10-0-2-117.eu-west-1.compute.internal",),
    )
    quota = Finding(
        severity=Severity.INFO, kind="ConfigMap", api_version="v1", namespace="payments",
        name="legacy-flags", reason="UnusedConfigMap", analyzer="references",
        message="ConfigMap legacy-flags is not used by any pod or workload.",
    )
    return sorted([crash, no_endpoints, brackets, node, quota], key=Finding.sort_key)


def golden_report() -> Report:
    findings = _findings()
    return Report(
        findings=findings,
        errors=[RunError("fetch", "Secret", "forbidden: secrets is forbidden: User "
                         '"ci" cannot list resource "secrets" in API group "" at the '
                         "cluster scope")],
        source="golden.yaml",
        analyzers=["node", "pod", "references", "service"],
        generated_at=GENERATED_AT,
        cluster_time=CLUSTER_TIME,
        root_causes=[replace(c, explanation=c.root.explanation)
                     for c in root_causes(findings, ClusterState({}, now=CLUSTER_TIME))],
    )


def _without_version(text: str) -> str:
    return (text.replace(f'"toolVersion": "{__version__}"', '"toolVersion": "<version>"')
            .replace(f"toolVersion: {__version__}\n", "toolVersion: <version>\n")
            .replace(f'Version": "{__version__}"', 'Version": "<version>"')
            .replace(f'"version": "{__version__}"', '"version": "<version>"'))


def test_every_output_format_has_a_renderer() -> None:
    for fmt in OutputFormat:
        rendered = renderer_for(fmt)(golden_report(), RenderOptions())
        assert isinstance(rendered, str) and rendered.strip(), fmt


@pytest.mark.parametrize("fmt", list(OutputFormat), ids=[f.value for f in OutputFormat])
def test_render_matches_golden_file(fmt: OutputFormat) -> None:
    golden = GOLDEN / f"report.{SUFFIX[fmt]}"
    rendered = _without_version(render(golden_report(), fmt, RenderOptions(color=False,
                                                                            width=80)))
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}: run with K8SDOCTOR_UPDATE_GOLDEN=1"
    assert rendered == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs; if the change is intended, run with K8SDOCTOR_UPDATE_GOLDEN=1")


def test_text_details_match_golden_file() -> None:
    """``--details``: every finding in full under its root cause."""
    golden = GOLDEN / "report.details.txt"
    rendered = render(golden_report(), OutputFormat.TEXT,
                      RenderOptions(color=False, width=80, details=True))
    if UPDATE:
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8"), (
        f"{golden.name} differs; if the change is intended, run with K8SDOCTOR_UPDATE_GOLDEN=1")


def test_golden_json_validates_against_the_schema() -> None:
    document = json.loads(render(golden_report(), OutputFormat.JSON))
    jsonschema.Draft202012Validator(
        report_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(document)
    assert document["metadata"]["generatedAt"] == "2026-11-27T09:31:05Z"


def _emitting(name: str, findings: list[Finding]) -> Analyzer:
    return Analyzer(name=name, kinds=("Pod",), analyze=lambda _state: list(findings),
                    doc="Emits fixed findings.\n\nFor ordering tests.")


def test_findings_come_out_in_a_deterministic_order() -> None:
    state = ClusterState({}, now=CLUSTER_TIME)
    expected = _findings()
    orders = []
    for seed in range(5):
        shuffled = list(expected)
        random.Random(seed).shuffle(shuffled)
        half = len(shuffled) // 2
        findings, errors = run_analyzers(
            state, [_emitting("second", shuffled[half:]), _emitting("first", shuffled[:half])])
        assert errors == []
        orders.append([(f.namespace, f.kind, f.name, f.reason) for f in findings])
    assert all(order == orders[0] for order in orders)
    assert [f[0] or "" for f in orders[0]] == sorted(f[0] or "" for f in orders[0])


@pytest.mark.parametrize("width", [60, 80, 100])
def test_text_wraps_within_the_width(width: int) -> None:
    text = render(golden_report(), OutputFormat.TEXT, RenderOptions(color=False, width=width))
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert not too_wide, too_wide


@pytest.mark.parametrize("color", [False, True])
def test_cluster_text_with_square_brackets_prints_literally(color: bool) -> None:
    text = render(golden_report(), OutputFormat.TEXT, RenderOptions(color=color, width=200))
    assert "[bold]503[/bold] from [red]/healthz[/red]" in text
    assert "[link=http://evil.example]click[/link]" in text
    assert "\x1b]8;" not in text  # no hyperlink escape made from cluster text


def test_plain_text_has_no_escapes_and_colour_has() -> None:
    plain = render(golden_report(), OutputFormat.TEXT, RenderOptions(color=False))
    coloured = render(golden_report(), OutputFormat.TEXT, RenderOptions(color=True))
    assert "\x1b[" not in plain
    assert "\x1b[" in coloured


def _run_on_terminal(env: dict[str, str]) -> str:
    """``k8sdoctor analyze --demo`` with a pseudo-terminal as stdout: what a user sees."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "k8sdoctor", "analyze", "--demo"], stdout=follower,
        stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def _terminal_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS")}
    return {**env, "TERM": "xterm-256color", "COLUMNS": "80", **extra}


def test_terminal_output_is_coloured_unless_no_color() -> None:
    assert "\x1b[" in _run_on_terminal(_terminal_env())
    assert "\x1b[" not in _run_on_terminal(_terminal_env(NO_COLOR="1"))


def test_piped_output_has_no_escapes() -> None:
    completed = subprocess.run([sys.executable, "-m", "k8sdoctor", "analyze", "--demo"],
                               capture_output=True, text=True, env=_terminal_env(),
                               timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert "\x1b[" not in completed.stdout
    assert max(len(line) for line in completed.stdout.splitlines()) <= 80


def test_junit_fails_findings_at_or_above_the_threshold() -> None:
    from xml.etree import ElementTree

    def cases(fail_on: Severity | None) -> dict[str, str]:
        root = ElementTree.fromstring(render(golden_report(), OutputFormat.JUNIT,
                                             RenderOptions(fail_on=fail_on)))
        outcome = {}
        for case in root.iter("testcase"):
            kind = next((c.tag for c in case if c.tag in ("failure", "error")), "passed")
            outcome[case.get("name")] = kind
        assert root.get("tests") == str(len(outcome))
        assert root.get("failures") == str(sum(v == "failure" for v in outcome.values()))
        return outcome

    default = cases(None)
    assert default["Pod/payments/worker-0: Unhealthy"] == "failure"  # warning fails by default
    assert default["ConfigMap/payments/legacy-flags: UnusedConfigMap"] == "passed"
    assert default["fetch Secret"] == "error"
    strict = cases(Severity.CRITICAL)
    assert strict["Service/shop/cart: NoReadyEndpoints"] == "failure"
    assert strict["Deployment/shop/cart: CrashLoopBackOff"] == "passed"


def test_junit_of_a_healthy_run_is_green() -> None:
    from xml.etree import ElementTree

    healthy = Report(findings=[], errors=[], source="s", analyzers=["pod", "service"],
                     generated_at=GENERATED_AT)
    root = ElementTree.fromstring(render(healthy, OutputFormat.JUNIT))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "0", "0")


def test_markdown_keeps_cluster_text_inert() -> None:
    markdown = render(golden_report(), OutputFormat.MARKDOWN)
    assert "\\[bold\\]503\\[/bold\\]" in markdown
    assert "<script" not in render(
        Report(findings=[replace(_findings()[0], message="<script>alert(1)</script> | x")],
               errors=[], source="s", analyzers=["pod"]),
        OutputFormat.MARKDOWN,
    )
    table_rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(table_rows) == 1 + len(golden_report().root_causes)
    assert all(line.count(" | ") == 4 for line in table_rows[1:])
