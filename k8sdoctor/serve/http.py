"""The HTTP side of ``k8sdoctor serve``: one port, four read-only paths.

- ``/metrics``: Prometheus exposition format (``prometheus_client``; OpenMetrics when the
  scraper asks for it).
- ``/report``: the last published report as ``k8sdoctor/v1`` JSON; 503 before the first one.
- ``/healthz``: 200 while the scan loop is alive (a liveness probe restarts a stuck process).
- ``/readyz``: 200 once a report is published (a readiness probe keeps a Service away until
  then); it stays ready while later scans fail, since the last good report is still served.

A small ``ThreadingHTTPServer``: a thread per request, GET and HEAD only.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client.exposition import choose_encoder

from k8sdoctor.serve.metrics import ServeMetrics
from k8sdoctor.serve.scanner import Scanner


class ServeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], scanner: Scanner,
                 metrics: ServeMetrics) -> None:
        super().__init__(address, _Handler)
        self.scanner = scanner
        self.metrics = metrics

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: ServeServer
    server_version = "k8sdoctor"
    sys_version = ""

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        path = urlsplit(self.path).path
        scanner = self.server.scanner
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept"))
            self._send(200, content_type, encoder(self.server.metrics.registry), send_body)
        elif path == "/report":
            published = scanner.published
            if published is None:
                self._text(503, "no report yet: the first scan has not finished\n", send_body)
            else:
                body = json.dumps(published.report, ensure_ascii=False).encode()
                self._send(200, "application/json", body, send_body,
                           {"Last-Modified": _http_date(published.at)})
        elif path == "/healthz":
            alive = scanner.alive()
            self._text(200 if alive else 503, "ok\n" if alive else "scan loop stopped\n",
                       send_body)
        elif path == "/readyz":
            ready = scanner.published is not None
            self._text(200 if ready else 503, "ok\n" if ready else "no report yet\n", send_body)
        else:
            self._text(404, "not found: try /metrics, /report, /healthz or /readyz\n", send_body)

    def _text(self, status: int, text: str, send_body: bool) -> None:
        self._send(status, "text/plain; charset=utf-8", text.encode(), send_body)

    def _send(self, status: int, content_type: str, body: bytes, send_body: bool,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes and probes every few seconds would drown the scan log; stay quiet."""


def _http_date(moment: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(moment))
