"""``k8sdoctor serve``: a long-running service for a Deployment in the cluster.

It analyzes every ``--interval`` (through the in-cluster service account when it runs in a pod,
else the kubeconfig), keeps the last good report in memory and serves it on one port with
Prometheus metrics and health probes (``serve/http.py``). A failed scan never ends the process:
it is counted in ``k8sdoctor_scan_failures_total`` and the last good report stays
(``serve/scanner.py``). SIGTERM and SIGINT stop it cleanly. ``prometheus_client`` is imported
here, so only this command pays for it.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from k8sdoctor.cluster.source import ClusterSource
from k8sdoctor.cluster.state import Scope
from k8sdoctor.errors import BadInputError
from k8sdoctor.serve.http import ServeServer
from k8sdoctor.serve.metrics import ServeMetrics
from k8sdoctor.serve.scanner import Scanner

if TYPE_CHECKING:
    from k8sdoctor.explain.session import ExplainFlags


@dataclass(frozen=True)
class ServeOptions:
    address: str = "0.0.0.0"
    port: int = 8080
    interval: float = 300.0
    scope: Scope = field(default_factory=Scope)
    analyzers: Sequence[str] = ()
    exclude_namespaces: Sequence[str] = ()
    explain: ExplainFlags | None = None


def parse_interval(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``5m`` or ``1h``; at least one second."""
    units = {"s": 1, "m": 60, "h": 3600}
    value = text.strip().lower()
    factor = units.get(value[-1:])
    number = value[:-1] if factor else value
    try:
        seconds = float(number) * (factor or 1)
    except ValueError:
        raise BadInputError(f"--interval {text!r}: give seconds or a duration like 30s, 5m, "
                            "1h") from None
    if not seconds >= 1:
        raise BadInputError(f"--interval {text!r} must be at least one second")
    return seconds


def scan_function(source_factory: Callable[[], ClusterSource], options: ServeOptions,
                  notify: Callable[[str], None]) -> Callable[[], Mapping[str, Any]]:
    """One scan: read, analyze, explain if asked; the report as its JSON document."""

    def scan() -> Mapping[str, Any]:
        from k8sdoctor.run import analyze_with_state

        source = source_factory()
        analysis = analyze_with_state(source, options.scope, options.analyzers,
                                      options.exclude_namespaces)
        report = analysis.report
        if options.explain is not None:
            from k8sdoctor.explain import session

            report = session.explain_report(report, analysis.state, source, options.explain,
                                            notify)
        return report.to_dict()

    return scan


def serve(scan: Callable[[], Mapping[str, Any]], options: ServeOptions,
          stop: threading.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop`` is set); binds first, so a taken port is a
    one-line error before any scan."""

    def log(message: str) -> None:
        print(f"k8sdoctor: {message}", file=sys.stderr, flush=True)

    metrics = ServeMetrics()
    scanner = Scanner(scan, options.interval, metrics, log)
    try:
        server = ServeServer((options.address, options.port), scanner, metrics)
    except OSError as err:
        raise BadInputError(f"cannot listen on {options.address}:{options.port}: "
                            f"{err.strerror}") from None
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    log(f"serving /metrics, /report, /healthz and /readyz on {server.url} "
        f"(listening on {options.address}:{server.server_address[1]}); "
        f"scanning every {options.interval:g} s")
    scanner.start()  # before the first request is answered, so /healthz never sees it unstarted
    http_thread = threading.Thread(target=server.serve_forever, name="k8sdoctor-http",
                                   kwargs={"poll_interval": 0.2}, daemon=True)
    http_thread.start()
    try:
        stop.wait()
    finally:
        log("stopping")
        scanner.stop()
        server.shutdown()
        server.server_close()
