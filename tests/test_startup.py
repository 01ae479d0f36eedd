"""Heavy libraries load only where they are used, so ``k8sdoctor --help`` and snapshot runs start
fast: checked by which modules a fresh interpreter ends up with, not by timing it
(``benchmarks/startup.py`` times it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LIVE_CLUSTER

HEAVY = ("kubernetes", "openai", "ollama", "prometheus_client", "mcp")

REPORT = (
    "import json, sys\n"
    f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
)


def heavy_modules_after(code: str) -> list[str]:
    """The heavy top-level packages a fresh interpreter has loaded after running ``code``."""
    done = subprocess.run([sys.executable, "-c", code + "\n" + REPORT],
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert heavy_modules_after("import k8sdoctor.cli") == []


def test_help_imports_no_heavy_library() -> None:
    code = ("from k8sdoctor.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "try:\n    main(['analyze', '--help'])\nexcept SystemExit:\n    pass")
    assert heavy_modules_after(code) == []


def test_a_snapshot_run_never_imports_the_kubernetes_client() -> None:
    code = ("import io, contextlib\nfrom k8sdoctor.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            f"        main(['analyze', '--snapshot', {str(LIVE_CLUSTER)!r}, '-a', 'all'])\n"
            "    except SystemExit:\n        pass")
    assert heavy_modules_after(code) == []


def test_the_live_source_loads_the_client_only_when_it_connects() -> None:
    assert heavy_modules_after("import k8sdoctor.cluster.live") == []


def test_the_check_sees_an_eager_import() -> None:
    assert heavy_modules_after("import kubernetes.client") == ["kubernetes"]


LIGHT_COMMANDS = (
    ["--help"], ["--version"], ["version"], ["analyze", "--help"], ["snapshot", "--help"],
    ["analyzers", "--help"], ["serve", "--help"], ["mcp", "--help"], ["backends", "--help"],
    ["backends", "check", "--help"], ["cache", "--help"], ["eval", "--help"],
)
NOT_FOR_HELP = (
    # what analysis needs: YAML, templates, cron parsing, the analyzers and the code around them
    "yaml", "jinja2", "croniter", "orjson",
    "k8sdoctor.analysis", "k8sdoctor.analyzers", "k8sdoctor.cluster", "k8sdoctor.run",
    "k8sdoctor.gate", "k8sdoctor.report.model", "k8sdoctor.explain.backends",
    "k8sdoctor.explain.config", "k8sdoctor.explain.session",
    # the entry-point scan for plugins
    "k8sdoctor.plugins",
)


def modules_after(code: str, environ: dict[str, str] | None = None) -> list[str]:
    """The modules of ``NOT_FOR_HELP`` and ``HEAVY`` (or under them) a fresh interpreter has
    loaded after running ``code``."""
    watched = (*NOT_FOR_HELP, *HEAVY)
    report = ("import json, sys\n"
              f"watched = {watched!r}\n"
              "print(json.dumps(sorted(m for m in sys.modules\n"
              "                        if any(m == w or m.startswith(w + '.') for w in watched))))"
              "\n")
    done = subprocess.run([sys.executable, "-c", code + "\n" + report], capture_output=True,
                          text=True, timeout=60, check=True, env=environ)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("arguments", LIGHT_COMMANDS, ids=" ".join)
def test_help_and_version_load_nothing_of_the_analysis(arguments: list[str]) -> None:
    code = ("import contextlib, io\nfrom k8sdoctor.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    try:\n        main({arguments!r})\n    except SystemExit as done:\n"
            "        assert done.code == 0, done.code")
    assert modules_after(code) == []


def test_shell_completion_answers_and_loads_nothing_of_the_analysis() -> None:
    environ = {**os.environ, "_K8SDOCTOR_COMPLETE": "complete_bash",
               "COMP_WORDS": "k8sdoctor analyze -o ", "COMP_CWORD": "3"}
    completed = subprocess.run([sys.executable, "-m", "k8sdoctor"], capture_output=True,
                               text=True, timeout=60, env=environ)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["text", "json", "yaml", "markdown", "junit", "sarif"]
    code = ("from k8sdoctor.cli import main\n"
            "try:\n    main([])\nexcept SystemExit:\n    pass")
    assert modules_after(code, environ) == []


def test_the_check_sees_the_analysis_loaded() -> None:
    assert "k8sdoctor.analysis.engine" in modules_after("import k8sdoctor.run")


def test_the_demo_read_from_its_parsed_copy_loads_no_yaml(tmp_path: Path) -> None:
    environ = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    code = ("import contextlib, io, sys\nfrom k8sdoctor.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['analyze', '--demo'])\n    except SystemExit:\n        pass\n"
            "print(json.dumps('yaml' in sys.modules))")
    runs = [subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True,
                           text=True, timeout=60, check=True, env=environ) for _ in range(2)]
    assert [json.loads(run.stdout.splitlines()[-1]) for run in runs] == [True, False]
