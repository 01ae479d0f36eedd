"""The ``ollama`` backend, replayed from cassettes of Ollama's ``/api/chat`` and ``/api/show``,
and faced with a closed port and a server too slow to answer."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from k8sdoctor.explain.backend import BackendError, BackendUnavailableError
from k8sdoctor.explain.backends import BackendSettings
from k8sdoctor.explain.backends.ollama import OllamaBackend, context_tokens
from k8sdoctor.explain.config import Secret
from k8sdoctor.explain.retry import RetryPolicy
from tests.explain.backend_data import ANSWER, PROSE, REQUEST, SCHEMA
from tests.explain.stubs import (
    CASSETTES,
    OllamaStub,
    Reply,
    closed_port_url,
    recorded,
    sent_json,
)


def backend(url: str, slept: list[float] | None = None, *, model: str = "llama3.1:8b",
            timeout: float = 30.0, key: str | None = None) -> OllamaBackend:
    retry = RetryPolicy(attempts=3, sleep=(slept if slept is not None else []).append,
                        jitter=lambda: 0.5)
    return OllamaBackend(BackendSettings(
        name="ollama", type="ollama", model=model, base_url=url, timeout=timeout, retry=retry,
        api_key=Secret(key) if key else None, key_source="OLLAMA_API_KEY" if key else None))


def answering(text: str) -> OllamaStub:
    return OllamaStub(lambda request: text)


def test_a_structured_answer_over_api_chat() -> None:
    with recorded("ollama/chat_json_schema", answering(ANSWER), "ollama") as (url, cassette):
        answer = backend(url).complete(REQUEST)
    sent = sent_json(cassette)
    assert cassette.requests[0].method == "POST"
    assert cassette.requests[0].path == "/api/chat"
    assert sent["model"] == "llama3.1:8b"
    assert sent["messages"] == [{"role": "system", "content": REQUEST.system},
                                {"role": "user", "content": REQUEST.prompt}]
    assert sent["format"] == SCHEMA
    assert sent["options"] == {"num_ctx": 8192, "num_predict": 1024, "temperature": 0.2}
    assert sent["stream"] is False
    reply = json.loads(cassette.responses[0]["body"]["string"])
    assert (answer.text, answer.mode, answer.truncated) == (ANSWER, "json_schema", False)
    assert answer.model == "llama3.1:8b"
    assert (answer.prompt_tokens, answer.completion_tokens) == (
        reply["prompt_eval_count"], reply["eval_count"])
    assert answer.extra["done_reason"] == "stop"
    assert answer.latency_seconds > 0


def test_an_answer_cut_at_num_predict_is_marked_truncated() -> None:
    request = replace(REQUEST, max_tokens=12)
    with recorded("ollama/chat_truncated", answering(ANSWER), "ollama") as (url, cassette):
        answer = backend(url).complete(request)
    assert sent_json(cassette)["options"]["num_predict"] == 12
    assert answer.truncated
    assert answer.completion_tokens == 12
    assert answer.text == '{"summary": "The app container exits at start'


def test_prose_instead_of_json_is_returned_as_it_came() -> None:
    with recorded("ollama/chat_prose", answering(PROSE), "ollama") as (url, _):
        answer = backend(url).complete(REQUEST)
    assert (answer.text, answer.mode) == (PROSE, "json_schema")


def test_an_ollama_without_schema_support_gets_json_then_keeps_it() -> None:
    stub = OllamaStub(lambda request: ANSWER, takes_schema=False)
    with recorded("ollama/chat_format_json_fallback", stub, "ollama") as (url, cassette):
        ollama = backend(url)
        first = ollama.complete(REQUEST)
        second = ollama.complete(REQUEST)
    assert [sent_json(cassette, i)["format"] for i in range(3)] == [SCHEMA, "json", "json"]
    assert cassette.responses[0]["status"]["code"] == 400
    assert (first.mode, second.mode, second.text) == ("json_object", "json_object", ANSWER)


def test_the_context_grows_with_the_prompt_in_powers_of_two() -> None:
    assert context_tokens(REQUEST) == 8192
    assert context_tokens(replace(REQUEST, prompt="x" * 30_000)) == 16384
    assert context_tokens(replace(REQUEST, max_tokens=8192)) == 16384


def test_a_missing_model_says_ollama_pull() -> None:
    with (
        recorded("ollama/chat_missing_model", answering(ANSWER), "ollama") as (url, _),
        pytest.raises(BackendUnavailableError) as raised,
    ):
        backend(url, model="qwen2.5:7b").complete(REQUEST)
    assert str(raised.value) == (f"Ollama at {url} does not have the model qwen2.5:7b: "
                                 "run `ollama pull qwen2.5:7b`")


def test_a_busy_server_is_retried_after_the_wait_it_asks_for() -> None:
    stub = answering(ANSWER).fail_next(
        Reply(503, {"error": "server busy, please try again.  maximum pending requests "
                             "exceeded"}, {"Retry-After": "2"}),
        Reply(429, {"error": "too many requests"}))
    slept: list[float] = []
    with recorded("ollama/chat_busy_then_ok", stub, "ollama") as (url, cassette):
        answer = backend(url, slept).complete(REQUEST)
    assert len(cassette.requests) == 3
    assert slept == [2.0, 1.5]  # the server's Retry-After, then backoff (2 s * (1/2 + 0.5/2))
    assert answer.text == ANSWER
    assert answer.retries == 2


def test_a_server_failing_every_attempt_gives_one_line() -> None:
    stub = answering(ANSWER).fail_next(*[
        Reply(500, {"error": "llama runner process has terminated: signal: killed"})] * 3)
    slept: list[float] = []
    with (
        recorded("ollama/chat_runner_killed", stub, "ollama") as (url, _),
        pytest.raises(BackendError) as raised,
    ):
        backend(url, slept).complete(REQUEST)
    assert str(raised.value) == (f"Ollama at {url} failed with HTTP 500 (after 3 attempts): "
                                 "llama runner process has terminated: signal: killed")
    assert not isinstance(raised.value, BackendUnavailableError)
    assert len(slept) == 2


def test_something_that_is_not_ollama_answering_html() -> None:
    stub = answering(ANSWER).fail_next(Reply(
        200, "<html><body><h1>Welcome to nginx!</h1></body></html>",
        {"Content-Type": "text/html"}))
    with (
        recorded("ollama/chat_html", stub, "ollama") as (url, _),
        pytest.raises(BackendError) as raised,
    ):
        backend(url).complete(REQUEST)
    assert str(raised.value) == (f"{url} did not answer like an Ollama server: "
                                 "'<html><body><h1>Welcome to nginx!</h1></body></html>'")


def test_a_key_is_sent_as_a_bearer_token_and_never_recorded() -> None:
    key = "ollama-key-7d1e4c9b2a"
    with recorded("ollama/chat_with_key", answering(ANSWER), "ollama") as (url, cassette):
        backend(url, key=key).complete(REQUEST)
    assert "authorization" not in {h.lower() for h in cassette.requests[0].headers}
    assert key not in (CASSETTES / "ollama" / "chat_with_key.yaml").read_text()


def test_check_finds_the_model() -> None:
    with recorded("ollama/show_ok", answering(ANSWER), "ollama") as (url, cassette):
        status = backend(url).check()
    assert sent_json(cassette) == {"model": "llama3.1:8b"}
    assert (status.reachable, status.model_available) == (True, True)
    assert status.message == f"Ollama at {url} answers and has llama3.1:8b"


def test_check_of_a_missing_model_says_ollama_pull() -> None:
    with recorded("ollama/show_missing", answering(ANSWER), "ollama") as (url, _):
        status = backend(url, model="mistral").check()
    assert (status.reachable, status.model_available) == (True, False)
    assert status.message.endswith("run `ollama pull mistral`")


def test_check_of_an_embedding_model_says_it_cannot_chat() -> None:
    stub = OllamaStub(lambda request: ANSWER, models=("nomic-embed-text:latest",))
    with recorded("ollama/show_embedding", stub, "ollama") as (url, _):
        status = backend(url, model="nomic-embed-text").check()
    assert (status.reachable, status.model_available) == (True, False)
    assert "cannot chat (capabilities: embedding)" in status.message


def test_connection_refused_is_one_line_naming_the_url_and_ollama_serve() -> None:
    url = closed_port_url()
    slept: list[float] = []
    with pytest.raises(BackendUnavailableError) as raised:
        backend(url, slept).complete(REQUEST)
    assert str(raised.value) == (
        f"cannot connect to Ollama at {url} (connection refused): start it with `ollama "
        "serve`, or point --base-url or OLLAMA_HOST at a running server")
    assert slept == []
    status = backend(url).check()
    assert (status.reachable, status.model_available) == (False, False)
    assert status.message == str(raised.value)


def test_a_server_slower_than_the_timeout() -> None:
    stub = answering(ANSWER).fail_next(Reply(200, {"done": True}, delay=2.0))
    slept: list[float] = []
    with stub:
        with pytest.raises(BackendError) as raised:
            backend(stub.url, slept, timeout=0.3).complete(REQUEST)
        assert len(stub.received) == 1
    assert str(raised.value) == (f"Ollama at {stub.url} did not answer within 0.3 s: raise "
                                 "explain.timeout in the config file, or use a smaller model")
    assert slept == []
