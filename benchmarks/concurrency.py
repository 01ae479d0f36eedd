"""How many Lists at once, and how big a page: the live fetch measured, not guessed.

One ``loopback.py`` server (its own process) serves a synthetic cluster of ``--pods`` pods (10,000
by default) from pages encoded in advance. For every server latency of ``--latency-ms`` (0 and 50
by default: loopback, and a remote API server's round trip plus its own work per request), every
``--workers`` count (1, 2, 4, 8, 16) and every ``--page-size`` (1000), a child process reads the
kinds the default analyzers need exactly as ``k8sdoctor analyze`` does (``LiveSource.load``:
GETs, JSON parsing, validation) with that many Lists at once and that page size, ``--runs``
times (median shown). Each row gives the fetch's wall time (measured inside the child), the whole
child's CPU time (user + system) and peak RSS (from ``wait4``), and the GETs made. The runs
are interleaved (every setting once, then every setting again...) so that other work on a shared
machine weighs on all settings alike; CPU time is the steadier figure, and the load average is
printed with the table.

    python benchmarks/concurrency.py --page-size 500 --page-size 1000 --page-size 2000
                                  # the grid in RESULTS.md (about 25 minutes)
    python benchmarks/concurrency.py --page-size 500 --page-size 1000 --workers 4 --workers 8 \\
        --runs 5                  # the old defaults against the new ones
    python benchmarks/concurrency.py --pods 2000 --runs 1 --latency-ms 20   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
sys.path[:0] = [str(HERE), str(HERE.parent)]

from scale import Usage, run_child  # noqa: E402


def fetch_child(kubeconfig: str, workers: int, page_size: int) -> None:
    """Read what the default analyzers need, as ``analyze`` does; print the fetch's seconds."""
    from k8sdoctor.analysis import engine
    from k8sdoctor.analysis.registry import discover
    from k8sdoctor.cluster.live import LiveSource
    from k8sdoctor.cluster.state import Scope

    installed, _ = discover()
    kinds = engine.kinds_needed(engine.select(installed, ()))
    started = time.perf_counter()
    with LiveSource(kubeconfig, max_workers=workers, page_size=page_size) as source:
        result = source.load(kinds, Scope())
    if result.errors:
        raise SystemExit(f"fetch errors: {result.errors}")
    print(json.dumps({"fetch": time.perf_counter() - started}))


def _get(url: str) -> object:
    with urllib.request.urlopen(url) as answer:
        return json.load(answer)


def measure_once(kubeconfig: str, url: str, workers: int, page_size: int
                 ) -> tuple[float, Usage, int]:
    """Fetch seconds, whole-child usage, and GETs of one run."""
    _get(f"{url}/_log")
    out = Path(tempfile.mkstemp(prefix="k8sdoctor-concurrency-")[1])
    try:
        with out.open("wb") as sink:
            usage = run_child([PYTHON, __file__, "--child", kubeconfig, "--workers",
                               str(workers), "--page-size", str(page_size)], stdout=sink.fileno())
        fetch = json.loads(out.read_text())["fetch"]
    finally:
        out.unlink()
    return fetch, usage, len(_get(f"{url}/_log"))  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, action="append",
                        help="server latency per request (repeatable; default 0 and 50)")
    parser.add_argument("--workers", type=int, action="append",
                        help="Lists at once (repeatable; default 1, 2, 4, 8, 16)")
    parser.add_argument("--page-size", type=int, action="append",
                        help="objects per page (repeatable; default 1000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median shows")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    workers = args.workers or [1, 2, 4, 8, 16]
    page_sizes = args.page_size or [1000]
    if args.child:
        fetch_child(args.child, workers[0], page_sizes[0])
        return 0
    latencies = args.latency_ms or [0.0, 50.0]
    with tempfile.TemporaryDirectory(prefix="k8sdoctor-concurrency-") as tmp:
        print(f"building and encoding {args.pods:,} pods...", file=sys.stderr, flush=True)
        server = subprocess.Popen([PYTHON, str(HERE / "loopback.py"), "--pods", str(args.pods),
                                   "--dir", tmp], stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            info = json.loads(server.stdout.readline() or "null")
            if not info:
                raise SystemExit("the loopback server did not start")
            print(f"{os.cpu_count()} cores, load average at start "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {info['pods']:,} pods, "
                  f"{info['events']:,} events, {info['list_bytes'] / 2**20:.1f} MiB of Lists; "
                  f"medians of {args.runs} runs")
            head = (f"{'latency ms':>10} {'workers':>7} {'page':>5} {'GETs':>5} | "
                    f"{'fetch s':>7} {'CPU s':>6} {'RSS MiB':>7} | load")
            print(head)
            print("-" * len(head), flush=True)
            for latency in latencies:
                _get(f"{info['url']}/_latency?ms={latency}")
                settings = [(page_size, count) for page_size in page_sizes for count in workers]
                for page_size in page_sizes:  # encoded on first use: not in the figures
                    measure_once(info["kubeconfig"], info["url"], workers[-1], page_size)
                runs: dict[tuple[int, int], list[tuple[float, Usage, int]]] = {}
                loads = []
                for _ in range(args.runs):
                    for page_size, count in settings:
                        runs.setdefault((page_size, count), []).append(
                            measure_once(info["kubeconfig"], info["url"], count, page_size))
                    loads.append(os.getloadavg()[0])
                for page_size, count in settings:
                    done = runs[(page_size, count)]
                    fetch = statistics.median(f for f, _, _ in done)
                    cpu = statistics.median(u.cpu for _, u, _ in done)
                    rss = statistics.median(u.rss for _, u, _ in done)
                    print(f"{latency:>10.0f} {count:>7} {page_size:>5} {done[0][2]:>5} | "
                          f"{fetch:>7.2f} {cpu:>6.2f} {rss:>7.0f} | "
                          f"{statistics.median(loads):.2f}", flush=True)
        finally:
            server.terminate()
            server.wait()
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
