"""The user's configuration file: named LLM backends and the explain stage's defaults.

The file is YAML at ``$XDG_CONFIG_HOME/k8sdoctor/config.yaml`` (``~/.config/k8sdoctor/config.yaml``
when that variable is unset), or wherever ``--config`` or ``K8SDOCTOR_CONFIG`` points::

    default_backend: local
    backends:
      local: {type: ollama, model: llama3.1:8b, base_url: http://127.0.0.1:11434}
      gpt: {type: openai, model: gpt-4o-mini, api_key_env: OPENAI_API_KEY}
    explain: {language: en, anonymize: auto, cache_ttl: 7d, concurrency: 4, max_tokens: 1024}
    prices:                     # USD per million tokens, for k8sdoctor eval's cost column
      gpt-4o-mini: {prompt: 0.15, completion: 0.60}

A missing default file is an empty configuration; a malformed one is a ``BadInputError`` (exit 2)
naming the file, line and column. API keys may be written in the file (a warning is returned when
the file is readable by group or others) but are better left in the environment; either way they
are held in ``Secret`` values that never print.
"""

from __future__ import annotations

import datetime
import hmac
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from k8sdoctor.errors import BadInputError

if TYPE_CHECKING:  # imported when a file is read: most runs have no config file
    import yaml

CONFIG_ENV_VAR = "K8SDOCTOR_CONFIG"
"""Names a config file to read instead of the one in the XDG config directory."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class Secret:
    """A credential that never shows itself: ``repr``, ``str`` and formatting print a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("a Secret cannot be empty")
        self._value = value

    def reveal(self) -> str:
        """The credential itself: only for handing to the client library that sends it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class BackendConfig:
    """One named backend from the ``backends:`` section."""

    name: str
    type: str
    """A backend type: ``ollama``, ``openai``, or one a plugin registers."""
    model: str | None = None
    base_url: str | None = None
    api_key: Secret | None = None
    """A key written in the file itself."""
    api_key_env: str | None = None
    """The environment variable holding the key (default: the backend type's own, e.g.
    ``OPENAI_API_KEY``)."""
    api_version: str | None = None
    """Azure OpenAI's dated ``api-version``; with it, ``base_url`` is the Azure endpoint and
    ``model`` the deployment name."""
    timeout: float | None = None
    """Seconds to wait for one answer; overrides ``explain.timeout``."""
    origin: str = ""
    """Where it is defined (``FILE:LINE:COLUMN``), for error messages."""


@dataclass(frozen=True)
class ExplainDefaults:
    """The ``explain:`` section: defaults for ``analyze --explain`` that its flags override."""

    language: str = "en"
    """The language of the explanations."""
    prompts_dir: Path | None = None
    """A directory with the user's own prompt templates (relative paths are taken from the
    config file's directory)."""
    anonymize: bool | None = None
    """True or False; None (``auto``): on for hosted backends, off for local ones."""
    cache_ttl: float = 7 * 86400.0
    """Seconds a cached explanation stays valid; written as seconds or ``30m``, ``12h``, ``7d``."""
    concurrency: int | None = None
    """Backend calls in flight at once; None: as many as the backend serves at once by default
    (1 for Ollama, 4 for an OpenAI-compatible server)."""
    max_tokens: int = 1024
    """The answer's length limit, sent with every call."""
    timeout: float = 120.0
    """Seconds to wait for one answer."""


@dataclass(frozen=True)
class Price:
    """What a model costs, in US dollars per million tokens (the ``prices:`` section)."""

    prompt: float
    completion: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt + completion_tokens * self.completion) / 1e6


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``Config()`` is what no file at all means."""

    path: Path | None = None
    """The file it was read from, or None."""
    default_backend: str | None = None
    """A backend name from ``backends`` or a backend type; None means ``ollama``."""
    backends: Mapping[str, BackendConfig] = field(default_factory=dict)
    explain: ExplainDefaults = field(default_factory=ExplainDefaults)
    prices: Mapping[str, Price] = field(default_factory=dict)
    """Model name -> its price; a model not listed costs 0 on a local server, and is unknown
    on a hosted one."""
    warnings: tuple[str, ...] = ()
    """Things the user should hear about (print them to stderr); not errors."""
    origins: Mapping[str, str] = field(default_factory=dict)
    """``FILE:LINE:COLUMN`` of each setting by dotted key (``default_backend``,
    ``backends.gpt.type``), for error messages about values only checked later."""


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the config file lives when nothing says otherwise (the XDG base directory rule:
    a relative ``XDG_CONFIG_HOME`` is ignored)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return root / "k8sdoctor" / "config.yaml"


def load_config(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read the config file: ``path``, else ``$K8SDOCTOR_CONFIG``, else the default location.

    A file named explicitly must exist; the default one may be absent (an empty ``Config``).
    """
    env = os.environ if environ is None else environ
    explicit = path if path is not None else env.get(CONFIG_ENV_VAR) or None
    file = Path(explicit).expanduser() if explicit is not None else default_config_path(env)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit is None:
            return Config()
        raise BadInputError(f"config file {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "it is not UTF-8 text"
        raise BadInputError(f"cannot read config file {file}: {reason}") from None
    config = parse_config(text, file)
    if any(b.api_key is not None for b in config.backends.values()):
        warning = _readable_by_others(file)
        if warning:
            config = replace(config, warnings=(*config.warnings, warning))
    return config


def parse_config(text: str, path: Path) -> Config:
    """The configuration in ``text``, read from ``path`` (named in errors)."""
    document = _Document(text, str(path))
    root = document.data
    if root is None:
        return Config(path=path)
    document.expect_mapping((), {"default_backend", "backends", "explain", "prices"})
    default_backend = root.get("default_backend")
    if default_backend is not None:
        document.expect_name(("default_backend",))
    backends: dict[str, BackendConfig] = {}
    if root.get("backends") is not None:
        document.expect_mapping(("backends",), None)
        for name in root["backends"]:
            backends[name] = _backend(document, name)
    explain = ExplainDefaults()
    if root.get("explain") is not None:
        explain = _explain(document, path)
    prices = _prices(document) if root.get("prices") is not None else {}
    return Config(path=path, default_backend=default_backend, backends=backends,
                  explain=explain, prices=prices, origins=document.origins())


def _backend(document: _Document, name: str) -> BackendConfig:
    at = ("backends", name)
    if not _NAME.match(name):
        document.fail(at, f"backend name {name!r} must be letters, digits, '.', '_' or '-'")
    document.expect_mapping(at, {"type", "model", "base_url", "api_key", "api_key_env",
                                 "api_version", "timeout"})
    settings = document.get(at)
    if "type" not in settings:
        document.fail(at, f"backend {name!r} needs a type (ollama, openai, or a plugin's)")
    if "api_key" in settings and "api_key_env" in settings:
        document.fail(at, f"backend {name!r}: give api_key or api_key_env, not both")
    strings = {key: document.string((*at, key)) for key in
               ("type", "model", "base_url", "api_key", "api_key_env", "api_version")
               if key in settings}
    timeout = document.positive_number((*at, "timeout")) if "timeout" in settings else None
    return BackendConfig(
        name=name,
        type=strings["type"],
        model=strings.get("model"),
        base_url=strings.get("base_url"),
        api_key=Secret(strings["api_key"]) if "api_key" in strings else None,
        api_key_env=strings.get("api_key_env"),
        api_version=strings.get("api_version"),
        timeout=timeout,
        origin=document.where(at),
    )


def _explain(document: _Document, path: Path) -> ExplainDefaults:
    at = ("explain",)
    document.expect_mapping(at, {"language", "prompts_dir", "anonymize", "cache_ttl",
                                 "concurrency", "max_tokens", "timeout"})
    settings = document.get(at)
    defaults = ExplainDefaults()
    prompts_dir = defaults.prompts_dir
    if "prompts_dir" in settings:
        prompts_dir = Path(document.string((*at, "prompts_dir"))).expanduser()
        if not prompts_dir.is_absolute():
            prompts_dir = path.parent / prompts_dir
    return ExplainDefaults(
        language=(document.string((*at, "language")) if "language" in settings
                  else defaults.language),
        prompts_dir=prompts_dir,
        anonymize=(_anonymize(document, (*at, "anonymize")) if "anonymize" in settings
                   else defaults.anonymize),
        cache_ttl=(_duration(document, (*at, "cache_ttl")) if "cache_ttl" in settings
                   else defaults.cache_ttl),
        concurrency=(document.integer((*at, "concurrency"), 1, 64) if "concurrency" in settings
                     else defaults.concurrency),
        max_tokens=(document.integer((*at, "max_tokens"), 16, 1_000_000)
                    if "max_tokens" in settings else defaults.max_tokens),
        timeout=(document.positive_number((*at, "timeout")) if "timeout" in settings
                 else defaults.timeout),
    )


def _prices(document: _Document) -> dict[str, Price]:
    document.expect_mapping(("prices",), None)
    prices = {}
    for model in document.get(("prices",)):
        at = ("prices", model)
        document.expect_mapping(at, {"prompt", "completion"})
        rates = []
        for key in ("prompt", "completion"):
            value = document.get(at).get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                document.fail((*at, key) if key in document.get(at) else at,
                              f"prices.{model}.{key} must be US dollars per million tokens "
                              "(a number, 0 or more)")
            rates.append(float(value))
        prices[model] = Price(*rates)
    return prices


def _anonymize(document: _Document, at: tuple[str, ...]) -> bool | None:
    value = document.get(at)
    if isinstance(value, bool):
        return value
    if value == "auto":
        return None
    document.fail(at, "anonymize must be true, false or auto")


def _duration(document: _Document, at: tuple[str, ...]) -> float:
    value = document.get(at)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = _DURATION.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        document.fail(at, f"{at[-1]} must be seconds or a duration like 30m, 12h, 7d")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def _readable_by_others(file: Path) -> str | None:
    if os.name != "posix":
        return None
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except OSError:
        return None
    if mode & 0o077:
        return (f"{file} holds an API key and other users can read it (mode {mode:04o}); "
                f"run: chmod 600 {file}")
    return None


class _Document:
    """A parsed YAML document that remembers where each value came from, so that every error
    names ``FILE:LINE:COLUMN``."""

    def __init__(self, text: str, source: str) -> None:
        import yaml

        self.source = source
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            self.data: Any = loader.construct_document(node) if node is not None else None
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            problem = err.problem or err.context or "malformed YAML"
            position = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
            raise BadInputError(f"{source}{position}: {problem}") from None
        except yaml.YAMLError as err:
            raise BadInputError(f"{source}: {err}".replace("\n", " ")) from None
        finally:
            loader.dispose()
        self._marks: dict[tuple[str, ...], yaml.Mark] = {}
        self._key_marks: dict[tuple[str, ...], yaml.Mark] = {}
        if node is not None:
            self._record(node, ())

    def _record(self, node: yaml.Node, path: tuple[str, ...]) -> None:
        import yaml

        self._marks[path] = node.start_mark
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    self._key_marks[(*path, key.value)] = key.start_mark
                    self._record(value, (*path, key.value))

    def where(self, path: tuple[str, ...]) -> str:
        for depth in range(len(path), -1, -1):
            mark = self._marks.get(path[:depth])
            if mark is not None:
                return f"{self.source}:{mark.line + 1}:{mark.column + 1}"
        return self.source

    def origins(self) -> dict[str, str]:
        return {".".join(path): self.where(path) for path in self._marks if path}

    def fail(self, path: tuple[str, ...], message: str) -> NoReturn:
        raise BadInputError(f"{self.where(path)}: {message}")

    def get(self, path: tuple[str, ...]) -> Any:
        value = self.data
        for key in path:
            value = value[key]
        return value

    def expect_mapping(self, path: tuple[str, ...], allowed: set[str] | None) -> None:
        value = self.get(path)
        label = ".".join(path) or "the file"
        if not isinstance(value, dict):
            self.fail(path, f"{label} must be a mapping of keys to values")
        for key in value:
            if not isinstance(key, str):
                self.fail(path, f"{label}: key {key!r} must be a string")
            if allowed is not None and key not in allowed:
                mark = self._key_marks[(*path, key)]
                raise BadInputError(
                    f"{self.source}:{mark.line + 1}:{mark.column + 1}: unknown key {key!r} in "
                    f"{label}; known: {', '.join(sorted(allowed))}")

    def string(self, path: tuple[str, ...]) -> str:
        value = self.get(path)
        if isinstance(value, datetime.date):  # an unquoted api_version: 2024-10-21
            return value.isoformat()
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"{path[-1]} must be a non-empty string")
        return value.strip()

    def expect_name(self, path: tuple[str, ...]) -> None:
        if not _NAME.match(self.string(path)):
            self.fail(path, f"{path[-1]} must be a backend name")

    def integer(self, path: tuple[str, ...], low: int, high: int) -> int:
        value = self.get(path)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(path, f"{path[-1]} must be a whole number from {low} to {high}")
        return value

    def positive_number(self, path: tuple[str, ...]) -> float:
        value = self.get(path)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            self.fail(path, f"{path[-1]} must be a number of seconds above 0")
        return float(value)
