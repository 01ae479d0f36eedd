"""Small HTTP servers on 127.0.0.1 that answer like Ollama and like OpenAI-compatible servers,
and the vcrpy setup that records their conversations into cassettes and replays them.

The stubs speak each API's real wire format (Ollama's ``/api/chat``, ``/api/show``, ``/api/tags``;
OpenAI's ``/v1/chat/completions`` and ``/v1/models``, with the llama.cpp server's, vLLM's and
Azure's variations) and check requests the way the real servers do: an unknown model is a 404 in
that server's words, a wrong key a 401, ``json_schema`` on the llama.cpp server a 500, and
``max_tokens`` cuts the answer with ``done_reason``/``finish_reason`` ``length``. Faults queued
with ``StubServer.fail_next`` (a 429 with ``Retry-After``, a slow answer, an HTML error page) are
served before the normal handling.

Tests replay cassettes with ``record_mode="none"`` against a URL no request can reach; they match
requests on method, path, query and JSON body, never host or port. To record them again, run the
backend tests with ``K8SDOCTOR_RECORD_CASSETTES=1``: each test then starts its stub and overwrites
its cassette. vcrpy patches both HTTP stacks in play: ``httpx``, which the ``ollama`` client uses,
and ``httpx2``, which ``openai`` 3.x sends through.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import vcr
from vcr.cassette import Cassette

CASSETTES = Path(__file__).parent.parent / "cassettes" / "backends"
RECORDING = os.environ.get("K8SDOCTOR_RECORD_CASSETTES") == "1"
CREATED = 1763632800  # 2025-11-20T10:00:00Z: fixed, so re-recorded cassettes differ only in content

VCR = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    match_on=["method", "path", "query", "body"],
    filter_headers=["authorization", "api-key"],
    decode_compressed_response=True,
)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    """A dict or list (sent as JSON) or a string (sent as is)."""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering."""


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def count_tokens(text: str) -> int:
    """A stand-in tokenizer: words and punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def first_tokens(text: str, limit: int) -> str:
    """``text`` cut after ``limit`` stand-in tokens, as a model stopped by max tokens is."""
    tokens = list(re.finditer(r"\w+|[^\w\s]", text))
    return text if len(tokens) <= limit else text[: tokens[limit - 1].end()]


class StubServer:
    """A threaded HTTP server on 127.0.0.1; subclasses answer in ``handle``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._faults: deque[Reply] = deque()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                stub._serve(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail_next(self, *replies: Reply) -> StubServer:
        """Serve these replies, in order, to the next requests instead of the normal answer."""
        self._faults.extend(replies)
        return self

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, request: Received) -> Reply:
        raise NotImplementedError

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        split = urlsplit(handler.path)
        request = Received(handler.command, split.path, parse_qs(split.query),
                           {k.lower(): v for k, v in handler.headers.items()}, body)
        self.received.append(request)
        reply = self._faults.popleft() if self._faults else self.handle(request)
        if reply.delay:
            time.sleep(reply.delay)
        is_text = isinstance(reply.body, str)
        payload = (reply.body if is_text else json.dumps(reply.body)).encode()
        headers = {"Content-Type": "text/plain; charset=utf-8" if is_text
                   else "application/json", **reply.headers}
        try:
            handler.send_response(reply.status)
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(payload)))
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


Answer = Callable[[Received], str]


def _user_text(request: Received) -> str:
    return " ".join(str(m.get("content", "")) for m in request.body.get("messages", []))


class OllamaStub(StubServer):
    """Answers like Ollama 0.12: ``/api/chat`` (non-streaming), ``/api/show``, ``/api/tags``."""

    def __init__(self, answer: Answer, models: tuple[str, ...] = ("llama3.1:8b",),
                 takes_schema: bool = True) -> None:
        super().__init__()
        self.answer = answer
        self.models = models
        self.takes_schema = takes_schema
        """Ollama before 0.5 took only ``format: "json"``."""

    def _has(self, model: str) -> bool:
        return (model if ":" in model else f"{model}:latest") in self.models

    def handle(self, request: Received) -> Reply:
        if request.path == "/api/tags":
            return Reply(200, {"models": [_ollama_model(name) for name in self.models]})
        if request.path == "/api/show" and request.method == "POST":
            model = request.body.get("model", "")
            if not self._has(model):
                return Reply(404, {"error": f"model '{model}' not found"})
            return Reply(200, _ollama_show(model if ":" in model else f"{model}:latest"))
        if request.path == "/api/chat" and request.method == "POST":
            return self._chat(request)
        return Reply(404, "404 page not found")

    def _chat(self, request: Received) -> Reply:
        model = request.body.get("model", "")
        if not self._has(model):
            return Reply(404, {"error": f'model "{model}" not found, try pulling it first'})
        if isinstance(request.body.get("format"), dict) and not self.takes_schema:
            return Reply(400, {"error": "json: cannot unmarshal object into Go struct field "
                                        "ChatRequest.format of type string"})
        limit = (request.body.get("options") or {}).get("num_predict")
        content = self.answer(request)
        truncated = limit is not None and count_tokens(content) > limit
        if truncated:
            content = first_tokens(content, limit)
        return Reply(200, {
            "model": model,
            "created_at": "2025-11-20T10:00:03.218113402Z",
            "message": {"role": "assistant", "content": content},
            "done_reason": "length" if truncated else "stop",
            "done": True,
            "total_duration": 3179251384,
            "load_duration": 1160839213,
            "prompt_eval_count": count_tokens(_user_text(request)) + 12,
            "prompt_eval_duration": 402166745,
            "eval_count": count_tokens(content),
            "eval_duration": 1614213524,
        })


def _ollama_model(name: str) -> dict[str, Any]:
    return {"name": name, "model": name, "modified_at": "2025-11-02T08:14:51.61844702Z",
            "size": 4920753328,
            "digest": "46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e",
            "details": {"parent_model": "", "format": "gguf", "family": "llama",
                        "families": ["llama"], "parameter_size": "8.0B",
                        "quantization_level": "Q4_K_M"}}


def _ollama_show(model: str) -> dict[str, Any]:
    return {"license": "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT",
            "modelfile": f"# Modelfile generated by \"ollama show\"\nFROM {model}\n",
            "parameters": 'stop                           "<|eot_id|>"',
            "template": "{{ .System }}{{ .Prompt }}",
            "details": _ollama_model(model)["details"],
            "model_info": {"general.architecture": "llama", "llama.context_length": 131072},
            "capabilities": ["embedding"] if "embed" in model else ["completion", "tools"],
            "modified_at": "2025-11-02T08:14:51.61844702+01:00"}


class OpenAIStub(StubServer):
    """Answers like an OpenAI-compatible server; ``flavor`` is ``openai``, ``llamacpp``,
    ``vllm`` or ``azure`` (dated API: ``/openai/deployments/NAME/...?api-version=``)."""

    def __init__(self, answer: Answer, flavor: str = "openai",
                 models: tuple[str, ...] = ("gpt-4o-mini",), api_key: str | None = None,
                 completion_tokens_only: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.answer = answer
        self.flavor = flavor
        self.models = models
        self.api_key = api_key
        self.completion_tokens_only = completion_tokens_only
        """Models that want ``max_completion_tokens`` and no ``temperature`` (o-series)."""

    def handle(self, request: Received) -> Reply:
        if self.api_key is not None:
            sent = (request.headers.get("api-key") if self.flavor == "azure"
                    else request.headers.get("authorization", "").removeprefix("Bearer "))
            if sent != self.api_key:
                return Reply(401, {"error": {
                    "message": "Incorrect API key provided. You can find your API key at "
                               "https://platform.openai.com/account/api-keys.",
                    "type": "invalid_request_error", "param": None,
                    "code": "invalid_api_key"}})
        path = request.path
        if self.flavor == "azure":
            match = re.fullmatch(r"/openai/deployments/([^/]+)/chat/completions", path)
            if match and request.method == "POST":
                return self._chat(request, match.group(1))
            return Reply(404, {"error": {"code": "404", "message": "Resource not found"}})
        if path == "/v1/models":
            return Reply(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "system"}
                for m in self.models]})
        if path.startswith("/v1/models/"):
            return self._model(request, path.removeprefix("/v1/models/"))
        if path == "/v1/chat/completions" and request.method == "POST":
            return self._chat(request, request.body.get("model", ""))
        return self._not_found(request)

    def _not_found(self, request: Received) -> Reply:
        if self.flavor == "vllm":
            return Reply(404, {"detail": "Not Found"})
        if self.flavor == "openai":
            return Reply(404, {"error": {
                "message": f"Invalid URL ({request.method} {request.path})",
                "type": "invalid_request_error", "param": None, "code": None}})
        return Reply(404, {"error": {"code": 404, "message": "File Not Found",
                                     "type": "not_found_error"}})

    def _model(self, request: Received, model: str) -> Reply:
        if self.flavor != "openai":
            return self._not_found(request)  # vLLM and llama.cpp list models, no such route
        if model in self.models:
            return Reply(200, {"id": model, "object": "model", "created": CREATED,
                               "owned_by": "system"})
        return Reply(404, {"error": {"message": f"The model '{model}' does not exist",
                                     "type": "invalid_request_error", "param": "model",
                                     "code": "model_not_found"}})

    def _chat(self, request: Received, model: str) -> Reply:
        body = request.body
        if self.flavor in ("openai", "vllm") and model not in self.models:
            if self.flavor == "vllm":
                return Reply(404, {"object": "error", "message": f"The model `{model}` does "
                                   "not exist.", "type": "NotFoundError", "param": None,
                                   "code": 404})
            return Reply(404, {"error": {
                "message": f"The model `{model}` does not exist or you do not have access "
                           "to it.", "type": "invalid_request_error", "param": None,
                "code": "model_not_found"}})
        if model in self.completion_tokens_only and "max_tokens" in body:
            return Reply(400, {"error": {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this "
                           "model. Use 'max_completion_tokens' instead.",
                "type": "invalid_request_error", "param": "max_tokens",
                "code": "unsupported_parameter"}})
        if model in self.completion_tokens_only and "temperature" in body:
            return Reply(400, {"error": {
                "message": "Unsupported parameter: 'temperature' is not supported with this "
                           "model.", "type": "invalid_request_error", "param": "temperature",
                "code": "unsupported_parameter"}})
        response_format = body.get("response_format") or {}
        if self.flavor == "llamacpp" and response_format.get("type") == "json_schema":
            return Reply(500, {"error": {
                "code": 500, "message": 'response_format type must be one of "text" or '
                                        '"json_object", but got: json_schema',
                "type": "server_error"}})
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        content = self.answer(request)
        truncated = limit is not None and count_tokens(content) > limit
        if truncated:
            content = first_tokens(content, limit)
        prompt_tokens = count_tokens(_user_text(request)) + 7
        completion_tokens = count_tokens(content)
        return _completion(self.flavor, model, content, "length" if truncated else "stop",
                           prompt_tokens, completion_tokens)


def _completion(flavor: str, model: str, content: str, finish_reason: str,
                prompt_tokens: int, completion_tokens: int) -> Reply:
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}
    ident = "chatcmpl-CdVhQ1M3a8x2Yb7TqkP0wZ4RnE6sL"
    if flavor == "llamacpp":
        return Reply(200, {
            "choices": [{"finish_reason": finish_reason, "index": 0,
                         "message": {"role": "assistant", "content": content}}],
            "created": CREATED, "model": model, "system_fingerprint": "b6980-0f4a8f2c",
            "object": "chat.completion", "usage": usage, "id": ident,
            "timings": {"prompt_n": prompt_tokens, "prompt_ms": 118.3,
                        "predicted_n": completion_tokens, "predicted_ms": 1540.2}})
    if flavor == "vllm":
        return Reply(200, {
            "id": ident, "object": "chat.completion", "created": CREATED, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "reasoning_content": None,
                                                 "content": content, "tool_calls": []},
                         "logprobs": None, "finish_reason": finish_reason,
                         "stop_reason": None}],
            "usage": {**usage, "prompt_tokens_details": None}, "prompt_logprobs": None})
    body: dict[str, Any] = {
        "id": ident, "object": "chat.completion", "created": CREATED,
        "model": "gpt-4o-mini-2024-07-18" if model == "gpt-4o-mini" else model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                             "refusal": None, "annotations": []},
                     "logprobs": None, "finish_reason": finish_reason}],
        "usage": {**usage,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0,
                                                "rejected_prediction_tokens": 0}},
        "service_tier": "default", "system_fingerprint": "fp_560af6e559"}
    headers = {"x-request-id": "req_4f1c2d9e8b7a6c5d4e3f2a1b0c9d8e7f",
               "openai-processing-ms": "1422", "x-ratelimit-limit-requests": "10000",
               "x-ratelimit-remaining-requests": "9999"}
    if flavor == "azure":
        body["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": {}}]
        body["choices"][0]["content_filter_results"] = {}
        headers = {"apim-request-id": "9b1e6a2c-3f4d-4e5a-8b7c-6d5e4f3a2b1c"}
    return Reply(200, body, headers)


def openai_refusal(model: str) -> Reply:
    """A completion whose message is a refusal, as structured outputs report one."""
    reply = _completion("openai", model, "", "stop", 180, 12)
    reply.body["choices"][0]["message"].update(
        content=None, refusal="I'm sorry, I cannot help with that request.")
    return reply


def openai_rate_limited(retry_after: str) -> Reply:
    """OpenAI's 429 for a requests-per-minute limit, with its ``Retry-After``."""
    return Reply(429, {"error": {
        "message": "Rate limit reached for gpt-4o-mini in organization org-k8sdoctortest on "
                   "requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in "
                   f"{retry_after}s. Visit https://platform.openai.com/account/rate-limits to "
                   "learn more.", "type": "requests", "param": None,
        "code": "rate_limit_exceeded"}},
        {"retry-after": retry_after, "x-ratelimit-remaining-requests": "0"})


# --- cassettes ------------------------------------------------------------------------------

REPLAY_URLS = {"ollama": "http://ollama.invalid:11434", "openai": "http://llm.invalid:8000/v1",
               "azure": "https://k8sdoctor-test.openai.invalid"}
"""Where replayed tests point: hosts that never resolve, so only the cassette can answer."""


@contextmanager
def recorded(name: str, stub: StubServer, api: str) -> Iterator[tuple[str, Cassette]]:
    """``(base URL, cassette)`` for a test: the stub's URL while recording (``RECORDING``),
    else a URL nothing answers, with every request served from ``CASSETTES/name.yaml``.
    On a clean exit every recorded interaction must have been played."""
    if RECORDING:
        (CASSETTES / f"{name}.yaml").unlink(missing_ok=True)  # "all" would append to it
        with stub, VCR.use_cassette(f"{name}.yaml", record_mode="all") as cassette:
            yield _base_url(stub.url, api), cassette
        return
    with VCR.use_cassette(f"{name}.yaml", record_mode="none") as cassette:
        yield REPLAY_URLS[api], cassette
        assert cassette.all_played, f"{name}: not every recorded request was made"


def _base_url(url: str, api: str) -> str:
    return {"ollama": url, "openai": f"{url}/v1", "azure": url}[api]


def sent_json(cassette: Cassette, index: int = 0) -> Any:
    """The JSON body of the ``index``-th request in the cassette (what the backend sent)."""
    body = cassette.requests[index].body
    return json.loads(body.decode() if isinstance(body, bytes) else body)
