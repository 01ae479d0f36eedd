"""docs/ci.md's GitHub Actions and GitLab CI jobs, run as written on the bundled demo cluster:
the adopt step, then each job's k8sdoctor commands through bash, with ``k8sdoctor snapshot``
answered by the demo's snapshot (there is no cluster here) and everything else unchanged."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from tests.helpers import DEMO, REPOSITORY
from tests.platform.test_sarif_score import sarif_errors

CI_DOC = REPOSITORY / "docs" / "ci.md"
WRAPPER = """
k8sdoctor() {
  if [ "$1" = snapshot ]; then cp "$DEMO_SNAPSHOT" "$3"; return; fi
  case " $* " in
    *" --snapshot "*) command k8sdoctor "$@" ;;
    *) command k8sdoctor "$@" --snapshot "$DEMO_SNAPSHOT" ;;
  esac
}
"""


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", CI_DOC.read_text(encoding="utf-8"), re.S)


def github_job() -> dict[str, Any]:
    return next(d for d in map(yaml.safe_load, blocks("yaml")) if "jobs" in d)


def gitlab_job() -> dict[str, Any]:
    return next(d for d in map(yaml.safe_load, blocks("yaml")) if "k8sdoctor" in d)["k8sdoctor"]


def bash(script: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DEMO_SNAPSHOT": str(DEMO), "GITHUB_STEP_SUMMARY": str(workdir / "summary.md"),
           "NO_COLOR": "1"}
    return subprocess.run(["bash", "-eo", "pipefail", "-c", WRAPPER + script], cwd=workdir,
                          env=env, capture_output=True, text=True, timeout=300)


def k8sdoctor_lines(commands: list[str]) -> list[str]:
    return [c for c in commands if c.strip().startswith("k8sdoctor ")]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (adopt,) = [b for b in blocks("sh") if "--write-baseline" in b]
    done = bash("\n".join(k8sdoctor_lines(adopt.splitlines())), tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / ".k8sdoctor" / "baseline.json").is_file()
    return tmp_path


def test_the_github_job_runs_on_the_demo(repo: Path) -> None:
    steps = github_job()["jobs"]["k8sdoctor"]["steps"]
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif") for s in steps)
    runs = k8sdoctor_lines([s["run"] for s in steps if "run" in s and "KUBECONFIG" not in s["run"]])
    assert len(runs) == 3
    for script in runs:
        done = bash(script, repo)
        assert done.returncode == 0, (script, done.stderr)
    sarif = json.loads((repo / "k8sdoctor.sarif").read_text())
    assert sarif_errors(sarif) == []
    assert sarif["runs"][0]["results"]
    assert {r["baselineState"] for r in sarif["runs"][0]["results"]} == {"unchanged"}
    assert "k8sdoctor" in (repo / "summary.md").read_text()
    report = json.loads((repo / "k8sdoctor.json").read_text())
    assert report["summary"]["baseline"]["new"] == 0


def test_the_gitlab_job_runs_on_the_demo(repo: Path) -> None:
    job = gitlab_job()
    assert job["artifacts"]["reports"]["junit"] == "k8sdoctor-junit.xml"
    done = bash("\n".join(k8sdoctor_lines(job["script"])), repo)
    assert done.returncode == 0, done.stderr
    junit = ElementTree.parse(repo / "k8sdoctor-junit.xml").getroot()
    report = json.loads((repo / "k8sdoctor.json").read_text())
    # every root cause is known to the baseline: each is a skipped case, none fails
    assert int(junit.get("skipped")) == report["summary"]["rootCauses"] > 0
    assert int(junit.get("failures")) == 0
    assert junit.get("failures") == "0"


def test_the_gate_fails_when_the_cluster_gets_worse(repo: Path) -> None:
    """The same GitLab job, after the demo's healthy frontend lost its ConfigMap."""
    document = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    removed = next(o for o in document["items"] if o["kind"] == "ConfigMap"
                   and o["metadata"]["namespace"] == "shop"
                   and o["metadata"]["name"] == "frontend-config")
    document["items"].remove(removed)
    worse = repo / "worse.yaml"
    worse.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    env_script = "\n".join(k8sdoctor_lines(gitlab_job()["script"]))
    done = bash(f"DEMO_SNAPSHOT={worse}\n{env_script}", repo)
    assert done.returncode == 1, done.stderr
    junit = ElementTree.parse(repo / "k8sdoctor-junit.xml").getroot()
    assert int(junit.get("failures")) >= 1
    failed = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert failed and all("shop/frontend" in name for name in failed), failed
