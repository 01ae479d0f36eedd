"""Analyzer plugins load one by one: a broken, mistyped or repeated one is reported, not fatal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from k8sdoctor.analysis.registry import ENTRY_POINT_GROUP, discover


def test_broken_plugins_are_reported_and_the_others_load(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = [
        EntryPoint("deployment", "k8sdoctor.analyzers.deployment:ANALYZER", ENTRY_POINT_GROUP),
        EntryPoint("ghost", "k8sdoctor_ghost_plugin:ANALYZER", ENTRY_POINT_GROUP),
        EntryPoint("wrong", "k8sdoctor.analyzers.deployment:analyze", ENTRY_POINT_GROUP),
        EntryPoint("again", "k8sdoctor.analyzers.deployment:ANALYZER", ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr("k8sdoctor.plugins.entry_points", lambda group: installed)
    analyzers, errors = discover()
    assert [a.name for a in analyzers] == ["deployment"]
    assert [(e.stage, e.subject) for e in errors] == [
        ("plugin", "ghost"), ("plugin", "wrong"), ("plugin", "again")]
    assert "ModuleNotFoundError" in errors[0].message
    assert errors[1].message.endswith("is not a k8sdoctor Analyzer")
    assert errors[2].message == "another plugin already provides analyzer 'deployment'"


def _readme_plugin_example() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Writing an analyzer plugin", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_plugin_installed_as_a_distribution_appears_and_runs(tmp_path: Path) -> None:
    """The README's example, installed the way pip lays out a wheel (module + dist-info with
    entry_points.txt), is listed by ``k8sdoctor analyzers`` and runs with ``-a team-label``."""
    site = tmp_path / "site"
    (site / "my_package").mkdir(parents=True)
    (site / "my_package" / "__init__.py").write_text("")
    (site / "my_package" / "team_label.py").write_text(_readme_plugin_example())
    dist_info = site / "my_package-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-package\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nteam-label = my_package.team_label:ANALYZER\n")
    env = {**os.environ, "PYTHONPATH": str(site)}

    listing = subprocess.run([sys.executable, "-m", "k8sdoctor", "analyzers"], env=env,
                             capture_output=True, text=True, check=True)
    assert "team-label" in listing.stdout

    snapshot = tmp_path / "pod.yaml"
    snapshot.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web-0, namespace: shop, "
        "creationTimestamp: '2026-11-20T09:00:00Z'}\nspec: {containers: [{name: app, "
        "image: nginx}]}\nstatus: {phase: Running}\n")
    run = subprocess.run(
        [sys.executable, "-m", "k8sdoctor", "analyze", "--snapshot", str(snapshot),
         "-a", "team-label", "-o", "json"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    findings = json.loads(run.stdout)["findings"]
    assert [(f["analyzer"], f["reason"], f["name"]) for f in findings] == [
        ("team-label", "MissingTeamLabel", "web-0")]
