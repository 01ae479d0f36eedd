"""The text report's habits on and off a terminal (width, colour), several namespaces with a
warning for one that does not exist, and ``--min-severity``: on the demo, a snapshot and a live
(fake) API server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from k8sdoctor.errors import BadInputError
from k8sdoctor.options import parse_namespaces, stdout_render_options
from k8sdoctor.report import report_schema
from tests.conftest import LIVE_CLUSTER, CliResult, RunCli
from tests.fakeapi import FakeApiServer
from tests.helpers import DEMO

LONG_FIX = ("kubectl get pods -l app.kubernetes.io/instance=aws-vpc-cni,"
            "app.kubernetes.io/name=aws-node,k8s-app=aws-node -n kube-system -o wide")
"""A kubectl command longer than 80 columns, in the demo's report."""


def _json(result: CliResult) -> dict[str, Any]:
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


# -- width and colour ----------------------------------------------------------------------------


@pytest.mark.parametrize(("tty", "env", "width", "color"), [
    (False, {}, None, False),
    (False, {"COLUMNS": "100"}, 100, False),
    (False, {"COLUMNS": "12"}, 40, False),
    (False, {"COLUMNS": "wide"}, None, False),
    (False, {"FORCE_COLOR": "1"}, None, True),
    (False, {"FORCE_COLOR": "0"}, None, False),
    (False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, None, False),
    (True, {"COLUMNS": "132"}, 132, True),
    (True, {"COLUMNS": "132", "NO_COLOR": "1"}, 132, False),
    (True, {"COLUMNS": "132", "TERM": "dumb"}, 132, False),
])
def test_width_and_colour_follow_the_terminal_and_the_environment(
    tty: bool, env: dict[str, str], width: int | None, color: bool
) -> None:
    options = stdout_render_options(tty, env)
    assert (options.width, options.color) == (width, color)


def test_piped_text_is_not_wrapped_so_commands_copy_whole(run_cli: RunCli) -> None:
    result = run_cli(["analyze", "--demo", "--details"])
    assert result.code == 0, result.stderr
    assert any(LONG_FIX in line for line in result.stdout.splitlines())
    assert "\x1b[" not in result.stdout


def test_columns_wraps_piped_text(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = run_cli(["analyze", "--demo", "--details"])
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert LONG_FIX not in result.stdout


def test_force_color_colours_piped_text(run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" in run_cli(["analyze", "--demo"]).stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run_cli(["analyze", "--demo"]).stdout


# -- several namespaces --------------------------------------------------------------------------


def test_namespaces_are_parsed_from_repeats_and_commas() -> None:
    assert parse_namespaces(["shop", "payments,ml", " shop ,"]) == ("shop", "payments", "ml")
    with pytest.raises(BadInputError, match="'Shop!' is not a valid namespace"):
        parse_namespaces(["Shop!"])


def test_several_namespaces_on_a_snapshot(run_cli: RunCli) -> None:
    repeated = _json(run_cli(["analyze", "--snapshot", str(DEMO), "-n", "shop", "-n",
                              "payments", "-o", "json"]))
    commas = _json(run_cli(["analyze", "--snapshot", str(DEMO), "-n", "shop,payments", "-o",
                            "json"]))
    assert [f["id"] for f in repeated["findings"]] == [f["id"] for f in commas["findings"]]
    namespaces = {f["namespace"] for f in repeated["findings"]}
    assert {"shop", "payments"} <= namespaces <= {"shop", "payments", None}


def test_a_namespace_that_does_not_exist_is_a_warning_not_a_silent_empty_report(
    run_cli: RunCli
) -> None:
    result = run_cli(["analyze", "--demo", "-n", "shop,shpo", "-o", "json"])
    assert result.code == 0
    assert result.stderr_lines == [
        "k8sdoctor: warning: namespace 'shpo' not found; nothing in it was analyzed"]
    assert any(f["namespace"] == "shop" for f in json.loads(result.stdout)["findings"])


def test_several_namespaces_on_a_live_cluster(fake_api: FakeApiServer, kubeconfig: Path,
                                              run_cli: RunCli) -> None:
    fake_api.load(LIVE_CLUSTER)
    result = run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-n", "shop", "-n",
                      "payments,nope", "-a", "pod", "-o", "json"])
    assert result.code == 0, result.stderr
    assert result.stderr_lines == [
        "k8sdoctor: warning: namespace 'nope' not found; nothing in it was analyzed"]
    assert {f["namespace"] for f in json.loads(result.stdout)["findings"]} == {"shop",
                                                                                "payments"}
    paths = fake_api.listed_paths()
    assert {"/api/v1/namespaces/shop/pods", "/api/v1/namespaces/payments/pods",
            "/api/v1/namespaces/nope/pods"} <= set(paths)
    assert "/api/v1/pods" not in paths


# -- --min-severity ------------------------------------------------------------------------------


def test_min_severity_keeps_whole_root_causes_at_or_above_it(run_cli: RunCli) -> None:
    everything = _json(run_cli(["analyze", "--demo", "-o", "json"]))
    critical = _json(run_cli(["analyze", "--demo", "-o", "json", "--min-severity", "critical"]))
    jsonschema.validate(critical, report_schema())
    causes = critical["rootCauses"]
    assert causes and all(c["severity"] == "critical" for c in causes)
    shown = [i for c in causes for i in c["findings"]]
    assert sorted(shown) == sorted(f["id"] for f in critical["findings"])
    assert len(shown) == len(set(shown))
    hidden = critical["metadata"]["filter"]
    assert hidden["minSeverity"] == "critical"
    assert hidden["hiddenRootCauses"] == len(everything["rootCauses"]) - len(causes) > 0
    assert hidden["hiddenFindings"] == len(everything["findings"]) - len(shown) > 0


def test_min_severity_decides_what_the_exit_code_judges(run_cli: RunCli) -> None:
    args = ["analyze", "--demo", "-o", "json", "--fail-on", "warning", "-a", "quota"]
    assert run_cli(args).code == 1
    quiet = run_cli([*args, "--min-severity", "error"])
    assert quiet.code == 0, quiet.stdout
    assert json.loads(quiet.stdout)["findings"] == []


def test_snapshot_command_takes_several_namespaces_and_warns_of_a_missing_one(
    fake_api: FakeApiServer, kubeconfig: Path, run_cli: RunCli
) -> None:
    import yaml

    fake_api.load(LIVE_CLUSTER)
    result = run_cli(["snapshot", "-o", "-", "--kubeconfig", str(kubeconfig), "-n",
                      "shop,nope", "-a", "pod"])
    assert result.code == 0, result.stderr
    assert "k8sdoctor: warning: namespace 'nope' not found; nothing in it was analyzed" in (
        result.stderr_lines)
    items = yaml.safe_load(result.stdout)["items"]
    assert {i["metadata"].get("namespace") for i in items if i["kind"] == "Pod"} == {"shop"}


def test_min_severity_says_what_the_text_leaves_out(run_cli: RunCli) -> None:
    text = run_cli(["analyze", "--demo", "--min-severity", "critical"]).stdout
    assert " ERROR " not in text and " WARNING " not in text
    assert "root causes below critical not shown" in text.splitlines()[-1]
