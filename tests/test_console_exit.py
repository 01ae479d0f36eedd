"""The ``k8sdoctor`` program (``console_main``) ends with a hard exit that skips freeing the
analysis: the output must still arrive whole, and the exit code must be ``main``'s."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from k8sdoctor.exitcodes import ExitCode


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    # buffered, as a terminal-less run is: what is not flushed before the hard exit is lost
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-m", "k8sdoctor", *arguments], capture_output=True,
                          text=True, timeout=120, check=False, env=environment)


def test_the_report_arrives_whole_with_the_gate_exit_code() -> None:
    completed = _run("analyze", "--demo", "-o", "json", "--details", "--fail-on", "error")
    assert completed.returncode == ExitCode.FINDINGS, completed.stderr
    report = json.loads(completed.stdout)  # whole: a cut document would not parse
    assert len(completed.stdout) > 65536  # more than a pipe holds, so it was written while read
    assert report["summary"]["findings"] == len(report["findings"])


def test_bad_input_keeps_its_exit_code_and_one_line() -> None:
    completed = _run("analyze", "--snapshot", "/nonexistent/cluster.yaml")
    assert completed.returncode == ExitCode.USAGE
    assert completed.stderr.count("\n") == 1
    assert "no such file" in completed.stderr


def test_a_usage_error_keeps_typer_exit_code() -> None:
    completed = _run("analyze", "--no-such-flag")
    assert completed.returncode == ExitCode.USAGE
    assert "No such option" in completed.stderr
