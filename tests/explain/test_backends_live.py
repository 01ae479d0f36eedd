"""Live tests against a real LLM server, run only when one is named and answers.

``K8SDOCTOR_TEST_OLLAMA_URL`` (e.g. ``http://127.0.0.1:11434``) runs the Ollama test, with
``K8SDOCTOR_TEST_OLLAMA_MODEL`` (default ``llama3.2:1b``, small enough for a laptop CPU).
``K8SDOCTOR_TEST_OPENAI_BASE_URL`` (e.g. ``http://127.0.0.1:8080/v1`` for the llama.cpp server)
runs the OpenAI-compatible test, with ``K8SDOCTOR_TEST_OPENAI_MODEL`` (default ``gpt-4o-mini``)
and ``OPENAI_API_KEY`` when the server wants one. Otherwise, or when the server does not answer
or lacks the model, the tests skip and say why.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

from k8sdoctor.explain.backend import Backend
from k8sdoctor.explain.backends import resolve_backend
from tests.explain.backend_data import REQUEST, SCHEMA


def live_backend(kind: str, url_variable: str, model_variable: str, default_model: str
                 ) -> Backend:
    url = os.environ.get(url_variable)
    if not url:
        pytest.skip(f"set {url_variable} to run against a real {kind} server")
    model = os.environ.get(model_variable) or default_model
    backend = resolve_backend(kind, model, url, None, timeout=300)
    status = backend.check()
    if not (status.reachable and status.model_available):
        pytest.skip(f"{url_variable}={url} is not usable: {status.message}")
    return backend


def assert_an_explanation(text: str) -> None:
    answer = json.loads(text)
    assert set(SCHEMA["required"]) <= set(answer)
    assert isinstance(answer["steps"], list)
    assert answer["summary"].strip()


def test_live_ollama_answers_in_the_schema() -> None:
    backend = live_backend("ollama", "K8SDOCTOR_TEST_OLLAMA_URL", "K8SDOCTOR_TEST_OLLAMA_MODEL",
                           "llama3.2:1b")
    answer = backend.complete(REQUEST)
    assert answer.mode == "json_schema"
    assert not answer.truncated
    assert answer.prompt_tokens and answer.completion_tokens
    assert_an_explanation(answer.text)
    short = backend.complete(replace(REQUEST, max_tokens=8))
    assert short.truncated
    assert short.completion_tokens is not None and short.completion_tokens <= 8


def test_live_openai_compatible_server_answers() -> None:
    backend = live_backend("openai", "K8SDOCTOR_TEST_OPENAI_BASE_URL",
                           "K8SDOCTOR_TEST_OPENAI_MODEL", "gpt-4o-mini")
    answer = backend.complete(REQUEST)
    assert answer.mode in ("json_schema", "json_object", "text")
    assert not answer.truncated
    if answer.mode != "text":
        assert_an_explanation(answer.text)
    else:
        assert answer.text.strip()
