"""The ``openai`` backend: the OpenAI API and OpenAI-compatible servers (vLLM, LocalAI, the
llama.cpp server, Azure OpenAI) through the official ``openai`` client.

One ``/v1/chat/completions`` call per request, asking for structured output in the strongest form
the server takes: ``response_format`` of type ``json_schema`` (strict), then ``json_object`` with
the schema alongside (the llama.cpp server's extension; it rejects ``json_schema`` with HTTP 500),
then plain ``json_object``, then nothing (plain text). A 400, 422 or 500 that blames the
``response_format`` moves one step down; a 400 that asks for ``max_completion_tokens`` instead of
``max_tokens``, or refuses a ``temperature``, is honoured. What worked is kept for the backend's
life. ``finish_reason == "length"`` marks a truncated answer.

The client's own retries are off: HTTP 408, 429 and 5xx are retried by ``k8sdoctor.explain.retry``
(``Retry-After`` and ``retry-after-ms`` honoured; an exhausted quota is not retried). Azure
OpenAI works two ways: its v1 API as any compatible server (``base_url`` ending in
``/openai/v1``), or a dated ``api_version`` in the config, with ``base_url`` the resource endpoint
and ``model`` the deployment. The ``openai`` package is imported on first use.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
    import openai
    from openai.types.chat import ChatCompletion

SCHEMA_NAME = "k8sdoctor_explanation"
NO_KEY = "no-key-set"
"""Sent when no key is configured: the client insists on one, keyless local servers ignore it."""

# (step, the mode reported in BackendAnswer.mode), most structured first.
_FORMATS: tuple[tuple[str, str], ...] = (
    ("json_schema", "json_schema"),
    ("json_object+schema", "json_object"),
    ("json_object", "json_object"),
    ("text", "text"),
)
_FORMAT_COMPLAINT = re.compile(
    r"response_format|json_schema|json_object|schema|grammar|structured output", re.IGNORECASE)
_RETRYABLE_STATUS = {408, 429}


class OpenAIBackend:
    """An OpenAI-compatible server (see the module docstring). Safe to share between threads."""

    name = "openai"
    parallel_calls = 4

    def __init__(self, settings: BackendSettings) -> None:
        self.model = settings.model
        self.base_url = settings.base_url
        self.hosted = not is_loopback_url(self.base_url)
        self._settings = settings
        self._format_index = 0
        self._token_param = "max_tokens"
        self._send_temperature = True
        self._client: openai.OpenAI | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, base_url={self.base_url!r})"

    def complete(self, request: ExplainRequest) -> BackendAnswer:
        started = time.monotonic()

        def build() -> dict[str, Any]:
            return self._params(request.system, request.prompt, request.max_tokens,
                                request.temperature, _FORMATS[self._format_index][0],
                                request.schema)

        completion, retries, sent = self._create(build)
        mode = dict(_FORMATS)[_step_of(sent)]
        choice = completion.choices[0] if completion.choices else None
        if choice is None:
            raise BackendError(f"{self.base_url} sent a completion without any choice")
        if getattr(choice.message, "refusal", None):
            raise BackendError(f"the model refused to answer: {choice.message.refusal}")
        usage = completion.usage
        return BackendAnswer(
            text=choice.message.content or "",
            model=self.model,
            mode=mode,
            truncated=choice.finish_reason == "length",
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            latency_seconds=time.monotonic() - started,
            retries=retries,
            extra={"finish_reason": choice.finish_reason, "served_model": completion.model},
        )

    def check(self) -> BackendStatus:
        import openai

        try:
            if self._settings.api_version or _is_azure(self.base_url):
                # An Azure deployment can only be seen by calling it: a one-line probe.
                self._create(lambda: self._params("", "Reply with OK.", 16, None, "text", {}))
                return BackendStatus(True, True, f"{self.base_url} answers with deployment "
                                     f"{self.model}")
            return self._check_model_listed()
        except BackendError as err:
            # __context__ is the client's exception that _create turned into this one.
            reachable = not isinstance(err.__context__, openai.APIConnectionError)
            return BackendStatus(reachable, False, str(err))
        except (openai.OpenAIError, RetryAfterTooLong) as err:
            reachable = not isinstance(err, openai.APIConnectionError)
            return BackendStatus(reachable, False, str(self._error(err, 0)))

    def _check_model_listed(self) -> BackendStatus:
        import openai

        client = self._get_client()
        try:
            call_with_retry(partial(client.models.retrieve, self.model), _classify,
                            self._settings.retry)
        except openai.NotFoundError as err:
            if _is_unknown_model(err):
                raise
            # No per-model route (vLLM, the llama.cpp server): look for it in the list.
            listed = [m.id for m in call_with_retry(client.models.list, _classify,
                                                    self._settings.retry)]
            if self.model not in listed:
                shown = ", ".join(listed[:8]) + (", ..." if len(listed) > 8 else "")
                return BackendStatus(True, False, f"{self.base_url} answers but does not list "
                                     f"the model {self.model!r} (it lists: {shown or 'none'})")
        return BackendStatus(True, True, f"{self.base_url} answers and has {self.model}")

    def _params(self, system: str, prompt: str, max_tokens: int, temperature: float | None,
                step: str, schema: Any) -> dict[str, Any]:
        messages = [{"role": "user", "content": prompt}]
        if system:
            messages.insert(0, {"role": "system", "content": system})
        params: dict[str, Any] = {"model": self.model, "messages": messages,
                                  self._token_param: max_tokens}
        if temperature is not None and self._send_temperature:
            params["temperature"] = temperature
        if step == "json_schema":
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "schema": dict(schema), "strict": True},
            }
        elif step == "json_object+schema":
            params["response_format"] = {"type": "json_object", "schema": dict(schema)}
        elif step == "json_object":
            params["response_format"] = {"type": "json_object"}
        return params

    def _create(
        self, build: Callable[[], dict[str, Any]]
    ) -> tuple[ChatCompletion, int, dict[str, Any]]:
        """One completion, the request adapted to what the server takes (``build`` makes it
        from the backend's current state): ``(completion, retries, parameters sent)``. Raises
        ``BackendError``."""
        import openai
        from openai.types.chat import ChatCompletion

        retries = RetryCounter()
        client = self._get_client()
        while True:
            params = build()
            try:
                completion = call_with_retry(partial(client.chat.completions.create, **params),
                                             _classify, self._settings.retry, retries)
            except openai.APIStatusError as err:
                if self._adapt(err, params):
                    continue
                raise self._error(err, retries.count) from None
            except (openai.OpenAIError, RetryAfterTooLong) as err:
                raise self._error(err, retries.count) from None
            if not isinstance(completion, ChatCompletion):
                sample = " ".join(str(completion).split())[:80]
                raise BackendError(f"{self.base_url} did not answer like an OpenAI-compatible "
                                   f"server: {sample!r}")
            return completion, retries.count, params

    def _adapt(self, err: openai.APIStatusError, sent: dict[str, Any]) -> bool:
        """Change what the next request sends if ``err`` says the server cannot take part of
        it; False when there is nothing left to change."""
        text = _server_message(err)
        param = getattr(err, "param", None)
        if (err.status_code == 400 and "max_tokens" in sent and self._token_param == "max_tokens"
                and (param == "max_tokens" or "max_completion_tokens" in text)):
            self._token_param = "max_completion_tokens"
            return True
        if (err.status_code == 400 and "temperature" in sent and self._send_temperature
                and (param == "temperature" or "temperature" in text)):
            self._send_temperature = False
            return True
        if _rejects_format(err) and "response_format" in sent:
            next_index = [step for step, _ in _FORMATS].index(_step_of(sent)) + 1
            self._format_index = max(self._format_index, next_index)
            return True
        return False

    def _get_client(self) -> openai.OpenAI:
        with self._lock:
            if self._client is None:
                import openai

                settings = self._settings
                key = settings.api_key.reveal() if settings.api_key else NO_KEY
                timeout = openai.Timeout(settings.timeout, connect=min(settings.timeout, 10.0))
                if settings.api_version:
                    self._client = openai.AzureOpenAI(
                        azure_endpoint=self.base_url, api_version=settings.api_version,
                        api_key=key, max_retries=0, timeout=timeout)
                else:
                    self._client = openai.OpenAI(api_key=key, base_url=self.base_url,
                                                 max_retries=0, timeout=timeout)
            return self._client

    def _error(self, err: Exception, retries: int) -> BackendError:
        """The one line the user sees for ``err``."""
        import httpx2
        import openai

        url = self.base_url
        tries = f" after {retries + 1} attempts" if retries else ""
        settings = self._settings
        if isinstance(err, RetryAfterTooLong):
            return BackendError(f"{url} is rate limiting us and asks to retry after "
                                f"{err.retry_after:g} s; not waiting that long")
        if isinstance(err, openai.APITimeoutError):
            return BackendError(f"{url} did not answer within {settings.timeout:g} s: raise "
                                "explain.timeout in the config file, or use a faster model")
        if isinstance(err, openai.APIConnectionError):
            cause = err.__cause__
            if isinstance(cause, httpx2.ConnectError):
                reason = "connection refused" if "refused" in str(cause).lower() else str(cause)
                return BackendUnavailableError(f"cannot connect to {url} ({reason})")
            return BackendError(f"the connection to {url} failed{tries}: {cause or err}")
        if not isinstance(err, openai.APIStatusError):
            return BackendError(f"{url}: {type(err).__name__}: {err}")
        message = _server_message(err)
        status = err.status_code
        if status == 401:
            if settings.api_key is None:
                return BackendUnavailableError(
                    f"{url} wants an API key and none is set: set "
                    f"{settings.key_env_var or 'OPENAI_API_KEY'} or api_key_env in the config file")
            return BackendUnavailableError(f"the API key was refused ({settings.key_source})")
        if status == 403:
            return BackendUnavailableError(f"{url} refused access (HTTP 403): {message}")
        if status == 404 and _is_unknown_model(err):
            return BackendUnavailableError(
                f"unknown model {self.model!r} at {url}: {message}")
        if status == 404:
            return BackendUnavailableError(
                f"{url} answered HTTP 404 ({message}): check the base URL (OpenAI-compatible "
                "servers usually end in /v1)")
        if status == 429 and getattr(err, "code", None) == "insufficient_quota":
            return BackendUnavailableError(f"{url}: the account's quota is used up: {message}")
        if status == 429:
            return BackendError(f"{url} kept rate limiting us (HTTP 429{tries}): {message}")
        if status >= 500:
            return BackendError(f"{url} failed with HTTP {status}{tries}: {message}")
        return BackendError(f"{url} rejected the request (HTTP {status}): {message}")


def _classify(err: Exception) -> RetryHint | None:
    import httpx2
    import openai

    if isinstance(err, openai.APIStatusError):
        status = err.status_code
        if status == 429 and getattr(err, "code", None) == "insufficient_quota":
            return None
        if status in _RETRYABLE_STATUS or (status >= 500 and not _rejects_format(err)):
            return RetryHint(f"HTTP {status}", retry_after_seconds(err.response.headers))
        return None
    if isinstance(err, openai.APITimeoutError):
        return None
    if isinstance(err, openai.APIConnectionError) and not isinstance(
            err.__cause__, httpx2.ConnectError):
        return RetryHint(f"connection failed ({err.__cause__ or err})")
    return None


def _server_message(err: openai.APIStatusError) -> str:
    """What the server said, on one line, from OpenAI's ``{"error": {"message"}}``, vLLM's
    ``{"object": "error", "message"}``, or the raw body."""
    body = err.body
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str):
                return " ".join(body[key].split())[:300]
    try:
        text = err.response.text
    except Exception:  # a streamed or closed body: the status says enough
        text = ""
    return " ".join(text.split())[:300] or f"HTTP {err.status_code}"


def _rejects_format(err: openai.APIStatusError) -> bool:
    return err.status_code in (400, 422, 500) and bool(
        _FORMAT_COMPLAINT.search(_server_message(err)))


def _is_unknown_model(err: openai.APIStatusError) -> bool:
    message = _server_message(err).lower()
    return getattr(err, "code", None) == "model_not_found" or (
        "model" in message and ("not exist" in message or "not found" in message))


def _is_azure(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host.endswith((".openai.azure.com", ".cognitiveservices.azure.com"))


def _step_of(params: dict[str, Any]) -> str:
    """Which of ``_FORMATS`` a request's parameters ask for."""
    response_format = params.get("response_format")
    if response_format is None:
        return "text"
    if response_format.get("type") == "json_schema":
        return "json_schema"
    return "json_object+schema" if "schema" in response_format else "json_object"


OPENAI = BackendType(
    name="openai",
    description="The OpenAI API or an OpenAI-compatible server: vLLM, LocalAI, llama.cpp, Azure.",
    factory=OpenAIBackend,
    default_model="gpt-4o-mini",
    default_base_url="https://api.openai.com/v1",
    base_url_env_var="OPENAI_BASE_URL",
    key_env_var="OPENAI_API_KEY",
    needs_key=True,
)
