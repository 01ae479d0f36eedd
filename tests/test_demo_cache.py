"""The demo's parsed copy: later runs read it instead of parsing demo.yaml again, and whatever
happens to the copy, the report is the one demo.yaml gives."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from k8sdoctor.cluster.demo import DemoSource, demo_source
from k8sdoctor.cluster.snapshot import SnapshotSource
from k8sdoctor.cluster.source import ClusterSource
from k8sdoctor.cluster.state import Scope
from k8sdoctor.report import OutputFormat, render
from k8sdoctor.run import analyze
from tests.helpers import DEMO


def report_json(source: ClusterSource) -> dict[str, Any]:
    report = json.loads(render(analyze(source, Scope()), OutputFormat.JSON))
    report["metadata"].pop("generatedAt", None)
    return report


def copies(cache: Path) -> list[Path]:
    return sorted(cache.glob("demo-*.json"))


def test_the_first_run_keeps_a_copy_and_every_run_reports_what_demo_yaml_says(
    tmp_path: Path,
) -> None:
    expected = report_json(SnapshotSource(str(DEMO), label="demo cluster"))
    cache = tmp_path / "cache"
    first = report_json(DemoSource(DEMO, cache))
    assert len(copies(cache)) == 1
    second = report_json(DemoSource(DEMO, cache))
    assert first == second == expected


def test_later_runs_read_the_copy(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    report_json(DemoSource(DEMO, cache))
    [copy] = copies(cache)
    documents = json.loads(copy.read_text())
    documents[0]["items"] = [item for item in documents[0]["items"] if item["kind"] != "Pod"]
    copy.write_text(json.dumps(documents))
    state = DemoSource(DEMO, cache).load({"Pod"}, Scope()).state
    assert not state.objects("Pod")


def test_a_damaged_copy_costs_a_parse_not_an_error(tmp_path: Path) -> None:
    expected = report_json(SnapshotSource(str(DEMO), label="demo cluster"))
    cache = tmp_path / "cache"
    report_json(DemoSource(DEMO, cache))
    [copy] = copies(cache)
    copy.write_bytes(copy.read_bytes()[:1000])
    assert report_json(DemoSource(DEMO, cache)) == expected
    assert json.loads(copy.read_text())  # and it is written whole again


def test_a_cache_that_cannot_be_written_costs_only_the_parse(tmp_path: Path) -> None:
    expected = report_json(SnapshotSource(str(DEMO), label="demo cluster"))
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    assert report_json(DemoSource(DEMO, not_a_directory / "k8sdoctor")) == expected
    assert report_json(DemoSource(DEMO, None)) == expected


def test_a_changed_demo_gets_its_own_copy(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    changed = tmp_path / "demo.yaml"
    shutil.copy(DEMO, changed)
    report_json(DemoSource(DEMO, cache))
    with changed.open("a", encoding="utf-8") as handle:
        handle.write("\n# changed\n")
    report_json(DemoSource(changed, cache))
    assert len(copies(cache)) == 2


def test_the_copy_lives_in_the_xdg_cache_directory(tmp_path: Path) -> None:
    with ExitStack() as stack:
        source = demo_source(stack, {"XDG_CACHE_HOME": str(tmp_path)})
        report_json(source)
    assert len(copies(tmp_path / "k8sdoctor")) == 1


def test_two_runs_of_the_command_agree_and_leave_only_the_copy(tmp_path: Path) -> None:
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    runs = [subprocess.run([sys.executable, "-m", "k8sdoctor", "analyze", "--demo", "-o", "json"],
                           capture_output=True, text=True, timeout=120, env=environ)
            for _ in range(2)]
    assert [run.returncode for run in runs] == [0, 0], runs[0].stderr
    first, second = (json.loads(run.stdout) for run in runs)
    for report in (first, second):
        report["metadata"].pop("generatedAt", None)
    assert first == second
    assert [p.name for p in (tmp_path / "cache" / "k8sdoctor").iterdir()] == [
        p.name for p in copies(tmp_path / "cache" / "k8sdoctor")]
