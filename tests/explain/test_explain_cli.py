"""``k8sdoctor analyze --explain`` end to end: the real backends over HTTP against stub servers
on 127.0.0.1, counting every request they receive."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from k8sdoctor.cli import main
from k8sdoctor.report import report_schema

from .conftest import THREE_CAUSES, identifiers, leaked, load_state
from .stubs import OllamaStub, OpenAIStub, Received, Reply, closed_port_url

SNAPSHOT = str(THREE_CAUSES)
_OBJECT = re.compile(r"^  - (?P<kind>\w+) (?P<namespace>[^/\s]+)/(?P<name>\S+)$", re.MULTILINE)


def explain_first_object(request: Received) -> str:
    """An answer in the schema that names the group's first object as the prompt wrote it."""
    prompt = request.body["messages"][-1]["content"]
    match = _OBJECT.search(prompt)
    assert match is not None
    return json.dumps({
        "summary": f"{match['kind']} {match['name']} in {match['namespace']} keeps failing.",
        "rootCause": "The evidence shows the fault of the first affected object.",
        "steps": ["Read the pod events", "Fix the pod template"],
        "commands": [f"kubectl describe pod {match['name']} -n {match['namespace']}"],
        "confidence": "medium",
    })


@pytest.fixture(autouse=True)
def isolated(private_settings: Path) -> Path:
    """Cache and config under ``tmp_path``; no backend settings from the environment."""
    return private_settings


@pytest.fixture
def ollama() -> Iterator[OllamaStub]:
    with OllamaStub(explain_first_object) as stub:
        yield stub


@pytest.fixture
def openai() -> Iterator[OpenAIStub]:
    with OpenAIStub(explain_first_object) as stub:
        yield stub


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "--snapshot", SNAPSHOT, *args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def chats(stub: OllamaStub | OpenAIStub) -> list[Received]:
    return [r for r in stub.received if r.path in ("/api/chat", "/v1/chat/completions")]


def test_three_causes_make_three_calls_and_a_second_run_none(capsys, ollama, isolated) -> None:
    code, out, err = run(capsys, "--explain", "--base-url", ollama.url)

    assert code == 0
    assert len(chats(ollama)) == 3
    assert "36 findings: 6 critical, 30 error" in out
    assert out.count("explanation (ollama/llama3.1:8b)") == 3  # one per root cause
    assert "see above" not in out  # each explanation is printed once, under its root cause
    assert "explain: ollama/llama3.1:8b · 3 calls, 0 cached" in out
    assert "explaining findings with ollama/llama3.1:8b (names sent as they are)" in err

    code, out, _ = run(capsys, "--explain", "--base-url", ollama.url)

    assert code == 0
    assert len(chats(ollama)) == 3
    assert out.count("explanation (ollama/llama3.1:8b, cached)") == 3
    assert "explain: ollama/llama3.1:8b · 0 calls, 3 cached" in out
    entries = list((isolated / "cache" / "k8sdoctor" / "explanations").iterdir())
    assert len(entries) == 3
    assert {stat.S_IMODE(e.stat().st_mode) for e in entries} == {0o600}


def test_a_local_ollama_gets_real_names_by_default(capsys, ollama) -> None:
    run(capsys, "--explain", "--base-url", ollama.url)
    assert any("Pod shop/storefront-7d4b9c8f5-" in json.dumps(r.body) for r in chats(ollama))


def test_anonymized_requests_name_nothing_and_the_user_sees_real_names(capsys, openai) -> None:
    code, out, err = run(capsys, "--explain", "--backend", "openai", "--base-url",
                         f"{openai.url}/v1", "--anonymize", "-o", "json")

    assert code == 0
    bodies = [json.dumps(r.body) for r in chats(openai)]
    assert len(bodies) == 3
    assert leaked(identifiers(load_state()), "\n".join(bodies)) == set()
    assert "names anonymized" in err
    report = json.loads(out)
    crash = next(f for f in report["findings"] if f["reason"] == "CrashLoopBackOff")
    summary = crash["explanation"]["summary"]
    assert re.fullmatch(r"Pod storefront-7d4b9c8f5-\w{5} in shop keeps failing\.", summary)
    assert crash["explanation"]["commands"][0].endswith(" -n shop")
    assert report["metadata"]["inference"]["anonymized"] is True


def test_the_json_report_validates_and_carries_the_inference_stats(capsys, ollama) -> None:
    _, out, _ = run(capsys, "--explain", "--base-url", ollama.url, "-o", "json")
    report = json.loads(out)
    jsonschema.validate(report, report_schema())
    [stats] = report["metadata"]["inference"]["backends"]
    assert (stats["backend"], stats["model"], stats["calls"], stats["cacheHits"]) == (
        "ollama", "llama3.1:8b", 3, 0)
    assert stats["promptTokens"] > 0 and stats["completionTokens"] > 0
    assert stats["latencySeconds"]["max"] >= stats["latencySeconds"]["p50"] > 0
    groups = {f["explanation"]["group"] for f in report["findings"]}
    assert len(groups) == 3


def test_show_prompt_prints_what_would_be_sent_and_sends_nothing(capsys, openai) -> None:
    code, out, _ = run(capsys, "--show-prompt", "--backend", "openai", "--base-url",
                       f"{openai.url}/v1", "--anonymize", "--fail-on", "error")

    assert code == 0
    assert openai.received == []
    assert out.count("===== request ") == 3
    assert "----- system -----" in out and "<untrusted-data>" in out
    assert leaked(identifiers(load_state()), out) == set()


def test_show_prompt_for_a_hosted_backend_needs_no_key_and_anonymizes(capsys) -> None:
    code, out, err = run(capsys, "--show-prompt", "--backend", "openai")

    assert code == 0
    assert out.count("===== request ") == 3
    assert "identifiers such as name-3f9a1c2b" in out
    assert leaked(identifiers(load_state()), out) == set()
    assert "API key" not in err


def test_a_rate_limit_is_waited_out(capsys, ollama) -> None:
    ollama.fail_next(Reply(429, {"error": "too many requests"}, {"Retry-After": "0"}))
    code, out, _ = run(capsys, "--explain", "--base-url", ollama.url, "-o", "json",
                       "--fail-on", "error")
    report = json.loads(out)
    assert code == 1
    assert report["errors"] == []
    assert all(f["explanation"] for f in report["findings"])
    assert report["metadata"]["inference"]["backends"][0]["retries"] == 1


def test_a_timeout_costs_one_group_its_explanation(capsys, ollama, isolated) -> None:
    config = isolated / "config" / "k8sdoctor" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("explain:\n  timeout: 0.5\n  concurrency: 1\n")
    ollama.fail_next(Reply(200, {"model": "llama3.1:8b"}, delay=1.5))

    code, out, err = run(capsys, "--explain", "--base-url", ollama.url, "-o", "json")

    report = json.loads(out)
    assert code == 0
    [error] = report["errors"]
    assert error["stage"] == "explain" and "did not answer within 0.5 s" in error["message"]
    assert sum(f["explanation"] is None for f in report["findings"]) == 12
    assert "warning: explain " in err


def test_a_refused_connection_is_one_line_and_changes_nothing(capsys) -> None:
    closed = closed_port_url()
    _, plain, _ = run(capsys, "--fail-on", "error")

    code, out, err = run(capsys, "--explain", "--base-url", closed, "--fail-on", "error")

    assert code == 1
    warnings = [line for line in err.splitlines() if line.startswith("k8sdoctor: warning:")]
    assert len(warnings) == 1
    assert closed in warnings[0] and "ollama serve" in warnings[0]
    assert "(3 of 3 root causes not explained)" in warnings[0]
    summary = "\n3 root causes (3 critical) behind 36 findings:"
    assert out.split("\nNot explained")[0].rstrip() == plain.split(summary)[0].rstrip()


def test_garbage_answers_are_retried_once_then_shown_as_text(capsys) -> None:
    with OllamaStub(lambda request: "I think the pods are broken, sorry.") as stub:
        code, out, _ = run(capsys, "--explain", "--base-url", stub.url, "-o", "json")
        calls = len(chats(stub))
    report = json.loads(out)
    assert code == 0 and calls == 6
    assert {f["explanation"]["summary"] for f in report["findings"]} == {
        "I think the pods are broken, sorry."}
    retries = [r for r in stub.received if "not the JSON object asked for" in json.dumps(r.body)]
    assert len(retries) == 3


def test_an_unknown_model_says_how_to_get_it_and_is_asked_once(
    capsys, ollama, isolated
) -> None:
    config = isolated / "config" / "k8sdoctor" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("explain:\n  concurrency: 1\n")

    code, out, _ = run(capsys, "--explain", "--base-url", ollama.url, "--model", "qwen3:4b",
                       "-o", "json")

    report = json.loads(out)
    assert code == 0
    assert len(chats(ollama)) == 1
    [error] = report["errors"]
    assert "ollama pull qwen3:4b" in error["message"]
    assert len(report["findings"]) == 36


def test_cache_clear_and_no_cache(capsys, ollama) -> None:
    run(capsys, "--explain", "--base-url", ollama.url)
    run(capsys, "--explain", "--base-url", ollama.url, "--no-cache")
    assert len(chats(ollama)) == 6

    with pytest.raises(SystemExit) as exit_info:
        main(["cache", "clear"])
    assert exit_info.value.code == 0
    assert "removed 3 cached explanations" in capsys.readouterr().err

    run(capsys, "--explain", "--base-url", ollama.url)
    assert len(chats(ollama)) == 9


def test_language_and_prompt_directory(capsys, ollama, isolated) -> None:
    prompts = isolated / "prompts"
    prompts.mkdir()
    (prompts / "explain.md.j2").write_text(
        "Our runbook first. Fault: {{ group.reason }}\n{% include '_objects.md.j2' %}\n")
    run(capsys, "--explain", "--base-url", ollama.url, "--language", "de", "--prompts",
        str(prompts))
    [first, *_] = chats(ollama)
    system, user = (m["content"] for m in first.body["messages"])
    assert "Write every text value in German." in system
    assert user.startswith("Our runbook first. Fault: ")


def test_with_logs_on_a_snapshot_says_there_are_none(capsys, ollama) -> None:
    _, _, err = run(capsys, "--explain", "--with-logs", "--base-url", ollama.url)
    assert "a snapshot holds no logs" in err
    assert all("snapshots hold no logs" in json.dumps(r.body) for r in chats(ollama))


@pytest.mark.parametrize("flag", [["--model", "llama3.2:3b"], ["--no-cache"], ["--with-logs"],
                                  ["--no-anonymize"]])
def test_explain_options_need_explain(capsys, flag: list[str]) -> None:
    code, out, err = run(capsys, *flag)
    assert code == 2 and out == ""
    assert "only apply with --explain" in err


def test_live_ollama_explains_the_three_causes(capsys) -> None:
    """Runs against a real Ollama when ``K8SDOCTOR_TEST_OLLAMA_URL`` names one (see README)."""
    url = os.environ.get("K8SDOCTOR_TEST_OLLAMA_URL")
    if not url:
        pytest.skip("set K8SDOCTOR_TEST_OLLAMA_URL to explain the fixture with a real Ollama")
    model = os.environ.get("K8SDOCTOR_TEST_OLLAMA_MODEL") or "llama3.2:1b"
    code, out, _ = run(capsys, "--explain", "--base-url", url, "--model", model, "-o", "json")
    report = json.loads(out)
    if report["errors"]:
        pytest.skip(f"{url} is not usable: {report['errors'][0]['message']}")
    assert code == 0
    assert report["metadata"]["inference"]["backends"][0]["calls"] >= 3
    assert all(f["explanation"]["summary"] for f in report["findings"])


CRASH_LOG = "".join(line + "\n" for line in (
    "2026-11-20T09:53:58.112Z INFO  storefront 1.4.2 starting (pid 1)",
    "2026-11-20T09:53:58.140Z INFO  loading config from /etc/storefront/config.yaml",
    "2026-11-20T09:53:58.141Z DEBUG upstream auth header: "
    "Authorization: Bearer 9f3ac1d2e4b5a6c7d8e9f0a1b2c3d4e5",
    "2026-11-20T09:53:58.402Z INFO  connecting to "
    "postgres://storefront:Pa55w0rd-prod@10.8.3.17:5432/orders",
    "2026-11-20T09:53:59.405Z ERROR dial tcp 10.8.3.17:5432: connect: connection refused",
    "2026-11-20T09:53:59.406Z FATAL cannot reach the database after 1 attempt(s), exiting with "
    "code 1",
))


def test_with_logs_reads_the_crashed_instance_through_the_live_source(
    capsys, fake_api, kubeconfig, ollama
) -> None:
    fake_api.load(THREE_CAUSES)
    for pod in fake_api.objects("Pod"):
        if pod["metadata"]["namespace"] == "shop":
            fake_api.set_logs("shop", pod["metadata"]["name"], "storefront", CRASH_LOG,
                              previous=True)

    # The crash evidence reads the log once; --with-logs takes its 40 lines from that read.
    code, out, _ = run_live(capsys, kubeconfig, "--explain", "--with-logs", "--anonymize",
                            "--base-url", ollama.url, "-o", "json")

    assert code == 0
    log_requests = [r for r in fake_api.requests if r.path.endswith("/log")]
    assert len(log_requests) == 1
    assert log_requests[0].path.startswith("/api/v1/namespaces/shop/pods/storefront-7d4b9c8f5-")
    assert {k: v for k, v in log_requests[0].query.items() if k != "container"} == {
        "previous": ["true"], "tailLines": ["50"]}
    crash = next(json.dumps(r.body) for r in chats(ollama) if "CrashLoopBackOff" in json.dumps(
        r.body))
    assert "cannot reach the database after 1 attempt(s)" in crash
    assert "Pa55w0rd-prod" not in crash and "9f3ac1d2e4b5a6c7d8e9f0a1b2c3d4e5" not in crash
    assert "10.8.3.17" not in crash and "storefront" not in crash
    assert "[REDACTED:password]" in crash and "[REDACTED:token]" in crash
    assert all(f["explanation"] for f in json.loads(out)["findings"])


def run_live(capsys: pytest.CaptureFixture[str], kubeconfig: Path, *args: str
             ) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "--kubeconfig", str(kubeconfig), *args])
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_show_prompt_on_a_healthy_cluster_sends_nothing(capsys, tmp_path: Path) -> None:
    healthy = tmp_path / "healthy.yaml"
    state = load_state()
    healthy.write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                   "items": list(state.objects("Node"))}))
    with pytest.raises(SystemExit) as exit_info:
        main(["analyze", "--snapshot", str(healthy), "--show-prompt"])
    captured = capsys.readouterr()
    assert exit_info.value.code == 0
    assert captured.out == ""
    assert "no findings: nothing would be sent" in captured.err
