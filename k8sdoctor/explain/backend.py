"""The interface between the explain stage and an LLM backend (Ollama, OpenAI-compatible).

A backend takes one fully rendered request and returns the model's raw answer; it knows nothing
of Kubernetes, grouping, caching or anonymization. Backends raise ``BackendError`` for anything
the user should see (unreachable server, unknown model, refused key); any other exception is a bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ExplainRequest:
    system: str
    """The system prompt."""
    prompt: str
    """The user prompt: the root cause, with cluster text fenced as untrusted data."""
    schema: Mapping[str, Any]
    """JSON Schema of the answer: ``{summary, rootCause, steps, commands, confidence}``."""
    max_tokens: int = 1024
    temperature: float = 0.2


@dataclass(frozen=True)
class BackendAnswer:
    text: str
    """The model's answer as it came: JSON when a structured mode worked, else prose."""
    model: str
    mode: str
    """How the answer was asked for: ``json_schema``, ``json_object`` or ``text``."""
    truncated: bool = False
    """The answer stopped at the max-tokens limit."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_seconds: float = 0.0
    retries: int = 0
    """Attempts repeated after a 429, a 5xx or a dropped connection."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """What the server said beyond that, for diagnostics (``finish_reason``, the model that
    actually served the request)."""


@dataclass(frozen=True)
class BackendStatus:
    """What ``k8sdoctor backends check`` reports."""

    reachable: bool
    model_available: bool
    message: str


class BackendError(Exception):
    """A failure to show the user in one line (the message names the URL and what to do)."""


class BackendUnavailableError(BackendError):
    """A failure every further call to this backend would repeat until the user acts.

    The server cannot be reached, the API key is refused, the model is not there. The explain
    stage may stop calling the backend for the rest of the run and give every remaining group
    this same reason, instead of failing the same way once per group.
    """


class Backend(Protocol):
    name: str
    """``ollama`` or ``openai``."""
    model: str
    hosted: bool
    """True when requests leave this machine for a third party: anonymization defaults on."""
    parallel_calls: int
    """Calls to have in flight when the config does not say: as many as the server answers at
    once by default, since a queued call spends its timeout waiting."""

    def complete(self, request: ExplainRequest) -> BackendAnswer:
        """One answer to ``request``; raises ``BackendError``. Safe to call from several threads."""
        ...

    def check(self) -> BackendStatus:
        """Whether the server answers and has the model; reports problems, never raises them."""
        ...
