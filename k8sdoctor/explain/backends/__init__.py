"""LLM backend types, found through the ``k8sdoctor.backends`` entry points, and the one function
that turns ``--backend/--model/--base-url``, the config file and the environment into a Backend.

Built-in types (``ollama``, ``openai``) register exactly as a third-party plugin would: an entry
point in the ``k8sdoctor.backends`` group naming a ``BackendType``. A type declares what it needs
(its default model and server, whether that server wants a key and from which environment
variable) and a factory that builds a ``Backend`` from resolved ``BackendSettings``.

Precedence, highest first: the command-line flags; the named backend's settings in the config
file; the environment (``OLLAMA_HOST``, ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``...); the type's
defaults. The environment does not override a named backend's own ``base_url``, so a global
``OPENAI_BASE_URL`` cannot redirect a backend configured for Azure.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from k8sdoctor.analysis.finding import RunError
from k8sdoctor.errors import BadInputError
from k8sdoctor.explain.backend import Backend, BackendUnavailableError
from k8sdoctor.explain.config import BackendConfig, Config, Secret
from k8sdoctor.explain.retry import RetryPolicy
from k8sdoctor.plugins import load_plugins

ENTRY_POINT_GROUP = "k8sdoctor.backends"
DEFAULT_BACKEND = "ollama"
"""Used when neither ``--backend`` nor ``default_backend`` names one: nothing leaves the machine."""


def _strip_trailing_slash(url: str) -> str:
    return url.rstrip("/")


@dataclass(frozen=True)
class BackendSettings:
    """Everything a backend factory needs, already resolved from flags, config and environment."""

    name: str
    """The config name (``gpt``), or the type name when no named backend was used."""
    type: str
    model: str
    base_url: str
    api_key: Secret | None = None
    key_source: str | None = None
    """Where the key came from, for messages: ``OPENAI_API_KEY`` (a variable) or
    ``config file PATH``."""
    key_env_var: str | None = None
    """The variable the user should set when the key is missing or refused."""
    api_version: str | None = None
    timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass(frozen=True)
class BackendType:
    """A kind of LLM server k8sdoctor can talk to, as registered under ``k8sdoctor.backends``."""

    name: str
    description: str
    factory: Callable[[BackendSettings], Backend]
    default_model: str
    default_base_url: str
    base_url_env_var: str | None = None
    """Environment variable with the server URL (``OLLAMA_HOST``)."""
    key_env_var: str | None = None
    """Environment variable with the API key (``OPENAI_API_KEY``)."""
    needs_key: bool = False
    """The default server refuses calls without a key; a server at another URL may not."""
    normalize_base_url: Callable[[str], str] = _strip_trailing_slash
    """Turns a user-written URL (``OLLAMA_HOST=0.0.0.0``) into the one that is called."""


def discover_backend_types() -> tuple[dict[str, BackendType], list[RunError]]:
    """Every installed backend type by name, and the plugins that could not be loaded."""
    return load_plugins(ENTRY_POINT_GROUP, BackendType, "backend")


def is_loopback_url(url: str) -> bool:
    """True when ``url`` points at this machine (``localhost``, ``127.0.0.0/8``, ``::1``, or the
    unspecified address a local client connects through), judged without any DNS lookup."""
    host = (urlsplit(url if "://" in url else f"http://{url}").hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def resolve_settings(
    name_or_type: str | None,
    model: str | None,
    base_url: str | None,
    config: Config | None,
    *,
    types: Mapping[str, BackendType],
    environ: Mapping[str, str] | None = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> BackendSettings:
    """The settings ``resolve_backend`` builds its backend from (see the module docstring)."""
    config = config if config is not None else Config()
    env = os.environ if environ is None else environ
    wanted = name_or_type or config.default_backend or DEFAULT_BACKEND
    named: BackendConfig | None = config.backends.get(wanted)
    if named is not None:
        backend_type = types.get(named.type)
        if backend_type is None:
            raise BadInputError(f"{named.origin}: backend {named.name!r} has unknown type "
                                f"{named.type!r}; installed types: {', '.join(types)}")
    elif wanted in types:
        backend_type = types[wanted]
    else:
        where = config.origins.get("default_backend") if not name_or_type else None
        configured = ", ".join(config.backends) or "none"
        raise BadInputError(f"{where + ': ' if where else ''}unknown backend {wanted!r}; "
                            f"configured: {configured}; types: {', '.join(types)}")

    env_url = env.get(backend_type.base_url_env_var or "", "").strip() or None
    chosen_url = (base_url or (named.base_url if named else None) or env_url
                  or backend_type.default_base_url)
    key, key_source, key_env_var = _api_key(backend_type, named, config, env)
    return BackendSettings(
        name=named.name if named else backend_type.name,
        type=backend_type.name,
        model=model or (named.model if named else None) or backend_type.default_model,
        base_url=backend_type.normalize_base_url(chosen_url),
        api_key=key,
        key_source=key_source,
        key_env_var=key_env_var,
        api_version=named.api_version if named else None,
        timeout=timeout or (named.timeout if named else None) or config.explain.timeout,
        retry=retry or RetryPolicy(),
    )


def resolve_backend(
    name_or_type: str | None,
    model: str | None,
    base_url: str | None,
    config: Config | None,
    *,
    environ: Mapping[str, str] | None = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
    require_key: bool = True,
) -> Backend:
    """The backend ``analyze --explain`` talks to.

    ``name_or_type`` is a backend named in the config file or a backend type (``ollama``,
    ``openai``); None takes the config's ``default_backend``, else ``ollama``. ``config=None``
    means no config file. ``timeout`` (seconds per call) overrides the config's.

    Raises ``BadInputError`` (exit 2) for an unknown name or type, and, unless
    ``require_key`` is False (``--show-prompt`` sends nothing), ``BackendUnavailableError``
    when the backend cannot work as configured (the default OpenAI server and no key): report
    that like a failed call, the findings stand. Building a backend makes no network call.
    """
    types, _ = discover_backend_types()
    settings = resolve_settings(name_or_type, model, base_url, config, types=types,
                                environ=environ, timeout=timeout, retry=retry)
    backend_type = types[settings.type]
    if (require_key and backend_type.needs_key and settings.api_key is None
            and settings.base_url == backend_type.normalize_base_url(
                backend_type.default_base_url)):
        variable = settings.key_env_var or "the key's environment variable"
        raise BackendUnavailableError(
            f"{settings.name} needs an API key for {settings.base_url}: set {variable}, or "
            "api_key_env for this backend in the config file")
    return backend_type.factory(settings)


def _api_key(
    backend_type: BackendType, named: BackendConfig | None, config: Config,
    env: Mapping[str, str],
) -> tuple[Secret | None, str | None, str | None]:
    if named is not None and named.api_key is not None:
        return named.api_key, f"config file {config.path}", None
    variable = (named.api_key_env if named else None) or backend_type.key_env_var
    if variable is None:
        return None, None, None
    value = env.get(variable, "").strip()
    return (Secret(value), variable, variable) if value else (None, None, variable)
