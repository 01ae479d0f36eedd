"""How fast k8sdoctor starts (``--help``, ``--version``, the demo), whole process, vs targets.

Each command runs ``--runs`` times as a child process (wall time from the clock, CPU time and
peak RSS from ``wait4``, as ``/usr/bin/time`` gives them); medians and minimums are printed with
the load average, since on a shared machine the wall time carries other people's work and the
CPU time much less. Floors on the same interpreter show what is not k8sdoctor's own: Python
starting, and importing typer.

Runs are as a user's: the bytecode cache on (each command runs once before the clock, so its
``.pyc`` files exist, even where ``PYTHONDONTWRITEBYTECODE`` is set around the benchmark), and
the demo with its parsed copy cached as after a first run; ``demo, first run`` starts each run
with an empty cache directory.

    python benchmarks/startup.py                 # 7 runs each
    python benchmarks/startup.py --runs 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
TARGETS = {"k8sdoctor --help": 0.2, "k8sdoctor analyze --demo": 0.5}
"""Wall-time targets in seconds (issue 13: nothing regresses)."""


@dataclass(frozen=True)
class Usage:
    """One child process: wall seconds, CPU seconds (user + system), peak RSS in MiB."""

    wall: float
    cpu: float
    rss: float


def run_child(command: list[str], env: dict[str, str]) -> Usage:
    """Run ``command`` to its end, its output discarded, and return what it used."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(command)} exited {code}:\n"
                         f"{errors.decode(errors='replace')[-2000:]}")
    return Usage(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def k8sdoctor(*arguments: str) -> list[str]:
    """The console script beside this interpreter, as a user runs it; else ``-m k8sdoctor``."""
    script = Path(PYTHON).with_name("k8sdoctor")
    return [str(script), *arguments] if script.exists() else [PYTHON, "-m", "k8sdoctor",
                                                               *arguments]


def measure(name: str, command: list[str], env: dict[str, str], runs: int,
            fresh_cache: bool = False) -> str:
    run_child(command, env)  # writes the .pyc files (and the demo's parsed copy)
    usages = []
    for _ in range(runs):
        if fresh_cache:
            with tempfile.TemporaryDirectory(prefix="k8sdoctor-startup-") as cache:
                usages.append(run_child(command, {**env, "XDG_CACHE_HOME": cache}))
        else:
            usages.append(run_child(command, env))
    wall = statistics.median(u.wall for u in usages)
    cpu = statistics.median(u.cpu for u in usages)
    rss = statistics.median(u.rss for u in usages)
    target = TARGETS.get(name)
    verdict = "" if target is None else (
        f"  target {target:.1f} s: {'met' if wall <= target else 'MISSED'}")
    return (f"{name:<34} {wall:>6.3f} {min(u.wall for u in usages):>6.3f} {cpu:>6.3f} "
            f"{rss:>6.0f}{verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure (median shown)")
    args = parser.parse_args()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["NO_COLOR"] = "1"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average at start {load}; {args.runs} runs each; "
          f"Python {sys.version.split()[0]}")
    print(f"{'command':<34} {'wall':>6} {'min':>6} {'CPU':>6} {'MiB':>6}   (seconds; median "
          "wall, fastest wall, median CPU, median peak RSS)")
    with tempfile.TemporaryDirectory(prefix="k8sdoctor-startup-") as cache:
        env["XDG_CACHE_HOME"] = cache  # the demo's parsed copy; never the user's own cache
        rows = [
            ("python -c pass (floor)", [PYTHON, "-c", "pass"], False),
            ("python -c 'import typer' (floor)", [PYTHON, "-c", "import typer"], False),
            ("k8sdoctor --help", k8sdoctor("--help"), False),
            ("k8sdoctor --version", k8sdoctor("--version"), False),
            ("k8sdoctor analyze --help", k8sdoctor("analyze", "--help"), False),
            ("k8sdoctor analyze --demo", k8sdoctor("analyze", "--demo"), False),
            ("analyze --demo, first run", k8sdoctor("analyze", "--demo"), True),
            ("analyze --demo -o json", k8sdoctor("analyze", "--demo", "-o", "json"), False),
        ]
        for name, command, fresh in rows:
            print(measure(name, command, env, args.runs, fresh_cache=fresh), flush=True)
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
