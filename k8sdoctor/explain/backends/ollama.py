"""The ``ollama`` backend: a local or remote Ollama server through the official ``ollama`` client.

One non-streaming ``/api/chat`` call per request, with ``format`` set to the answer's JSON schema
(Ollama's structured outputs, 0.5 and later), ``options.num_predict`` as the max-tokens limit,
``options.temperature``, and ``options.num_ctx`` large enough for the prompt and the answer:
Ollama's own default (2048 or 4096 tokens, by version and memory) would silently cut a prompt
with logs, system prompt first. A server too old for a schema gets ``format: "json"``, then
plain text; the mode that worked is kept for the backend's life. ``done_reason == "length"``
marks a truncated answer; token counts come from ``prompt_eval_count`` and ``eval_count``.

HTTP 429 and 5xx are retried (honouring ``Retry-After``) by ``k8sdoctor.explain.retry``: the
client reports neither headers nor the status on its errors, so an httpx response hook raises
them first. The ``ollama`` package is imported on first use, keeping ``--help`` fast.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from functools import partial
from typing import TYPE_CHECKING, Any

from k8sdoctor.explain.backend import (
    BackendAnswer,
    BackendError,
    BackendStatus,
    BackendUnavailableError,
    ExplainRequest,
)
from k8sdoctor.explain.backends import BackendSettings, BackendType, is_loopback_url
from k8sdoctor.explain.retry import (
    RetryAfterTooLong,
    RetryCounter,
    RetryHint,
    call_with_retry,
    retry_after_seconds,
)

if TYPE_CHECKING:
    import httpx
    import ollama

DEFAULT_PORT = 11434
MIN_CONTEXT_TOKENS = 8192
"""The smallest ``num_ctx`` asked for; larger prompts get the next power of two, so that the
server, which reloads a model whenever its context size changes, seldom has to."""
START_HINT = "start it with `ollama serve`, or point --base-url or OLLAMA_HOST at a running server"

# How the answer is asked for, most structured first: Ollama's ``format`` value for each mode.
_MODES: tuple[tuple[str, str | None], ...] = (
    ("json_schema", "schema"),
    ("json_object", "json"),
    ("text", None),
)


def normalize_host(host: str) -> str:
    """The URL the ``ollama`` client calls for an ``OLLAMA_HOST``-style value: ``0.0.0.0``,
    ``host:port``, ``http://host`` (port 80) and full URLs all work, as in Ollama's own CLI."""
    host = host.strip()
    scheme, separator, rest = host.partition("://")
    port = DEFAULT_PORT
    if not separator:
        scheme, rest = "http", host
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443
    split = urllib.parse.urlsplit(f"{scheme}://{rest}")
    hostname = split.hostname or "127.0.0.1"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    path = split.path.strip("/")
    return f"{scheme}://{hostname}:{split.port or port}" + (f"/{path}" if path else "")


def context_tokens(request: ExplainRequest) -> int:
    """The ``num_ctx`` for ``request``: room for its prompt (at a cautious three characters a
    token) and its answer, in powers of two from ``MIN_CONTEXT_TOKENS``."""
    needed = (len(request.system) + len(request.prompt)) // 3 + request.max_tokens
    size = MIN_CONTEXT_TOKENS
    while size < needed:
        size *= 2
    return size


class RetryableStatus(Exception):
    """An HTTP 429 or 5xx from the server, raised by the response hook with what it said."""

    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.headers = headers
        self.message = _error_text(body)


def _raise_retryable(response: httpx.Response) -> None:
    if response.status_code == 429 or response.status_code >= 500:
        response.read()
        raise RetryableStatus(response.status_code, dict(response.headers), response.text)


def _classify(err: Exception) -> RetryHint | None:
    import httpx

    if isinstance(err, RetryableStatus):
        return RetryHint(f"HTTP {err.status}", retry_after_seconds(err.headers))
    if isinstance(err, httpx.TransportError) and not isinstance(
            err, (httpx.TimeoutException, httpx.ConnectError)):
        return RetryHint(f"connection failed ({err})")
    return None


def _error_text(body: str) -> str:
    import json

    try:
        parsed = json.loads(body)
    except ValueError:
        return " ".join(body.split())[:200]
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        body = parsed["error"]
    return " ".join(body.split())[:200]


class OllamaBackend:
    """An Ollama server (see the module docstring). Safe to share between threads."""

    name = "ollama"
    parallel_calls = 1
    """Ollama answers one request at a time unless OLLAMA_NUM_PARALLEL says otherwise."""

    def __init__(self, settings: BackendSettings) -> None:
        self.model = settings.model
        self.base_url = normalize_host(settings.base_url)
        self.hosted = not is_loopback_url(self.base_url)
        self._settings = settings
        self._mode_index = 0
        self._client: ollama.Client | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OllamaBackend(model={self.model!r}, base_url={self.base_url!r})"

    def complete(self, request: ExplainRequest) -> BackendAnswer:
        import ollama

        started = time.monotonic()
        retries = RetryCounter()
        while True:
            mode_index = self._mode_index
            mode, format_kind = _MODES[mode_index]
            answer_format: Any = dict(request.schema) if format_kind == "schema" else format_kind
            try:
                response = call_with_retry(
                    partial(self._chat, request, answer_format), _classify,
                    self._settings.retry, on_retry=retries)
            except ollama.ResponseError as err:
                if (err.status_code == 400 and "format" in str(err.error).lower()
                        and mode_index + 1 < len(_MODES)):
                    self._mode_index = max(self._mode_index, mode_index + 1)
                    continue
                raise self._error(err, retries.count) from None
            except Exception as err:
                raise self._error(err, retries.count) from None
            break
        return BackendAnswer(
            text=response.message.content or "",
            model=self.model,
            mode=mode,
            truncated=response.done_reason == "length",
            prompt_tokens=response.prompt_eval_count,
            completion_tokens=response.eval_count,
            latency_seconds=time.monotonic() - started,
            retries=retries.count,
            extra={"done_reason": response.done_reason, "served_model": response.model},
        )

    def check(self) -> BackendStatus:
        try:
            shown = call_with_retry(lambda: self._get_client().show(self.model), _classify,
                                    self._settings.retry)
        except Exception as err:
            import httpx

            reachable = not isinstance(err, (ConnectionError, httpx.TimeoutException))
            return BackendStatus(reachable, False, str(self._error(err, 0)))
        capabilities = shown.capabilities
        if capabilities is not None and "completion" not in capabilities:
            return BackendStatus(True, False, f"Ollama at {self.base_url} has {self.model}, but "
                                 f"it cannot chat (capabilities: {', '.join(capabilities)})")
        return BackendStatus(True, True, f"Ollama at {self.base_url} answers and has "
                             f"{self.model}")

    def _chat(self, request: ExplainRequest, answer_format: Any) -> ollama.ChatResponse:
        return self._get_client().chat(
            model=self.model,
            messages=[{"role": "system", "content": request.system},
                      {"role": "user", "content": request.prompt}],
            format=answer_format,
            options={"num_ctx": context_tokens(request), "num_predict": request.max_tokens,
                     "temperature": request.temperature},
            stream=False,
        )

    def _get_client(self) -> ollama.Client:
        with self._lock:
            if self._client is None:
                import httpx
                import ollama

                timeout = self._settings.timeout
                key = self._settings.api_key
                self._client = ollama.Client(
                    host=self.base_url,
                    timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                    headers={"authorization": f"Bearer {key.reveal()}"} if key else None,
                    event_hooks={"response": [_raise_retryable]},
                )
            return self._client

    def _error(self, err: Exception, retries: int) -> BackendError:
        """The one line the user sees for ``err``."""
        import json

        import httpx
        import ollama
        import pydantic

        where = f"Ollama at {self.base_url}"
        tries = f" (after {retries + 1} attempts)" if retries else ""
        if isinstance(err, ConnectionError):
            reason = _connect_reason(err.__context__)
            return BackendUnavailableError(f"cannot connect to {where} ({reason}): {START_HINT}")
        if isinstance(err, httpx.TimeoutException):
            return BackendError(
                f"{where} did not answer within {self._settings.timeout:g} s: raise explain."
                "timeout in the config file, or use a smaller model")
        if isinstance(err, RetryAfterTooLong):
            return BackendError(f"{where} is rate limiting us and asks to retry after "
                                f"{err.retry_after:g} s; not waiting that long")
        if isinstance(err, RetryableStatus):
            return BackendError(f"{where} failed with HTTP {err.status}{tries}: {err.message}")
        if isinstance(err, ollama.ResponseError):
            message = str(err.error)
            if err.status_code == 404 and "model" in message:
                return BackendUnavailableError(f"{where} does not have the model {self.model}: "
                                               f"run `ollama pull {self.model}`")
            if err.status_code == 404:
                return BackendUnavailableError(
                    f"{self.base_url} answered HTTP 404 ({message}): is it an Ollama server?")
            if err.status_code in (401, 403):
                return BackendUnavailableError(
                    f"{where} refused the request (HTTP {err.status_code}: {message}): set "
                    f"{self._settings.key_env_var or 'OLLAMA_API_KEY'} to a key it accepts")
            return BackendError(f"{where} failed with HTTP {err.status_code}: {message}")
        if isinstance(err, httpx.TransportError):
            return BackendError(f"the connection to {where} failed{tries}: {err}")
        if isinstance(err, (json.JSONDecodeError, pydantic.ValidationError)):
            sample = " ".join(str(getattr(err, "doc", "") or err).split())[:80]
            return BackendError(f"{self.base_url} did not answer like an Ollama server: "
                                f"{sample!r}")
        raise err


def _connect_reason(cause: BaseException | None) -> str:
    text = str(cause) if cause is not None else ""
    if "refused" in text.lower():
        return "connection refused"
    return text or "connection failed"


OLLAMA = BackendType(
    name="ollama",
    description="An Ollama server, local or remote (/api/chat with a JSON schema format).",
    factory=OllamaBackend,
    default_model="llama3.1:8b",
    default_base_url=f"http://127.0.0.1:{DEFAULT_PORT}",
    base_url_env_var="OLLAMA_HOST",
    key_env_var="OLLAMA_API_KEY",
    needs_key=False,
    normalize_base_url=normalize_host,
)
