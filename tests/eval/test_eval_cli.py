"""``k8sdoctor eval`` end to end through the real ``openai`` client, replayed from cassettes of
a llama.cpp-flavoured server (``json_schema`` refused with HTTP 500, ``json_object`` with the
schema taken): a backend whose answers are the ground truth scores 100%, one that sends the user
to a pod that does not exist is caught inventing it, and garbage scores 0 without a crash.
Re-record with ``K8SDOCTOR_RECORD_CASSETTES=1``.

What is tested here is the scoring of answers, not the prompt's wording, so these cassettes are
replayed in order, matched on method and path only: an analyzer's reworded message or a changed
template leaves them valid (the backend tests match bodies exactly)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import jsonschema
import pytest
import vcr
from vcr.cassette import Cassette

from k8sdoctor.eval.output import eval_schema
from k8sdoctor.eval.scenario import load_scenarios
from tests.conftest import RunCli
from tests.explain.stubs import (
    CASSETTES,
    RECORDING,
    REPLAY_URLS,
    OpenAIStub,
    Received,
    StubServer,
    sent_json,
)

from .answers import GARBAGE, as_text, inventing_answer, perfect_answer, scenario_in

SCENARIOS = load_scenarios()
TWO = ["missing-configmap", "selector-mismatch"]
IN_ORDER = vcr.VCR(cassette_library_dir=str(CASSETTES), match_on=["method", "path"],
                   filter_headers=["authorization", "api-key"], decode_compressed_response=True)


@contextmanager
def recorded(name: str, stub: StubServer, api: str) -> Iterator[tuple[str, Cassette]]:
    """``(base URL, cassette)``: the stub while recording, else the cassette played in order."""
    if RECORDING:
        (CASSETTES / f"{name}.yaml").unlink(missing_ok=True)
        with stub, IN_ORDER.use_cassette(f"{name}.yaml", record_mode="all") as cassette:
            yield f"{stub.url}/v1", cassette
        return
    with IN_ORDER.use_cassette(f"{name}.yaml", record_mode="none") as cassette:
        yield REPLAY_URLS[api], cassette
        assert cassette.all_played, f"{name}: not every recorded request was made"


def answering(make: Callable[[object], dict]) -> Callable[[Received], str]:
    def answer(request: Received) -> str:
        prompt = request.body["messages"][-1]["content"]
        return as_text(make(scenario_in(prompt, SCENARIOS)))
    return answer


@pytest.fixture(autouse=True)
def isolated(private_settings: Path) -> Path:
    return private_settings


def evaluate(run_cli: RunCli, url: str, *args: str) -> tuple[int, dict, str]:
    result = run_cli(["eval", "--backend", "openai", "--base-url", url, "--model", "smollm2",
                      "--no-anonymize", "-o", "json", *args])
    assert result.code in (0, 1), result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, eval_schema())
    return result.code, document, result.stderr


def test_a_perfect_backend_scores_everything_right(run_cli: RunCli) -> None:
    stub = OpenAIStub(answering(perfect_answer), flavor="llamacpp", models=("smollm2",))
    with recorded("eval/perfect_llamacpp", stub, "openai") as (url, cassette):
        code, document, _ = evaluate(run_cli, url, "--fail-under", "1")

    [model] = document["models"]
    summary = model["summary"]
    assert code == 0
    assert (summary["trials"], summary["correct"], summary["accuracy"]) == (17, 17, 1.0)
    assert summary["passAll"] == 1.0 and summary["hallucinating"] == 0
    assert summary["accuracyInterval"][0] > 0.8 and summary["accuracyInterval"][1] == 1.0
    assert summary["promptTokens"] > 0 and summary["completionTokens"] > 0
    assert summary["latencySeconds"]["p95"] >= summary["latencySeconds"]["p50"] >= 0
    assert {t["scenario"] for t in model["trials"]} == {s.name for s in SCENARIOS}
    assert all(t["attempts"] == 1 and t["score"]["correct"] for t in model["trials"])
    # llama.cpp refuses json_schema with a 500; every later call uses json_object + schema.
    assert cassette.responses[0]["status"]["code"] == 500
    formats = [sent_json(cassette, i)["response_format"] for i in range(1, 18)]
    assert all(f["type"] == "json_object" and "schema" in f for f in formats)
    assert document["metadata"]["cache"] == "bypassed"


def test_an_answer_naming_a_pod_that_does_not_exist_is_caught(run_cli: RunCli) -> None:
    stub = OpenAIStub(answering(inventing_answer), flavor="llamacpp", models=("smollm2",))
    with recorded("eval/inventing_llamacpp", stub, "openai") as (url, _):
        code, document, stderr = evaluate(run_cli, url, "--scenario", TWO[0], "--scenario",
                                          TWO[1], "--fail-under", "0.5")

    [model] = document["models"]
    assert code == 1 and "below --fail-under 50%" in stderr
    assert model["summary"]["accuracy"] == 0 and model["summary"]["hallucinating"] == 2
    for trial in model["trials"]:
        score = trial["score"]
        assert score["rootCause"] and score["valid"] and not score["correct"]
        assert score["hallucinated"] == ["checkout-7f9c4d5b8-zq2xw"]
        assert any("checkout-7f9c4d5b8-zq2xw" in c for c in score["badCommands"])


def test_garbage_scores_zero_and_nothing_crashes(run_cli: RunCli) -> None:
    stub = OpenAIStub(lambda request: GARBAGE, flavor="llamacpp", models=("smollm2",))
    with recorded("eval/garbage_llamacpp", stub, "openai") as (url, _):
        code, document, _ = evaluate(run_cli, url, "--scenario", TWO[0])

    [model] = document["models"]
    [trial] = model["trials"]
    assert code == 0
    assert model["summary"]["accuracy"] == 0 and model["summary"]["freeText"] == 1
    assert trial["attempts"] == 2 and trial["explanation"]["structured"] is False
    assert trial["score"] == {**trial["score"], "correct": False, "valid": False}


def test_a_server_that_is_down_fails_every_trial_in_one_line(run_cli: RunCli) -> None:
    from tests.explain.stubs import closed_port_url

    code, document, _ = evaluate(run_cli, closed_port_url() + "/v1", "--scenario", TWO[0])
    [trial] = document["models"][0]["trials"]
    assert code == 0 and trial["explanation"] is None
    assert "cannot connect to" in trial["error"] and document["models"][0]["summary"][
        "failed"] == 1


def test_table_and_markdown_show_the_figures(run_cli: RunCli) -> None:
    for fmt, says in (("table", "accuracy (95% CI)"), ("markdown", "| backend/model |")):
        stub = OpenAIStub(answering(perfect_answer), flavor="llamacpp", models=("smollm2",))
        with recorded(f"eval/perfect_{fmt}", stub, "openai") as (url, _):
            result = run_cli(["eval", "--backend", "openai", "--base-url", url, "--model",
                              "smollm2", "--no-anonymize", "--scenario", TWO[1], "-o", fmt])
        assert result.code == 0, result.stderr
        assert says in result.stdout and "openai/smollm2" in result.stdout
        assert "100%" in result.stdout and "selector-mismatch" in result.stdout


@pytest.mark.parametrize(("args", "says"), [
    (["--scenario", "nope"], "unknown scenario nope"),
    (["--scenarios", "/nonexistent/dir"], "does not exist"),
    (["--judge-model", "x"], "--judge-model only applies with --judge"),
    (["--backend", "nosuch"], "unknown backend 'nosuch'"),
])
def test_bad_input_is_one_line_and_exit_2(run_cli: RunCli, args: list[str], says: str) -> None:
    result = run_cli(["eval", *args])
    assert result.code == 2 and says in result.stderr and "Traceback" not in result.stderr


def test_a_judge_grades_each_answer_apart(run_cli: RunCli, isolated: Path) -> None:
    from tests.explain.stubs import OllamaStub

    def verdict(request: Received) -> str:
        assert "What is really broken" in request.body["messages"][-1]["content"]
        return '{"score": 0.9, "reason": "names the selector mismatch"}'

    answers = OpenAIStub(answering(inventing_answer), flavor="llamacpp", models=("smollm2",))
    with answers, OllamaStub(verdict, models=("judge:7b",)) as judge:
        config = isolated / "k8sdoctor.yaml"
        config.write_text(f"backends:\n  grader: {{type: ollama, base_url: '{judge.url}'}}\n")
        result = run_cli(["eval", "--backend", "openai", "--base-url", f"{answers.url}/v1",
                          "--model", "smollm2", "--scenario", TWO[1], "--judge", "grader",
                          "--judge-model", "judge:7b", "--config", str(config), "-o", "json"])
    document = json.loads(result.stdout)
    jsonschema.validate(document, eval_schema())
    [trial] = document["models"][0]["trials"]
    assert document["metadata"]["judge"] == "ollama/judge:7b"
    assert trial["judge"] == {"score": 0.9, "reason": "names the selector mismatch"}
    assert document["models"][0]["summary"]["judgeScore"] == 0.9
    assert not trial["score"]["correct"]  # the judge's opinion changes no score
