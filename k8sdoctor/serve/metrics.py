"""Prometheus metrics of ``k8sdoctor serve``, built with ``prometheus_client``.

What the last published report says (findings by severity, analyzer, namespace and reason; root
causes; health scores; kinds that could not be read) is exported by a custom collector that reads
that report at scrape time, so a finding that is fixed disappears from the next scrape instead of
lingering as a stale labelled gauge. What happens across scans (scans run and failed, their
duration, LLM calls, tokens, and each call's latency from ``metadata.inference.calls``) is kept
in ordinary counters and histograms.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

SEVERITIES = ("critical", "error", "warning", "info")
SCAN_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
LLM_BUCKETS = (0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160)


class ReportCollector(Collector):
    """Exports the current report as gauges; ``publish`` swaps the report atomically."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._report: Mapping[str, Any] | None = None

    def publish(self, report: Mapping[str, Any]) -> None:
        with self._lock:
            self._report = report

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            report = self._report
        if report is None:
            return
        findings = report.get("findings") or []
        by_severity = GaugeMetricFamily("k8sdoctor_findings", "Findings in the last report, by "
                                        "severity.", labels=["severity"])
        for severity in SEVERITIES:
            by_severity.add_metric([severity], report["summary"]["bySeverity"].get(severity, 0))
        yield by_severity
        yield _tally("k8sdoctor_findings_by_analyzer", "Findings in the last report, by analyzer "
                     "and severity.", ["analyzer", "severity"],
                     ((f["analyzer"], f["severity"]) for f in findings))
        yield _tally("k8sdoctor_findings_by_namespace", "Findings in the last report, by "
                     "namespace (empty for cluster-scoped objects) and severity.",
                     ["namespace", "severity"],
                     ((f["namespace"] or "", f["severity"]) for f in findings))
        yield _tally("k8sdoctor_findings_by_reason", "Findings in the last report, by analyzer, "
                     "reason and severity.", ["analyzer", "reason", "severity"],
                     ((f["analyzer"], f["reason"], f["severity"]) for f in findings))
        causes = report.get("rootCauses")
        if causes is not None:
            yield _tally("k8sdoctor_root_causes", "Root causes in the last report, by severity.",
                         ["severity"], ((c["severity"],) for c in causes), zero=SEVERITIES)
        health = report["summary"].get("healthScore") or {}
        if health.get("cluster") is not None:
            yield GaugeMetricFamily("k8sdoctor_health_score", "Share of workloads with no error "
                                    "or critical finding, 0-100.", value=health["cluster"])
        namespaces = GaugeMetricFamily("k8sdoctor_namespace_health_score", "Share of a "
                                       "namespace's workloads with no error or critical finding, "
                                       "0-100.", labels=["namespace"])
        for namespace, score in sorted((health.get("namespaces") or {}).items()):
            namespaces.add_metric([namespace], score["score"])
        yield namespaces
        yield _tally("k8sdoctor_fetch_errors", "Resource kinds the last report could not read.",
                     ["kind"], ((e["subject"],) for e in report.get("errors") or ()
                                if e["stage"] == "fetch"))
        yield GaugeMetricFamily("k8sdoctor_report_complete", "1 when the last report read every "
                                "kind and ran every analyzer.",
                                value=1 if report["summary"]["complete"] else 0)


def _tally(name: str, documentation: str, labels: list[str], rows: Any,
           zero: tuple[str, ...] = ()) -> GaugeMetricFamily:
    counts = Tally(tuple(row) for row in rows)
    for value in zero:
        counts.setdefault((value,), 0)
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for key, count in sorted(counts.items()):
        family.add_metric(list(key), count)
    return family


class ServeMetrics:
    """Every metric ``serve`` exports, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.report = ReportCollector()
        self.registry.register(self.report)
        self.scans = Counter("k8sdoctor_scans", "Scans run.", registry=self.registry)
        self.scan_failures = Counter("k8sdoctor_scan_failures", "Scans that failed; the last "
                                     "good report is kept.", ["reason"], registry=self.registry)
        self.scan_duration = Histogram("k8sdoctor_scan_duration_seconds", "Time one scan took "
                                       "(reading the cluster, analyzing, explaining).",
                                       buckets=SCAN_BUCKETS, registry=self.registry)
        self.last_scan_success = Gauge("k8sdoctor_last_scan_success", "1 when the last scan "
                                       "succeeded, 0 when it failed.", registry=self.registry)
        self.last_success_time = Gauge("k8sdoctor_last_successful_scan_timestamp_seconds",
                                       "When the report now served was made (Unix time).",
                                       registry=self.registry)
        self.fetch_failures = Counter("k8sdoctor_fetch_failures", "Resource kinds that could "
                                      "not be listed, summed over scans.", ["kind"],
                                      registry=self.registry)
        self.llm_calls = Counter("k8sdoctor_llm_calls", "Calls made to an LLM backend.",
                                 ["backend", "model"], registry=self.registry)
        self.llm_cache_hits = Counter("k8sdoctor_llm_cache_hits", "Explanations taken from the "
                                      "cache instead of a call.", ["backend", "model"],
                                      registry=self.registry)
        self.llm_failures = Counter("k8sdoctor_llm_failures", "LLM calls that failed.",
                                    ["backend", "model"], registry=self.registry)
        self.llm_tokens = Counter("k8sdoctor_llm_tokens", "Tokens sent and received.",
                                  ["backend", "model", "type"], registry=self.registry)
        self.llm_latency = Histogram("k8sdoctor_llm_call_duration_seconds", "Latency of one "
                                     "LLM call (from metadata.inference.calls).",
                                     ["backend", "model", "outcome"], buckets=LLM_BUCKETS,
                                     registry=self.registry)

    def record_inference(self, inference: Mapping[str, Any] | None) -> None:
        """Add one scan's ``metadata.inference`` to the LLM counters."""
        for entry in (inference or {}).get("backends") or ():
            labels = (str(entry.get("backend")), str(entry.get("model")))
            calls = int(entry.get("calls") or 0)
            self.llm_calls.labels(*labels).inc(calls)
            self.llm_cache_hits.labels(*labels).inc(int(entry.get("cacheHits") or 0))
            self.llm_failures.labels(*labels).inc(int(entry.get("failures") or 0))
            for kind, key in (("prompt", "promptTokens"), ("completion", "completionTokens")):
                if entry.get(key) is not None:
                    self.llm_tokens.labels(*labels, kind).inc(int(entry[key]))
        for call in (inference or {}).get("calls") or ():
            if call.get("latencySeconds") is not None:
                self.llm_latency.labels(str(call.get("backend")), str(call.get("model")),
                                        str(call.get("outcome"))).observe(
                    float(call["latencySeconds"]))
