"""``k8sdoctor analyze --demo``: the bundled broken cluster gives a readable report that flags
every fault the analyzer catalogue promises and nothing healthy, a schema-valid JSON report, and
the CI exit codes.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
from contextlib import ExitStack

import jsonschema
import pytest

from k8sdoctor.analysis.finding import Finding, Severity
from k8sdoctor.analysis.registry import discover
from k8sdoctor.cluster.demo import demo_source
from k8sdoctor.cluster.state import Scope
from k8sdoctor.report import report_schema
from k8sdoctor.report.model import Report
from k8sdoctor.run import analyze
from tests.conftest import RunCli
from tests.fixtures.clustergen.output import DEMO_PATH, rendered
from tests.helpers import DEMO, Expect, consistency_problems, describe, load_snapshot

NODE_B = "ip-10-0-2-117.eu-west-1.compute.internal"
NODE_A = "ip-10-0-1-23.eu-west-1.compute.internal"
GPU_NODE = "ip-10-0-3-42.eu-west-1.compute.internal"
FAILED_RUN = "settlement-report-29929080"
SUCCEEDED_RUN = "settlement-report-29923320"
INSTALLED = {analyzer.name for analyzer in discover()[0]}
CRITICAL, ERROR, WARNING = Severity.CRITICAL, Severity.ERROR, Severity.WARNING

EXPECTED = [
    # shop: OOMKilled crash loop leaving its Service without ready endpoints
    Expect("pod", "Pod", "shop", "cart-*", "CrashLoopBackOff", ERROR, ("OOMKilled", "137")),
    Expect("deployment", "Deployment", "shop", "cart", "NoReplicasAvailable", CRITICAL),
    Expect("service", "Service", "shop", "cart", "NoReadyEndpoints", CRITICAL),
    # shop: a tag that does not exist, and the rollout that stalled on it
    Expect("pod", "Pod", "shop", "catalog-*", "ImagePullBackOff", ERROR, ("not found",)),
    Expect("deployment", "Deployment", "shop", "catalog", "ProgressDeadlineExceeded"),
    # shop: too much cpu for the only schedulable node, taints on the others
    Expect("pod", "Pod", "shop", "search-indexer-*", "Unschedulable", None,
           ("Insufficient cpu", "untolerated taint")),
    Expect("deployment", "Deployment", "shop", "search-indexer", "ProgressDeadlineExceeded"),
    Expect("service", "Service", "shop", "reviews", "SelectorMatchesNoPods"),
    Expect("ingress", "Ingress", "shop", "storefront", "BackendServiceNotFound", None,
           ("recommendations",)),
    Expect("ingress", "Ingress", "shop", "storefront", "TLSSecretNotFound", None,
           ("storefront-tls",)),
    # shop: the Ingress path to the Service whose selector matches nothing answers 503
    Expect("ingress", "Ingress", "shop", "storefront", "BackendUnavailable", ERROR,
           ("returns 503", "Service reviews")),
    # payments
    Expect("pod", "Pod", "payments", "ledger-worker-*", "CreateContainerConfigError", None,
           ("DATABASE_URL",)),
    Expect("references", "Pod", "payments", "ledger-worker-*", "ConfigMapKeyNotFound", None,
           ("DATABASE_URL",)),
    Expect("deployment", "Deployment", "payments", "ledger-worker", "ProgressDeadlineExceeded"),
    Expect("job", "Job", "payments", FAILED_RUN, "BackoffLimitExceeded"),
    Expect("pod", "Pod", "payments", f"{FAILED_RUN}-*", "TerminatedWithError", ERROR),
    Expect("cronjob", "CronJob", "payments", "settlement-report"),
    Expect("hpa", "HorizontalPodAutoscaler", "payments", "payments-api", None, None,
           ("request",)),
    Expect("pdb", "PodDisruptionBudget", "payments", "payments-api"),
    # ml: the only GPU is taken; the quota is at 95%
    Expect("pod", "Pod", "ml", "finetune-llm-*", "Unschedulable", None, ("nvidia.com/gpu",)),
    Expect("gpu", "Pod", "ml", "finetune-llm-*", None, None, ("nvidia.com/gpu",)),
    Expect("quota", "ResourceQuota", "ml", "ml-quota", None, WARNING, ("requests.cpu", "95%")),
    # monitoring: a claim whose StorageClass does not exist
    Expect("storage", "PersistentVolumeClaim", "monitoring", "storage-loki-0", None, None,
           ("fast-ssd",)),
    Expect("statefulset", "StatefulSet", "monitoring", "loki"),
    Expect("pod", "Pod", "monitoring", "loki-0", "Unschedulable"),
    # cluster-scoped
    Expect("node", "Node", None, NODE_B, None, CRITICAL, ("Kubelet stopped posting node status",)),
    # the DaemonSet pods left on the lost node
    *(Expect("pod", "Pod", namespace, f"{daemonset}-*", "NodeNotReady", WARNING, (NODE_B,))
      for namespace, daemonset in (("kube-system", "aws-node"), ("kube-system", "kube-proxy"),
                                   ("monitoring", "node-exporter"))),
    Expect("webhook", "ValidatingWebhookConfiguration", None, "policy-guard", None, CRITICAL),
]

CONSEQUENCES = [
    ("Service", "shop", "catalog"),  # the stalled rollout's pod is a not-ready endpoint
    ("Service", "monitoring", "loki-headless"),  # loki-0 cannot start
    ("Service", "policy", "policy-guard-webhook"),  # the webhook's backend is scaled to zero
    ("Deployment", "policy", "policy-guard"),
    ("Job", "ml", "finetune-llm"),  # its only pod cannot be scheduled
    ("DaemonSet", "kube-system", "aws-node"),  # one pod each on the lost node
    ("DaemonSet", "kube-system", "kube-proxy"),
    ("DaemonSet", "monitoring", "node-exporter"),
]
"""Objects that are really broken as a consequence of the faults above: findings about them are
welcome but not required."""

HEALTHY = [
    ("a rollout in progress inside its deadline", "Deployment", "shop", "frontend"),
    ("the pods of a rollout in progress", "Pod", "shop", "frontend-*"),
    ("an HPA resting at its minimum replicas", "HorizontalPodAutoscaler", "shop", "frontend"),
    ("the workload behind a Service with a wrong selector", "Deployment", "shop", "reviews"),
    ("a Deployment whose HPA lacks a request", "Deployment", "payments", "payments-api"),
    ("a Job that succeeded after one retry", "Job", "ml", "prepare-dataset"),
    ("the failed first attempt of a completed Job", "Pod", "ml", "prepare-dataset-*"),
    ("a CronJob run that succeeded", "Job", "payments", SUCCEEDED_RUN),
    ("the pod of a successful CronJob run", "Pod", "payments", f"{SUCCEEDED_RUN}-*"),
    ("a running GPU training Job", "Job", "ml", "train-resnet"),
    ("the pod holding the only GPU", "Pod", "ml", "train-resnet-*"),
    ("the GPU node, full but healthy", "Node", None, GPU_NODE),
    ("the healthy node", "Node", None, NODE_A),
    ("a default-deny NetworkPolicy", "NetworkPolicy", "payments", "default-deny-ingress"),
    ("an Ingress whose Secret and Service exist", "Ingress", "monitoring", "grafana"),
    ("a webhook with ready endpoints", "ValidatingWebhookConfiguration", None,
     "ingress-nginx-admission"),
    ("a LoadBalancer Service with its address", "Service", "ingress-nginx",
     "ingress-nginx-controller"),
    ("coredns", "Deployment", "kube-system", "coredns"),
    ("a StatefulSet with a bound claim", "StatefulSet", "monitoring", "prometheus"),
    ("a quota-governed notebook", "StatefulSet", "ml", "notebook"),
]


@pytest.fixture(scope="module")
def demo_report() -> Report:
    with ExitStack() as stack:
        return analyze(demo_source(stack), Scope())


def _serious(report: Report) -> list[Finding]:
    return [f for f in report.findings if f.severity >= WARNING]


def test_every_expectation_names_an_installed_analyzer() -> None:
    assert {expect.analyzer for expect in EXPECTED} <= INSTALLED


@pytest.mark.parametrize("expect", EXPECTED, ids=[e.label for e in EXPECTED])
def test_demo_flags_the_fault(demo_report: Report, expect: Expect) -> None:
    found = [f for f in demo_report.findings if expect.matches(f)]
    assert found, f"no finding {expect.label}; the analyzer said:\n" + describe(
        f for f in demo_report.findings if f.analyzer == expect.analyzer)
    for finding in found:
        if expect.severity is None:
            assert finding.severity >= WARNING, describe([finding])
        else:
            assert finding.severity is expect.severity, describe([finding])
    for text in expect.says:
        assert any(text in f.message for f in found), f"{text!r} not in:\n{describe(found)}"


def test_demo_flags_nothing_healthy(demo_report: Report) -> None:
    """Every warning-or-worse finding is about a broken object, or something it broke."""
    state = load_snapshot(DEMO)
    on_lost_node = {p["metadata"]["name"] for p in state.objects("Pod")
                    if p["spec"].get("nodeName") == NODE_B}

    def explained(finding: Finding) -> bool:
        broken = [(e.kind, e.namespace, e.name) for e in EXPECTED] + CONSEQUENCES
        if finding.kind == "Pod" and finding.name in on_lost_node:
            return True
        return any(finding.kind == kind and finding.namespace == namespace
                   and fnmatch.fnmatchcase(finding.name, name) for kind, namespace, name in broken)

    unexplained = [f for f in _serious(demo_report) if not explained(f)]
    assert not unexplained, "flagged although healthy:\n" + describe(unexplained)


@pytest.mark.parametrize(("what", "kind", "namespace", "name"), HEALTHY,
                         ids=[h[0] for h in HEALTHY])
def test_demo_does_not_flag(demo_report: Report, what: str, kind: str, namespace: str | None,
                            name: str) -> None:
    flagged = [f for f in _serious(demo_report) if f.kind == kind
               and f.namespace == namespace and fnmatch.fnmatchcase(f.name, name)]
    assert not flagged, f"{what} was flagged:\n" + describe(flagged)


def test_demo_never_calls_kube_root_ca_unused(demo_report: Report) -> None:
    flagged = [f for f in demo_report.findings if f.name == "kube-root-ca.crt"]
    assert not flagged, describe(flagged)


def test_demo_reports_every_failed_pod_of_the_failed_run(demo_report: Report) -> None:
    state = load_snapshot(DEMO)
    failed = {p["metadata"]["name"] for p in state.objects("Pod")
              if p["metadata"]["name"].startswith(FAILED_RUN)
              and p["status"].get("phase") == "Failed"}
    reported = {f.name for f in demo_report.findings
                if f.kind == "Pod" and f.name.startswith(FAILED_RUN)}
    assert len(failed) > 1
    assert reported == failed


BROKEN_WORKLOADS = [
    ("Deployment", "shop", "cart"), ("Deployment", "shop", "catalog"),
    ("Deployment", "shop", "search-indexer"), ("Deployment", "payments", "ledger-worker"),
    ("StatefulSet", "monitoring", "loki"), ("CronJob", "payments", "settlement-report"),
    ("Job", "ml", "finetune-llm"), ("Deployment", "policy", "policy-guard"),
    ("DaemonSet", "kube-system", "aws-node"), ("DaemonSet", "kube-system", "kube-proxy"),
    ("DaemonSet", "monitoring", "node-exporter"),
]
"""Every workload of the demo that is broken, by its own fault or another's."""


def test_demo_text_fits_two_screens_and_names_every_broken_workload(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = run_cli(["analyze", "--demo"])
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) <= 120, result.stdout
    assert lines[0].startswith("k8sdoctor") and "demo cluster" in lines[0]
    assert "as of 2026-11-27 09:30 UTC" in lines[0]
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, too_wide
    assert "\x1b[" not in result.stdout
    assert re.fullmatch(r"\d+ root causes \(\d+ critical\) behind \d+ findings .*", lines[2])
    words = " ".join(result.stdout.split())
    for kind, namespace, name in BROKEN_WORKLOADS:
        named = rf"{kind}s? (?:{namespace}/)?{re.escape(name)}(?![\w.-])"
        assert re.search(named, words, re.IGNORECASE), f"{kind} {namespace}/{name} not named"
    assert "frontend" not in result.stdout
    summary = " ".join(result.stdout.split("\n\n")[-1].split())
    assert re.match(r"\d+ root causes \(\d+ critical\) behind \d+ findings: \d+ critical",
                    summary), summary


def test_demo_ranks_the_lost_node_first_and_every_finding_once(demo_report: Report) -> None:
    causes = demo_report.root_causes
    assert causes[0].root_object.name == NODE_B
    assert [c.rank for c in causes] == list(range(1, len(causes) + 1))
    ids = [f.id for c in causes for f in c.findings]
    assert sorted(ids) == sorted(f.id for f in demo_report.findings)


def test_demo_json_is_pure_json_and_valid() -> None:
    """End to end in a real process: stdout is exactly one JSON document."""
    completed = subprocess.run(
        [sys.executable, "-m", "k8sdoctor", "analyze", "--demo", "-o", "json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    jsonschema.Draft202012Validator(
        report_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(report)
    assert report["summary"]["status"] == "ProblemsDetected"
    assert report["summary"]["complete"] is True
    assert report["summary"]["findings"] == len(report["findings"]) > 10
    assert report["metadata"]["clusterTime"] == "2026-11-27T09:30:00Z"
    assert report["errors"] == []


@pytest.mark.parametrize(("fail_on", "code"), [("never", 0), ("error", 1), ("critical", 1)])
def test_demo_exit_code_follows_fail_on(run_cli: RunCli, fail_on: str, code: int) -> None:
    result = run_cli(["analyze", "--demo", "-o", "json", "--fail-on", fail_on])
    assert result.code == code, result.stderr
    json.loads(result.stdout)


def test_demo_is_consistent_like_a_real_cluster() -> None:
    state = load_snapshot(DEMO)
    assert consistency_problems(state) == []
    assert 150 <= sum(len(state.objects(k)) for k in state.kinds) <= 320
    assert {"shop", "payments", "ml", "monitoring", "kube-system"} <= {
        n["metadata"]["name"] for n in state.objects("Namespace")}
    assert all(not (s.get("data") or s.get("stringData")) for s in state.objects("Secret"))


def test_demo_is_what_its_generator_writes() -> None:
    """The snapshot is generated (tests/fixtures/clustergen); edit the generator, not the file:
    ``python -m tests.fixtures.clustergen`` rewrites it."""
    assert DEMO_PATH.read_text(encoding="utf-8") == rendered()[DEMO_PATH]
