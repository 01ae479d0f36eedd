"""How long analysis takes on a large cluster, how much memory it needs, and how both grow.

Builds a synthetic cluster per size (``synthetic``: every kind the analyzers read, in proportion
to the pod count, a few percent broken), then times loading it from a snapshot file, and building
the ``ClusterState`` and running every installed analyzer over it, and measures the memory the
analysis allocates at its peak. Prints one line per size and how the times grew between the two
largest sizes. With ``--per-analyzer`` each analyzer is also timed alone on the run's state, its
indexes already built, so each is charged for its own work; they are listed slowest first, and
any whose time grows clearly faster than the cluster is named. Exits 1 when an analyzer raised
or could not be loaded.

    python benchmarks/analyze.py                    # 1,000 / 5,000 / 20,000 pods
    python benchmarks/analyze.py --pods 50000 --per-analyzer
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass, field

from synthetic import NOW, Obj, build

from k8sdoctor.analysis.engine import run_analyzers
from k8sdoctor.analysis.registry import Analyzer, discover
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.state import ClusterState, Scope

SUPERLINEAR = 1.25
"""A growth exponent above this (time ~ pods^k) is clearly faster than linear."""
NOISE_FLOOR = 0.05
"""Seconds: below this at the largest size, an exponent is mostly timer noise."""
REPEATS = 3
"""Per-analyzer times are the best of this many runs."""


@dataclass
class Figures:
    pods: int
    objects: int
    load_seconds: float
    analysis_seconds: float
    peak_bytes: int
    findings: int
    errors: list[str]
    per_analyzer: dict[str, tuple[float, int]] = field(default_factory=dict)
    """Analyzer name -> (seconds alone, findings)."""


def measure(pods: int, analyzers: Sequence[Analyzer], *, per_analyzer: bool) -> Figures:
    objects = dict(build(pods).objects)
    started = time.perf_counter()
    state = ClusterState(objects, now=NOW)
    findings, errors = run_analyzers(state, analyzers)
    elapsed = time.perf_counter() - started
    # a second pass for memory: tracemalloc slows every allocation several times over
    tracemalloc.start()
    run_analyzers(ClusterState(objects, now=NOW), analyzers)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures = Figures(len(objects["Pod"]), sum(map(len, objects.values())), _load_seconds(objects),
                      elapsed, peak, len(findings),
                      [f"{error.subject}: {error.message}" for error in errors])
    if per_analyzer:
        # Each on the run's state, its indexes already built (in a full run the first analyzer
        # to use one pays for it), with the input out of the cyclic GC's reach: otherwise a full
        # collection over millions of input objects lands on whichever analyzer runs then.
        gc.collect()
        gc.freeze()
        try:
            for analyzer in analyzers:
                figures.per_analyzer[analyzer.name] = _best_of(REPEATS, state, analyzer)
        finally:
            gc.unfreeze()
    return figures


def _best_of(repeats: int, state: ClusterState, analyzer: Analyzer) -> tuple[float, int]:
    times, found = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        found = len(run_analyzers(state, [analyzer])[0])
        times.append(time.perf_counter() - started)
    return min(times), found


def _load_seconds(objects: dict[str, list[Obj]]) -> float:
    """Seconds to read the cluster back from a ``kubectl get -o json`` List file."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as snapshot:
        items = [obj for kind_items in objects.values() for obj in kind_items]
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, snapshot)
        snapshot.flush()
        started = time.perf_counter()
        SnapshotSource(snapshot.name).load((), Scope())
        return time.perf_counter() - started


def exponent(small: tuple[int, float], large: tuple[int, float]) -> float:
    """k in time ~ pods^k between two sizes: 1 is linear, 2 quadratic."""
    (pods_small, seconds_small), (pods_large, seconds_large) = small, large
    if seconds_small <= 0 or pods_large == pods_small:
        return float("nan")
    return math.log(seconds_large / seconds_small) / math.log(pods_large / pods_small)


def report(figures: Figures, analyzers: int) -> list[str]:
    lines = [f"{figures.pods:>7,} pods {figures.objects:>8,} objects | snapshot load "
             f"{figures.load_seconds:6.2f} s | {analyzers} analyzers "
             f"{figures.analysis_seconds:6.2f} s, peak +{figures.peak_bytes / 2**20:6.1f} MiB | "
             f"{figures.findings:>6,} findings, {len(figures.errors)} errors"]
    lines += [f"    error: {error}" for error in figures.errors]
    ranked = sorted(figures.per_analyzer.items(), key=lambda item: -item[1][0])
    lines += [f"    {name:<14} {seconds:7.3f} s {found:>7,} findings"
              for name, (seconds, found) in ranked]
    return lines


def growth(runs: Sequence[Figures]) -> list[str]:
    """How time grew between the two largest sizes, overall and per analyzer: below a few
    thousand pods the working set fits in the processor's caches and fixed costs weigh, so
    growth from there overstates the exponent."""
    small, large = sorted(runs, key=lambda f: f.pods)[-2:]
    factor = large.pods / small.pods
    total = exponent((small.pods, small.analysis_seconds), (large.pods, large.analysis_seconds))
    load = exponent((small.pods, small.load_seconds), (large.pods, large.load_seconds))

    def judged(k: float) -> str:
        return f"~ pods^{k:.2f}" + (", superlinear" if k > SUPERLINEAR else "")

    lines = [f"growth {small.pods:,} -> {large.pods:,} pods (x{factor:.0f}): analysis "
             f"x{large.analysis_seconds / small.analysis_seconds:.1f} ({judged(total)}), "
             f"snapshot load x{large.load_seconds / small.load_seconds:.1f} ({judged(load)})"]
    exponents = {name: exponent((small.pods, small.per_analyzer[name][0]),
                                (large.pods, seconds))
                 for name, (seconds, _) in large.per_analyzer.items()
                 if name in small.per_analyzer}
    superlinear = [name for name, k in exponents.items()
                   if k > SUPERLINEAR and large.per_analyzer[name][0] >= NOISE_FLOOR]
    if exponents:
        ranked = sorted(exponents.items(),
                        key=lambda item: math.inf if math.isnan(item[1]) else -item[1])
        lines.append("    " + ", ".join(f"{name} ^{k:.2f}" for name, k in ranked))
        lines.append(f"    superlinear (above ^{SUPERLINEAR}, {NOISE_FLOOR} s or more): "
                     + (", ".join(superlinear) if superlinear else "none"))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pods", type=int, action="append",
                        help="cluster size in pods (repeatable; default 1,000, 5,000, 20,000)")
    parser.add_argument("--per-analyzer", action="store_true",
                        help="also time each analyzer alone, slowest first")
    args = parser.parse_args()
    analyzers, load_errors = discover()
    for error in load_errors:
        print(f"not loaded: {error.subject}: {error.message}")
    print("snapshot load = parsing a JSON List file; analysis = state indexes + every installed "
          "analyzer (peak = memory allocated while analyzing)")
    if args.per_analyzer:
        print(f"per analyzer: best of {REPEATS} on the run's state, its indexes already built "
              "(events re-runs the default analyzers)")
    runs = []
    for size in args.pods or [1_000, 5_000, 20_000]:
        runs.append(measure(size, analyzers, per_analyzer=args.per_analyzer))
        print("\n".join(report(runs[-1], len(analyzers))), flush=True)
    if len(runs) > 1:
        print("\n".join(growth(runs)))
    return 1 if any(run.errors for run in runs) or load_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
