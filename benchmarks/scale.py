"""k8sdoctor against the physical floor, whole process, at several cluster sizes, in one run.

For each size (2,000 / 10,000 / 20,000 pods; 100,000 as well with ``--huge``) a separate process
(``loopback.py``) builds the synthetic cluster (every kind the analyzers read, a few percent
broken, about five events a pod) and serves its Lists from pages encoded before the clock runs.
Then, ``--runs`` times each (median shown):

- **k8sdoctor live**: ``k8sdoctor analyze -o json`` against that server, as a child process;
- **floor**: the very GETs k8sdoctor made (taken from the server's log), one after another on one
  urllib3 connection, each body through ``json.loads`` and dropped, the cyclic GC off: the least a
  client can spend to fetch and parse the same data;
- **floor keeping**: the same, keeping every parsed page: the least memory that holds every object;
- **k8sdoctor snapshot**: ``k8sdoctor analyze --snapshot FILE -o json`` on the same objects written
  as ``kubectl get -o json`` prints a List;
- **json.load**: ``json.load`` of that file, whole process.

Every figure is the whole child process, as ``/usr/bin/time -v`` gives it (``wait4``): wall time,
CPU time (user + system; less noisy than wall on a shared machine) and peak RSS. The load average
is printed with the figures. Growth exponents (time ~ pods^k) are taken between the smallest and
largest sizes. Once per run it also times ``k8sdoctor --help``, the demo, and rendering a
10,000-finding report as ``-o json``.

    python benchmarks/scale.py                      # 2k, 10k, 20k pods, 3 runs each
    python benchmarks/scale.py --huge --runs 1      # and 100k pods
    python benchmarks/scale.py --pods 2000 -a all   # one size, every analyzer
    python3 -m venv user-env && user-env/bin/pip install .    # k8sdoctor as a user has it
    python benchmarks/scale.py --python user-env/bin/python
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
"""Runs the loopback server and the report rendering (they import the repository's code)."""
CLIENT_PYTHON = PYTHON
"""Runs k8sdoctor, the floors and json.load: ``--python``, an environment k8sdoctor is installed
in as a user installs it (``pip install .``), without the test dependencies, one of which
(kubernetes-validate) the kubernetes client imports on start when it is there."""
TOKEN = "benchmark-token"
SIZES = (2_000, 10_000, 20_000)
HUGE = 100_000
REPORT_FINDINGS = 10_000
CHILD_ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
             "NO_COLOR": "1"}
"""As a user runs it: compiled modules are written once and read after (a shell that forbids
writing them would make every run compile k8sdoctor again)."""


@dataclass(frozen=True)
class Usage:
    """One child process: wall seconds, CPU seconds (user + system), peak RSS in MiB."""

    wall: float
    cpu: float
    rss: float


def run_child(command: list[str], *, stdout: int | None = subprocess.DEVNULL,
              silent: bool = False) -> Usage:
    """Run ``command`` to its end and return what it used, from ``wait4``; with ``silent``, a
    line on its stderr (a warning: a kind not listed, an analyzer not loaded) ends the benchmark,
    as the figures would not be of a whole run."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, env=CHILD_ENV)
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1) or (silent and errors):
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}:\n"
                         f"{errors.decode(errors='replace')[-2000:]}")
    return Usage(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def median(usages: list[Usage]) -> Usage:
    return Usage(statistics.median(u.wall for u in usages),
                 statistics.median(u.cpu for u in usages),
                 statistics.median(u.rss for u in usages))


def k8sdoctor(*arguments: str) -> list[str]:
    # -P: the k8sdoctor installed in CLIENT_PYTHON's environment, never a directory of that name
    # beside the working directory
    return [CLIENT_PYTHON, "-P", "-m", "k8sdoctor", *arguments]


# -- one size -------------------------------------------------------------------------------------


@dataclass
class SizeFigures:
    pods: int
    events: int
    objects: int
    list_mib: float
    snapshot_mib: float
    requests: int
    live: Usage
    floor: Usage
    floor_keep: Usage
    snapshot: Usage
    json_load: Usage


def measure_size(pods: int, runs: int, analyzers: list[str], workdir: Path) -> SizeFigures:
    print(f"building and encoding {pods:,} pods...", file=sys.stderr, flush=True)
    server = subprocess.Popen([PYTHON, str(HERE / "loopback.py"), "--pods", str(pods),
                               "--dir", str(workdir)], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            raise SystemExit("the loopback server did not start")
        info = json.loads(line)
        live, floor, keep, requests = [], [], [], 0
        replay = workdir / "requests.json"
        analyze = ["analyze", "--kubeconfig", info["kubeconfig"], "-o", "json", *analyzers]
        for _ in range(runs):
            _served(info["url"])
            live.append(run_child(k8sdoctor(*analyze), silent=True))
            served = _served(info["url"])
            requests = len(served)
            replay.write_text(json.dumps(served))
            floor.append(run_child(_floor(info["url"], replay, keep=False)))
            keep.append(run_child(_floor(info["url"], replay, keep=True)))
        snapshot = [run_child(k8sdoctor("analyze", "--snapshot", info["snapshot"], "-o", "json",
                                        *analyzers), silent=True) for _ in range(runs)]
        json_load = [run_child([CLIENT_PYTHON, "-c",
                                "import json, sys; json.load(open(sys.argv[1]))",
                                info["snapshot"]]) for _ in range(runs)]
    finally:
        server.terminate()
        server.wait()
    return SizeFigures(info["pods"], info["events"], info["objects"], info["list_bytes"] / 2**20,
                       info["snapshot_bytes"] / 2**20, requests, median(live), median(floor),
                       median(keep), median(snapshot), median(json_load))


def _served(url: str) -> list[list[str]]:
    with urllib.request.urlopen(f"{url}/_log") as answer:
        return json.load(answer)


def _floor(url: str, replay: Path, *, keep: bool) -> list[str]:
    return [CLIENT_PYTHON, __file__, "--floor", str(replay), "--url", url,
            *(["--keep"] if keep else [])]


def floor_child(url: str, replay: Path, keep: bool) -> None:
    """The floor: the same GETs, one connection, ``json.loads``, the cyclic GC off."""
    import gc

    import urllib3

    gc.disable()
    requests = json.loads(replay.read_text())
    pool = urllib3.PoolManager(maxsize=1)
    kept = []
    for path, accept in requests:
        answer = pool.request("GET", url + path, headers={
            "Accept": accept, "Authorization": f"Bearer {TOKEN}"})
        if answer.status == 404 and "/log?" in path:
            continue  # the previous log of a container that never ran: k8sdoctor got it too
        if answer.status != 200:
            raise SystemExit(f"GET {path}: {answer.status}")
        # a container log is text, which k8sdoctor does not parse either
        document = json.loads(answer.data) if "json" in accept else answer.data
        if keep:
            kept.append(document)


# -- once per run ---------------------------------------------------------------------------------


def render_child(snapshot: str) -> None:
    """Seconds to render a report of ``REPORT_FINDINGS`` findings as ``-o json`` (best of 3):
    the findings of ``snapshot`` with every analyzer, repeated on renamed objects. The new name
    goes into the message, evidence and remediation too, as a finding on another pod quotes that
    pod, so the texts differ as real ones do and redaction, which works once per distinct text,
    does its full work; how many distinct texts there are is printed with the figure."""
    from dataclasses import replace

    from k8sdoctor.analysis import Finding
    from k8sdoctor.cluster.snapshot import SnapshotSource
    from k8sdoctor.cluster.state import Scope
    from k8sdoctor.report import OutputFormat, render
    from k8sdoctor.run import analyze

    def renamed(finding: Finding, index: int) -> Finding:
        old, new = finding.name, f"{finding.name}-{index}"
        return replace(finding, name=new, message=finding.message.replace(old, new),
                       evidence=tuple(line.replace(old, new) for line in finding.evidence),
                       remediation=tuple(line.replace(old, new) for line in finding.remediation))

    report = analyze(SnapshotSource(snapshot), Scope(), ["all"])
    found = list(report.findings)
    findings = [renamed(found[i % len(found)], i) for i in range(REPORT_FINDINGS)]
    big = replace(report, findings=findings)
    texts = {text for f in findings for text in (f.message, *f.evidence, *f.remediation)}
    times = []
    for _ in range(3):
        started = time.perf_counter()
        text = render(big, OutputFormat.JSON)
        times.append(time.perf_counter() - started)
    print(json.dumps({"seconds": min(times), "bytes": len(text), "texts": len(texts)}))


def startup_figures(runs: int, snapshot: str) -> list[str]:
    help_run = median([run_child(k8sdoctor("--help")) for _ in range(runs)])
    demo = median([run_child(k8sdoctor("analyze", "--demo")) for _ in range(runs)])
    rendered = subprocess.run([PYTHON, __file__, "--render", snapshot], capture_output=True,
                              text=True, check=True)
    json_render = json.loads(rendered.stdout)
    return [f"k8sdoctor --help: {help_run.wall:.2f} s wall; analyze --demo: {demo.wall:.2f} s "
            f"wall; -o json of {REPORT_FINDINGS:,} findings ({json_render['texts']:,} distinct "
            f"texts): {json_render['seconds']:.3f} s ({json_render['bytes'] / 2**20:.1f} MiB)"]


# -- printing -------------------------------------------------------------------------------------


def table(sizes: list[SizeFigures]) -> list[str]:
    head = (f"{'pods':>7} {'events':>7} {'objects':>8} {'MiB':>6} {'GETs':>5} | "
            f"{'path':<20} {'wall s':>7} {'CPU s':>7} {'RSS MiB':>8} | "
            f"{'x wall':>6} {'x CPU':>6} {'x RSS':>6}")
    lines = [head, "-" * len(head)]
    for s in sizes:
        rows = [("k8sdoctor live", s.live, s.floor, s.floor_keep),
                ("floor (drop)", s.floor, None, None),
                ("floor (keep all)", s.floor_keep, None, None),
                ("k8sdoctor snapshot", s.snapshot, s.json_load, s.json_load),
                ("json.load", s.json_load, None, None)]
        for index, (name, usage, cpu_floor, rss_floor) in enumerate(rows):
            lead = (f"{s.pods:>7,} {s.events:>7,} {s.objects:>8,} {s.list_mib:>6.1f} "
                    f"{s.requests:>5}" if index == 0 else
                    f"{'':>7} {'':>7} {'':>8} {s.snapshot_mib:>6.1f} {'':>5}" if index == 3 else
                    " " * 37)
            ratios = ""
            if cpu_floor is not None and rss_floor is not None:
                ratios = (f"{usage.wall / cpu_floor.wall:>6.2f} {usage.cpu / cpu_floor.cpu:>6.2f} "
                          f"{usage.rss / rss_floor.rss:>6.2f}")
            lines.append(f"{lead} | {name:<20} {usage.wall:>7.2f} {usage.cpu:>7.2f} "
                         f"{usage.rss:>8.0f} | {ratios}")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]

        def k(a: float, b: float) -> str:
            return f"^{math.log(b / a) / math.log(large.pods / small.pods):.2f}"

        lines.append(f"growth {small.pods:,} -> {large.pods:,} pods, CPU: k8sdoctor live "
                     f"{k(small.live.cpu, large.live.cpu)}, floor "
                     f"{k(small.floor.cpu, large.floor.cpu)}, snapshot "
                     f"{k(small.snapshot.cpu, large.snapshot.cpu)}; peak RSS: live "
                     f"{k(small.live.rss, large.live.rss)}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pods", type=int, action="append",
                        help="cluster size (repeatable; default 2,000, 10,000 and 20,000)")
    parser.add_argument("--huge", action="store_true", help=f"add {HUGE:,} pods")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure; the median shows")
    parser.add_argument("-a", "--analyzer", action="append", default=[],
                        help="passed to k8sdoctor analyze (default: its default analyzers)")
    parser.add_argument("--python", metavar="PATH",
                        help="the interpreter that runs k8sdoctor and the floors (default: this "
                             "one); one where k8sdoctor is installed without its test extras "
                             "measures it as users run it")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--render", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor_child(args.url, args.floor, args.keep)
        return 0
    if args.render:
        render_child(args.render)
        return 0
    if args.python:
        global CLIENT_PYTHON
        CLIENT_PYTHON = args.python
    sizes = sorted(set(args.pods or SIZES) | ({HUGE} if args.huge else set()))
    analyzers = [f"--analyzer={name}" for name in args.analyzer]
    print(f"{os.cpu_count()} cores, load average at start "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; medians of {args.runs} runs; "
          f"analyzers: {', '.join(args.analyzer) or 'default'}; k8sdoctor and floors run by "
          f"{'--python' if args.python else 'this interpreter'}")
    print("x wall, x CPU: k8sdoctor live / floor (drop), snapshot / json.load; "
          "x RSS: live / floor (keep all), snapshot / json.load")
    # compiled once before any clock runs, as an installed package is
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(HERE.parent / "k8sdoctor"),
                    str(HERE.parent / "analyzers")], env=CHILD_ENV, check=True)
    run_child(k8sdoctor("--version"))
    figures = []
    with tempfile.TemporaryDirectory(prefix="k8sdoctor-scale-") as tmp:
        for pods in sizes:
            workdir = Path(tmp) / str(pods)
            workdir.mkdir()
            figures.append(measure_size(pods, args.runs, analyzers, workdir))
            print(f"... {pods:,} pods done, load average "
                  f"{os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
        extra = startup_figures(args.runs, str(Path(tmp) / str(sizes[0]) / "snapshot.json"))
    print("\n".join(table(figures) + extra))
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
