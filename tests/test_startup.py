"""Heavy libraries load only where they are used, so ``k8sdoctor --help`` and snapshot runs start
fast: checked by which modules a fresh interpreter ends up with, not by timing it."""

from __future__ import annotations

import json
import subprocess
import sys

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
