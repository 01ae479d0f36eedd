"""The explain path and ``k8sdoctor eval`` against a real model: llama.cpp's server with
SmolLM2-135M-Instruct (``scripts/llamacpp-server``). Such a small model is often wrong; these
tests check the plumbing - every answer is structured, or honestly marked as free text, or an
error that says why; the figures are real; nothing crashes - not the model's accuracy, which
``eval`` reports as it is. Marked ``llm``; run with ``K8SDOCTOR_TEST_LLM=1`` once
``scripts/llamacpp-server install`` has installed the server, skipped with the reason otherwise.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from k8sdoctor.eval.output import eval_schema
from k8sdoctor.eval.scenario import bundled_scenarios_dir
from k8sdoctor.report import report_schema
from tests.conftest import RunCli

pytestmark = pytest.mark.llm
SCENARIO = "selector-mismatch"
"""Both tests use it: the server reuses the prompt it has just read, which keeps the tier short
on a slow machine."""
CONFIG = "explain: {max_tokens: 200, timeout: 900}\n"
"""Short answers bound the time a call takes; a cut answer is retried, then shown as text."""


@pytest.fixture(autouse=True)
def config(private_settings, monkeypatch: pytest.MonkeyPatch) -> None:
    (private_settings / "k8sdoctor.yaml").write_text(CONFIG)
    monkeypatch.setenv("K8SDOCTOR_CONFIG", str(private_settings / "k8sdoctor.yaml"))


def test_analyze_explain_with_a_real_model(run_cli: RunCli, llamacpp_url: str) -> None:
    snapshot = bundled_scenarios_dir() / f"{SCENARIO}.yaml"
    result = run_cli(["analyze", "--snapshot", str(snapshot), "--explain", "--backend",
                      "openai", "--base-url", llamacpp_url, "--model", "smollm2", "-o", "json"])
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, report_schema())
    [finding] = report["findings"]
    assert finding["reason"] == "SelectorMatchesNoPods"  # the model never costs a finding
    calls = report["metadata"]["inference"]["calls"]
    assert calls and all(c["model"] == "smollm2" for c in calls)
    answered = [c for c in calls if c["outcome"] in ("answer", "invalid")]
    if finding["explanation"] is None:
        assert any(e["stage"] == "explain" for e in report["errors"])
    else:
        explanation = finding["explanation"]
        assert explanation["summary"].strip()
        assert explanation["attempts"] == len(answered)
        assert explanation["structured"] == (calls[-1]["outcome"] == "answer")
        assert all(c["latencySeconds"] > 0 and c["promptTokens"] > 0 for c in answered)
        assert all(c["mode"] == "json_object" for c in answered)  # llama.cpp's structured form


def test_eval_with_a_real_model(run_cli: RunCli, llamacpp_url: str) -> None:
    result = run_cli(["eval", "--backend", "openai", "--base-url", llamacpp_url, "--model",
                      "smollm2", "--scenario", SCENARIO, "-o", "json"])
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, eval_schema())
    [model] = document["models"]
    summary = model["summary"]
    assert summary["trials"] == 1 and model["local"] is True
    assert summary["costUSD"] == 0
    for trial in model["trials"]:
        if trial["explanation"] is None:
            assert trial["error"]  # an honest failure says why
            continue
        assert trial["attempts"] in (1, 2) and trial["latencySeconds"] > 0
        assert trial["promptTokens"] > 0 and trial["completionTokens"] > 0
        assert trial["score"]["valid"] == trial["explanation"]["structured"]
    if summary["failed"] < summary["trials"]:
        assert summary["tokensPerSecond"] > 0
        assert summary["latencySeconds"]["p95"] >= summary["latencySeconds"]["p50"] > 0
