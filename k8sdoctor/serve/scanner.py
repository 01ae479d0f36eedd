"""The scan loop of ``k8sdoctor serve``: analyze every interval, keep the last good report.

A scan that raises (the cluster unreachable, the API server answering 500 to discovery, a bug)
is a failed scan: it is counted, the error is logged in one line, and the report already served
stays. A scan that ends but could not read a kind that the served report did read is held back
too, so that one transient 500 on the pod list does not make every pod finding vanish from the
metrics for an interval (and alerts resolve falsely); the ``HOLD_BACK_LIMIT``-th such scan in
a row is published, since the kind is then unreadable for good (an RBAC change). A kind that
was never readable (no ``list`` on Secrets) never holds a report back.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from k8sdoctor.errors import BadInputError, ClusterUnreachableError
from k8sdoctor.serve.metrics import ServeMetrics

HOLD_BACK_LIMIT = 3

Scan = Callable[[], Mapping[str, Any]]
"""One analysis run, returning the report as its JSON document."""


@dataclass(frozen=True)
class Published:
    report: Mapping[str, Any]
    at: float


class Scanner:
    def __init__(self, scan: Scan, interval: float, metrics: ServeMetrics,
                 log: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._scan = scan
        self.interval = interval
        self.metrics = metrics
        self._log = log or (lambda message: print(f"k8sdoctor: {message}", file=sys.stderr,
                                                  flush=True))
        self._clock = clock
        self._lock = threading.Lock()
        self._published: Published | None = None
        self._held_back = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def published(self) -> Published | None:
        with self._lock:
            return self._published

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="k8sdoctor-scanner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.scan_once()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def scan_once(self) -> bool:
        """Run one scan; True when its report was published."""
        self.metrics.scans.inc()
        started = time.monotonic()
        try:
            report = self._scan()
        except (ClusterUnreachableError, BadInputError) as err:
            return self._failed("unreachable" if isinstance(err, ClusterUnreachableError)
                                else "bad_input", str(err))
        except Exception as err:  # a bug must not end the service; it is counted and logged
            return self._failed("internal", f"internal error: {type(err).__name__}: {err}")
        finally:
            self.metrics.scan_duration.observe(time.monotonic() - started)
        self.metrics.record_inference(report.get("metadata", {}).get("inference"))
        failed_kinds = _fetch_failures(report)
        for kind in failed_kinds:
            self.metrics.fetch_failures.labels(kind).inc()
        current = self.published
        newly_unreadable = failed_kinds - (_fetch_failures(current.report) if current else set())
        if current is not None and newly_unreadable and self._held_back < HOLD_BACK_LIMIT - 1:
            self._held_back += 1
            return self._failed("incomplete", "could not read "
                                f"{', '.join(sorted(newly_unreadable))}; keeping the last report")
        self._held_back = 0
        now = self._clock()
        with self._lock:
            self._published = Published(report, now)
        self.metrics.report.publish(report)
        self.metrics.last_scan_success.set(1)
        self.metrics.last_success_time.set(now)
        summary = report["summary"]
        self._log(f"scan: {summary['findings']} findings "
                  f"({', '.join(f'{n} {s}' for s, n in summary['bySeverity'].items() if n)})"
                  + ("" if summary["complete"] else "; data incomplete"))
        return True

    def _failed(self, reason: str, message: str) -> bool:
        self.metrics.scan_failures.labels(reason).inc()
        self.metrics.last_scan_success.set(0)
        self._log(f"scan failed: {message}")
        return False


def _fetch_failures(report: Mapping[str, Any]) -> set[str]:
    return {e["subject"] for e in report.get("errors") or () if e.get("stage") == "fetch"}
