"""The ``openai`` backend, replayed from cassettes of ``/v1/chat/completions`` and ``/v1/models``
as the OpenAI API, the llama.cpp server, vLLM and Azure OpenAI answer them, and faced with a
closed port and a server too slow to answer."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from k8sdoctor.explain.backend import BackendError, BackendUnavailableError
from k8sdoctor.explain.backends import BackendSettings
from k8sdoctor.explain.backends.openai import OpenAIBackend, _is_azure
from k8sdoctor.explain.config import Secret
from k8sdoctor.explain.retry import RetryPolicy
from tests.explain.backend_data import ANSWER, PROSE, REQUEST, SCHEMA
from tests.explain.stubs import (
    CASSETTES,
    OpenAIStub,
    Reply,
    closed_port_url,
    openai_rate_limited,
    openai_refusal,
    recorded,
    sent_json,
)

KEY = "sk-proj-k8sdoctor-test-4c1e9b7a2d"


def backend(url: str, slept: list[float] | None = None, *, model: str = "gpt-4o-mini",
            key: str | None = KEY, timeout: float = 30.0,
            api_version: str | None = None) -> OpenAIBackend:
    retry = RetryPolicy(attempts=3, sleep=(slept if slept is not None else []).append,
                        jitter=lambda: 0.5)
    return OpenAIBackend(BackendSettings(
        name="openai", type="openai", model=model, base_url=url, timeout=timeout, retry=retry,
        api_key=Secret(key) if key else None, key_source="OPENAI_API_KEY" if key else None,
        key_env_var="OPENAI_API_KEY", api_version=api_version))


def openai_stub(text: str = ANSWER, *, flavor: str = "openai",
                models: tuple[str, ...] = ("gpt-4o-mini",),
                completion_tokens_only: tuple[str, ...] = ()) -> OpenAIStub:
    """A server wanting ``KEY`` that answers ``text``."""
    return OpenAIStub(lambda request: text, flavor=flavor, models=models, api_key=KEY,
                      completion_tokens_only=completion_tokens_only)


def test_structured_output_with_a_strict_json_schema() -> None:
    with recorded("openai/chat_json_schema", openai_stub(), "openai") as (url, cassette):
        answer = backend(url).complete(REQUEST)
    request = cassette.requests[0]
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    sent = sent_json(cassette)
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "k8sdoctor_explanation", "schema": SCHEMA, "strict": True}}
    assert (sent["model"], sent["max_tokens"], sent["temperature"]) == ("gpt-4o-mini", 1024, 0.2)
    assert sent["messages"] == [{"role": "system", "content": REQUEST.system},
                                {"role": "user", "content": REQUEST.prompt}]
    assert (answer.text, answer.mode, answer.truncated) == (ANSWER, "json_schema", False)
    usage = json.loads(cassette.responses[0]["body"]["string"])["usage"]
    assert (answer.prompt_tokens, answer.completion_tokens) == (
        usage["prompt_tokens"], usage["completion_tokens"])
    assert answer.model == "gpt-4o-mini"
    assert answer.extra["served_model"] == "gpt-4o-mini-2024-07-18"


def test_the_key_is_filtered_from_every_cassette() -> None:
    texts = [path.read_text() for path in CASSETTES.glob("openai/*.yaml")]
    assert texts
    assert not any(KEY in text or "authorization:" in text.lower() or "api-key:" in text
                   for text in texts)


def test_finish_reason_length_marks_a_truncated_answer() -> None:
    request = replace(REQUEST, max_tokens=20)
    with recorded("openai/chat_truncated", openai_stub(), "openai") as (url, cassette):
        answer = backend(url).complete(request)
    assert sent_json(cassette)["max_tokens"] == 20
    assert (answer.truncated, answer.extra["finish_reason"], answer.completion_tokens) == (
        True, "length", 20)


def test_prose_instead_of_json_is_returned_as_it_came() -> None:
    with recorded("openai/chat_prose", openai_stub(PROSE), "openai") as (url, _):
        answer = backend(url).complete(REQUEST)
    assert (answer.text, answer.mode) == (PROSE, "json_schema")


def test_429_and_503_are_retried_after_the_waits_the_server_asks_for() -> None:
    stub = openai_stub().fail_next(
        openai_rate_limited("2"),
        Reply(503, {"error": {"message": "The server is overloaded or not ready yet.",
                              "type": "server_error", "param": None, "code": None}},
              {"retry-after-ms": "250"}))
    slept: list[float] = []
    with recorded("openai/chat_rate_limited_then_ok", stub, "openai") as (url, cassette):
        answer = backend(url, slept).complete(REQUEST)
    assert [r["status"]["code"] for r in cassette.responses] == [429, 503, 200]
    assert slept == [2.0, 0.25]
    assert (answer.text, answer.retries) == (ANSWER, 2)


def test_an_exhausted_quota_is_not_retried() -> None:
    stub = openai_stub().fail_next(Reply(429, {"error": {
        "message": "You exceeded your current quota, please check your plan and billing "
                   "details.", "type": "insufficient_quota", "param": None,
        "code": "insufficient_quota"}}))
    slept: list[float] = []
    with (
        recorded("openai/chat_quota", stub, "openai") as (url, _),
        pytest.raises(BackendUnavailableError) as raised,
    ):
        backend(url, slept).complete(REQUEST)
    assert str(raised.value) == (f"{url}: the account's quota is used up: You exceeded your "
                                 "current quota, please check your plan and billing details.")
    assert slept == []


def test_a_wait_of_an_hour_is_not_waited_for() -> None:
    stub = openai_stub().fail_next(openai_rate_limited("3600"))
    slept: list[float] = []
    with (
        recorded("openai/chat_retry_after_too_long", stub, "openai") as (url, _),
        pytest.raises(BackendError) as raised,
    ):
        backend(url, slept).complete(REQUEST)
    assert str(raised.value) == (f"{url} is rate limiting us and asks to retry after 3600 s; "
                                 "not waiting that long")
    assert slept == []


def test_llama_cpp_rejects_json_schema_with_500_and_gets_json_object_with_the_schema() -> None:
    stub = OpenAIStub(lambda request: ANSWER, flavor="llamacpp", models=("qwen2.5-7b",))
    slept: list[float] = []
    with recorded("openai/llamacpp_json_object_fallback", stub, "openai") as (url, cassette):
        llama = backend(url, slept, model="qwen2.5-7b", key=None)
        first = llama.complete(REQUEST)
        second = llama.complete(REQUEST)
    formats = [sent_json(cassette, i)["response_format"] for i in range(3)]
    assert [f["type"] for f in formats] == ["json_schema", "json_object", "json_object"]
    assert formats[1] == formats[2] == {"type": "json_object", "schema": SCHEMA}
    assert [r["status"]["code"] for r in cassette.responses] == [500, 200, 200]
    assert (first.mode, second.mode, second.text) == ("json_object", "json_object", ANSWER)
    assert slept == []  # a rejected format is not a server fault worth retrying


def test_a_server_taking_no_response_format_gets_plain_text() -> None:
    stub = openai_stub().fail_next(
        Reply(400, {"error": {"message": "Invalid parameter: 'response_format' of type "
                              "'json_schema' is not supported with this model.",
                              "type": "invalid_request_error", "param": "response_format",
                              "code": None}}),
        Reply(400, {"error": {"message": "Additional properties are not allowed ('schema' was "
                              "unexpected) - 'response_format'",
                              "type": "invalid_request_error", "param": None, "code": None}}),
        Reply(400, {"error": {"message": "'messages' must contain the word 'json' in some "
                              "form, to use 'response_format' of type 'json_object'.",
                              "type": "invalid_request_error", "param": "messages",
                              "code": None}}))
    with recorded("openai/chat_text_fallback", stub, "openai") as (url, cassette):
        answer = backend(url).complete(REQUEST)
    sent = [sent_json(cassette, i).get("response_format") for i in range(4)]
    assert [f and f["type"] for f in sent] == ["json_schema", "json_object", "json_object", None]
    assert (answer.mode, answer.text) == ("text", ANSWER)


def test_reasoning_models_get_max_completion_tokens_and_no_temperature() -> None:
    stub = openai_stub(models=("o3-mini",), completion_tokens_only=("o3-mini",))
    with recorded("openai/chat_max_completion_tokens", stub, "openai") as (url, cassette):
        reasoning = backend(url, model="o3-mini")
        reasoning.complete(REQUEST)
        answer = reasoning.complete(REQUEST)
    sent = [sent_json(cassette, i) for i in range(4)]
    assert [("max_tokens" in s, "max_completion_tokens" in s, "temperature" in s)
            for s in sent] == [(True, False, True), (False, True, True),
                               (False, True, False), (False, True, False)]
    assert sent[3]["max_completion_tokens"] == 1024
    assert answer.text == ANSWER


def test_a_refused_key_names_where_it_came_from_and_never_shows_it() -> None:
    wrong = "sk-proj-wrong-key-0000"
    with (
        recorded("openai/chat_key_refused", openai_stub(), "openai") as (url, _),
        pytest.raises(BackendUnavailableError) as raised,
    ):
        backend(url, key=wrong).complete(REQUEST)
    assert str(raised.value) == "the API key was refused (OPENAI_API_KEY)"
    assert wrong not in (CASSETTES / "openai" / "chat_key_refused.yaml").read_text()


def test_no_key_for_a_server_that_wants_one() -> None:
    with (
        recorded("openai/chat_key_missing", openai_stub(), "openai") as (url, _),
        pytest.raises(BackendUnavailableError) as raised,
    ):
        backend(url, key=None).complete(REQUEST)
    assert str(raised.value) == (f"{url} wants an API key and none is set: set OPENAI_API_KEY "
                                 "or api_key_env in the config file")


@pytest.mark.parametrize(
    ("flavor", "said"),
    [
        ("openai", "The model `gpt-4o-mini-x` does not exist or you do not have access to it."),
        ("vllm", "The model `gpt-4o-mini-x` does not exist."),
    ],
)
def test_an_unknown_model_is_named(flavor: str, said: str) -> None:
    stub = openai_stub(flavor=flavor)
    with (
        recorded(f"openai/{flavor}_unknown_model", stub, "openai") as (url, _),
        pytest.raises(BackendUnavailableError) as raised,
    ):
        backend(url, model="gpt-4o-mini-x").complete(REQUEST)
    assert str(raised.value) == f"unknown model 'gpt-4o-mini-x' at {url}: {said}"


def test_a_base_url_without_v1_gets_a_hint() -> None:
    with (
        recorded("openai/chat_wrong_base_url", openai_stub(), "openai") as (url, _),
        pytest.raises(BackendUnavailableError) as raised,
    ):
        backend(url.removesuffix("/v1")).complete(REQUEST)
    assert str(raised.value) == (
        f"{url.removesuffix('/v1')} answered HTTP 404 (Invalid URL (POST /chat/completions)): "
        "check the base URL (OpenAI-compatible servers usually end in /v1)")


def test_a_refusal_is_an_error_not_an_answer() -> None:
    stub = openai_stub().fail_next(openai_refusal("gpt-4o-mini"))
    with (
        recorded("openai/chat_refusal", stub, "openai") as (url, _),
        pytest.raises(BackendError, match="the model refused to answer: I'm sorry"),
    ):
        backend(url).complete(REQUEST)


def test_something_that_is_not_an_openai_server_answering_html() -> None:
    stub = openai_stub().fail_next(Reply(200, "<html><body>Please sign in</body></html>",
                                    {"Content-Type": "text/html"}))
    with (
        recorded("openai/chat_html", stub, "openai") as (url, _),
        pytest.raises(BackendError) as raised,
    ):
        backend(url).complete(REQUEST)
    assert str(raised.value) == (f"{url} did not answer like an OpenAI-compatible server: "
                                 "'<html><body>Please sign in</body></html>'")


def test_azure_with_a_dated_api_version_calls_the_deployment() -> None:
    stub = OpenAIStub(lambda request: ANSWER, flavor="azure", api_key=KEY)
    with recorded("openai/azure_dated_chat", stub, "azure") as (url, cassette):
        azure = backend(url, model="explain-gpt4o", api_version="2024-10-21")
        answer = azure.complete(REQUEST)
        status = azure.check()
    request = cassette.requests[0]
    assert request.path == "/openai/deployments/explain-gpt4o/chat/completions"
    assert request.query == [("api-version", "2024-10-21")]
    assert sent_json(cassette)["response_format"]["type"] == "json_schema"
    assert (answer.text, answer.mode) == (ANSWER, "json_schema")
    assert sent_json(cassette, 1)["max_tokens"] == 16
    assert (status.reachable, status.model_available) == (True, True)


def test_check_looks_the_model_up() -> None:
    with recorded("openai/models_retrieve", openai_stub(), "openai") as (url, cassette):
        found = backend(url).check()
        missing = backend(url, model="gpt-4.5-turbo").check()
    assert [r.path for r in cassette.requests] == ["/v1/models/gpt-4o-mini",
                                                   "/v1/models/gpt-4.5-turbo"]
    assert (found.reachable, found.model_available) == (True, True)
    assert (missing.reachable, missing.model_available) == (True, False)
    assert missing.message.startswith("unknown model 'gpt-4.5-turbo' at")


@pytest.mark.parametrize(("flavor", "model", "usable"), [
    ("vllm", "Qwen/Qwen2.5-7B-Instruct", True),
    ("llamacpp", "qwen2.5-7b", False),
])
def test_check_falls_back_to_the_model_list(flavor: str, model: str, usable: bool) -> None:
    stub = OpenAIStub(lambda request: ANSWER, flavor=flavor, models=(
        "Qwen/Qwen2.5-7B-Instruct" if flavor == "vllm" else "qwen2.5-7b-instruct-q4_k_m.gguf",))
    with recorded(f"openai/{flavor}_models_list", stub, "openai") as (url, cassette):
        status = backend(url, model=model, key=None).check()
    assert [r.path for r in cassette.requests] == [
        f"/v1/models/{model.replace('/', '%2F')}", "/v1/models"]
    assert (status.reachable, status.model_available) == (True, usable)
    if not usable:
        assert status.message == (f"{url} answers but does not list the model 'qwen2.5-7b' "
                                  "(it lists: qwen2.5-7b-instruct-q4_k_m.gguf)")


def test_connection_refused_is_one_line_naming_the_url() -> None:
    url = f"{closed_port_url()}/v1"
    slept: list[float] = []
    with pytest.raises(BackendUnavailableError) as raised:
        backend(url, slept).complete(REQUEST)
    assert str(raised.value) == f"cannot connect to {url} (connection refused)"
    assert slept == []
    status = backend(url).check()
    assert (status.reachable, status.model_available) == (False, False)


def test_a_server_slower_than_the_timeout() -> None:
    stub = openai_stub().fail_next(Reply(200, {}, delay=2.0))
    slept: list[float] = []
    with stub:
        with pytest.raises(BackendError) as raised:
            backend(f"{stub.url}/v1", slept, timeout=0.3).complete(REQUEST)
        assert len(stub.received) == 1
    assert str(raised.value) == (f"{stub.url}/v1 did not answer within 0.3 s: raise "
                                 "explain.timeout in the config file, or use a faster model")
    assert slept == []


def test_one_backend_serves_concurrent_calls_and_learns_the_format_once() -> None:
    stub = OpenAIStub(lambda request: ANSWER, flavor="llamacpp", models=("qwen2.5-7b",))
    with stub:
        shared = backend(f"{stub.url}/v1", model="qwen2.5-7b", key=None)
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: shared.complete(REQUEST), range(8)))
        assert {(a.mode, a.text) for a in answers} == {("json_object", ANSWER)}
        rejected = sum(1 for r in stub.received
                       if r.body["response_format"]["type"] == "json_schema")
        assert 1 <= rejected <= 8
        assert len(stub.received) == 8 + rejected
        shared.complete(REQUEST)
        assert stub.received[-1].body["response_format"] == {"type": "json_object",
                                                             "schema": SCHEMA}


@pytest.mark.parametrize(("url", "azure"), [
    ("https://contoso.openai.azure.com/openai/v1", True),
    ("https://contoso.cognitiveservices.azure.com/openai/v1", True),
    ("https://api.openai.com/v1", False),
    ("https://openai.azure.com.example.net/v1", False),
])
def test_azure_hosts_are_checked_with_a_probe(url: str, azure: bool) -> None:
    assert _is_azure(url) is azure
