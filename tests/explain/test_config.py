"""The config file (named backends, explain defaults, errors with positions) and the resolution
of flags, config and environment into one backend."""

from __future__ import annotations

import pickle
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from k8sdoctor.errors import BadInputError
from k8sdoctor.explain.backend import BackendUnavailableError
from k8sdoctor.explain.backends import (
    BackendType,
    discover_backend_types,
    is_loopback_url,
    resolve_backend,
    resolve_settings,
)
from k8sdoctor.explain.backends.ollama import OllamaBackend, normalize_host
from k8sdoctor.explain.backends.openai import OpenAIBackend
from k8sdoctor.explain.config import (
    Config,
    ExplainDefaults,
    Secret,
    default_config_path,
    load_config,
    parse_config,
)
from k8sdoctor.explain.session import ExplainFlags, open_session

FULL = """\
# k8sdoctor settings
default_backend: gpt
backends:
  local:
    type: ollama
    model: qwen2.5:7b-instruct
    base_url: http://127.0.0.1:11434
  gpt:
    type: openai
    model: gpt-4o-mini
    api_key_env: WORK_OPENAI_KEY
  azure:
    type: openai
    model: explain-gpt4o
    base_url: https://contoso-ai.openai.azure.com
    api_version: 2024-10-21
    api_key: 3f2a9c1e0d4b4f6e8a7c5b3d1e9f0a2b
    timeout: 30
explain:
  language: de
  prompts_dir: prompts
  anonymize: auto
  cache_ttl: 12h
  concurrency: 2
  max_tokens: 800
  timeout: 90
"""

TYPES, _ = discover_backend_types()


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_a_full_config_is_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), environ={})
    assert config.default_backend == "gpt"
    assert list(config.backends) == ["local", "gpt", "azure"]
    azure = config.backends["azure"]
    assert (azure.type, azure.model, azure.api_version, azure.timeout) == (
        "openai", "explain-gpt4o", "2024-10-21", 30.0)
    assert azure.api_key == Secret("3f2a9c1e0d4b4f6e8a7c5b3d1e9f0a2b")
    assert azure.origin == f"{tmp_path / 'config.yaml'}:13:5"
    assert config.backends["gpt"].api_key_env == "WORK_OPENAI_KEY"
    assert config.explain == ExplainDefaults(
        language="de", prompts_dir=tmp_path / "prompts", anonymize=None, cache_ttl=43200.0,
        concurrency=2, max_tokens=800, timeout=90.0)
    assert config.warnings == ()


def test_a_missing_default_file_is_an_empty_config(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert default_config_path(environ) == tmp_path / "k8sdoctor" / "config.yaml"
    assert load_config(environ=environ) == Config()


def test_xdg_config_home_must_be_absolute(tmp_path: Path) -> None:
    assert default_config_path({"XDG_CONFIG_HOME": "relative/dir"}) == (
        Path.home() / ".config" / "k8sdoctor" / "config.yaml")


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"config file .*nope\.yaml does not exist"):
        load_config(environ={"K8SDOCTOR_CONFIG": str(tmp_path / "nope.yaml")})


def test_k8sdoctor_config_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "default_backend: local\n")
    assert load_config(environ={"K8SDOCTOR_CONFIG": str(path)}).default_backend == "local"


def test_a_key_in_a_file_others_can_read_is_warned_about(tmp_path: Path) -> None:
    path = write(tmp_path, FULL, mode=0o644)
    (warning,) = load_config(path, environ={}).warnings
    assert warning == (f"{path} holds an API key and other users can read it (mode 0644); "
                       f"run: chmod 600 {path}")
    assert "3f2a9c1e" not in warning


def test_no_warning_without_a_key_in_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "backends:\n  local: {type: ollama}\n", mode=0o644)
    assert load_config(path, environ={}).warnings == ()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("backends:\n  local: {type: ollama\n",
         ":3:1: expected ',' or '}', but got '<stream end>'"),
        ("explain:\n  language: de\n concurrency: 2\n", ":3:2: expected <block end>"),
        ("- a\n- b\n", ":1:1: the file must be a mapping of keys to values"),
        ("default_backends: gpt\n", ":1:1: unknown key 'default_backends' in the file; known: "
                                    "backends, default_backend, explain, prices"),
        ("backends:\n  gpt:\n    type: openai\n    api_key_evn: X\n",
         ":4:5: unknown key 'api_key_evn' in backends.gpt"),
        ("backends:\n  gpt:\n    model: gpt-4o\n", ":3:5: backend 'gpt' needs a type"),
        ("backends:\n  gpt: {type: openai, api_key: a, api_key_env: B}\n",
         ":2:8: backend 'gpt': give api_key or api_key_env, not both"),
        ("backends:\n  my gpt: {type: openai}\n", "backend name 'my gpt' must be"),
        ("backends:\n  gpt: {type: 3}\n", ":2:15: type must be a non-empty string"),
        ("explain:\n  concurrency: 0\n", ":2:16: concurrency must be a whole number from 1 to 64"),
        ("explain:\n  anonymize: sometimes\n", ":2:14: anonymize must be true, false or auto"),
        ("explain:\n  cache_ttl: a week\n", ":2:14: cache_ttl must be seconds or a duration"),
        ("explain:\n  timeout: -1\n", ":2:12: timeout must be a number of seconds above 0"),
        ("explain:\n  max_tokens: true\n", ":2:15: max_tokens must be a whole number"),
        ("prices:\n  gpt-4o: {prompt: 2.5, completion: cheap}\n",
         ":2:37: prices.gpt-4o.completion must be US dollars per million tokens"),
        ("prices:\n  gpt-4o: {prompt: 2.5}\n", ":2:11: prices.gpt-4o.completion must be"),
        ("prices:\n  gpt-4o: {input: 2.5}\n", "unknown key 'input' in prices.gpt-4o"),
    ],
)
def test_a_malformed_config_names_file_line_and_column(
        tmp_path: Path, text: str, error: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(BadInputError) as raised:
        load_config(path, environ={})
    assert str(raised.value).startswith(str(path))
    assert error in str(raised.value)
    assert raised.value.exit_code == 2


def test_prices_are_dollars_per_million_tokens(tmp_path: Path) -> None:
    config = parse_config("prices:\n  gpt-4o-mini: {prompt: 0.15, completion: 0.6}\n",
                          tmp_path / "c.yaml")
    price = config.prices["gpt-4o-mini"]
    assert price.cost(1_000_000, 500_000) == pytest.approx(0.45)


def test_durations_and_anonymize_forms(tmp_path: Path) -> None:
    config = parse_config("explain: {cache_ttl: 90, anonymize: true}\n", tmp_path / "c.yaml")
    assert (config.explain.cache_ttl, config.explain.anonymize) == (90.0, True)
    config = parse_config("explain: {cache_ttl: 7d, anonymize: false}\n", tmp_path / "c.yaml")
    assert (config.explain.cache_ttl, config.explain.anonymize) == (604800.0, False)
    assert parse_config("", tmp_path / "c.yaml") == Config(path=tmp_path / "c.yaml")


def test_a_secret_never_shows_itself() -> None:
    secret = Secret("sk-proj-abc123")
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret])):
        assert "abc123" not in shown
    assert secret.reveal() == "sk-proj-abc123"
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(ValueError):
        Secret("")


# --- resolution ------------------------------------------------------------------------------


def test_builtin_types_register_through_entry_points() -> None:
    assert list(TYPES) == ["ollama", "openai"]
    assert all(isinstance(t, BackendType) for t in TYPES.values())
    ollama, openai = TYPES["ollama"], TYPES["openai"]
    assert (ollama.needs_key, ollama.base_url_env_var, ollama.default_model) == (
        False, "OLLAMA_HOST", "llama3.1:8b")
    assert (openai.needs_key, openai.key_env_var, openai.default_base_url) == (
        True, "OPENAI_API_KEY", "https://api.openai.com/v1")


def test_nothing_configured_means_a_local_ollama() -> None:
    backend = resolve_backend(None, None, None, None, environ={})
    assert isinstance(backend, OllamaBackend)
    assert (backend.model, backend.base_url, backend.hosted) == (
        "llama3.1:8b", "http://127.0.0.1:11434", False)


def test_flags_beat_the_named_backend_which_beats_the_environment(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), environ={})
    environ = {"OLLAMA_HOST": "gpu-box.lan:11434", "WORK_OPENAI_KEY": "sk-work-1"}
    local = resolve_settings("local", None, None, config, types=TYPES, environ=environ)
    assert (local.model, local.base_url) == ("qwen2.5:7b-instruct", "http://127.0.0.1:11434")
    flagged = resolve_settings("local", "llama3.2:3b", "10.0.0.7", config, types=TYPES,
                               environ=environ)
    assert (flagged.model, flagged.base_url) == ("llama3.2:3b", "http://10.0.0.7:11434")
    by_type = resolve_settings("ollama", None, None, config, types=TYPES, environ=environ)
    assert (by_type.name, by_type.base_url) == ("ollama", "http://gpu-box.lan:11434")
    gpt = resolve_settings(None, None, None, config, types=TYPES, environ=environ)
    assert (gpt.name, gpt.api_key, gpt.key_source) == ("gpt", Secret("sk-work-1"),
                                                       "WORK_OPENAI_KEY")
    assert (gpt.timeout, local.timeout) == (90.0, 90.0)


def test_keys_come_from_the_file_or_the_environment(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), environ={})
    azure = resolve_settings("azure", None, None, config, types=TYPES,
                             environ={"OPENAI_API_KEY": "sk-env"})
    assert azure.api_key == Secret("3f2a9c1e0d4b4f6e8a7c5b3d1e9f0a2b")
    assert azure.key_source == f"config file {config.path}"
    assert (azure.api_version, azure.timeout) == ("2024-10-21", 30.0)
    plain = resolve_settings("openai", None, None, config, types=TYPES,
                             environ={"OPENAI_API_KEY": " sk-env \n",
                                      "OPENAI_BASE_URL": "http://127.0.0.1:8080/v1/"})
    assert (plain.api_key, plain.key_source, plain.base_url) == (
        Secret("sk-env"), "OPENAI_API_KEY", "http://127.0.0.1:8080/v1")


def test_the_openai_api_without_a_key_is_unavailable_but_a_local_server_is_fine() -> None:
    with pytest.raises(BackendUnavailableError) as raised:
        resolve_backend("openai", None, None, None, environ={})
    assert str(raised.value) == ("openai needs an API key for https://api.openai.com/v1: set "
                                 "OPENAI_API_KEY, or api_key_env for this backend in the "
                                 "config file")
    local = resolve_backend("openai", "qwen2.5-7b-instruct", "http://127.0.0.1:8080/v1", None,
                            environ={})
    assert isinstance(local, OpenAIBackend)
    assert not local.hosted


def test_a_backend_never_shows_its_key() -> None:
    backend = resolve_backend("openai", None, None, None,
                              environ={"OPENAI_API_KEY": "sk-proj-SECRETVALUE"}, timeout=5)
    settings = resolve_settings("openai", None, None, None, types=TYPES,
                                environ={"OPENAI_API_KEY": "sk-proj-SECRETVALUE"})
    for shown in (repr(backend), str(backend), repr(settings), str(vars(backend))):
        assert "SECRETVALUE" not in shown
    assert backend.hosted


def test_unknown_backends_are_usage_errors(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), environ={})
    with pytest.raises(BadInputError, match=r"unknown backend 'claude'; configured: local, "
                                            r"gpt, azure; types: ollama, openai"):
        resolve_settings("claude", None, None, config, types=TYPES, environ={})
    bad_type = load_config(write(tmp_path, "backends:\n  x: {type: bedrock}\n"), environ={})
    with pytest.raises(BadInputError, match=r"config.yaml:2:6: backend 'x' has unknown type "
                                            r"'bedrock'; installed types: ollama, openai"):
        resolve_settings("x", None, None, bad_type, types=TYPES, environ={})
    bad_default = load_config(write(tmp_path, "default_backend: nope\n"), environ={})
    with pytest.raises(BadInputError, match=r"config.yaml:1:18: unknown backend 'nope'"):
        resolve_settings(None, None, None, bad_default, types=TYPES, environ={})


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:11434", True),
        ("http://localhost:8080/v1", True),
        ("http://[::1]:11434", True),
        ("http://0.0.0.0:11434", True),
        ("127.0.0.5:11434", True),
        ("http://ollama.localhost", True),
        ("http://192.168.1.20:11434", False),
        ("https://api.openai.com/v1", False),
        ("http://localhost.example.com", False),
    ],
)
def test_hosted_means_not_loopback(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://0.0.0.0:11434"),
        (":5000", "http://127.0.0.1:5000"),
        ("gpu-box:8000", "http://gpu-box:8000"),
        ("http://gpu-box", "http://gpu-box:80"),
        ("https://ollama.example.com/", "https://ollama.example.com:443"),
        ("https://example.com:56789/path/", "https://example.com:56789/path"),
        ("[::1]:11434", "http://[::1]:11434"),
    ],
)
def test_ollama_host_forms(host: str, url: str) -> None:
    assert normalize_host(host) == url


def test_a_broken_backend_plugin_is_reported_and_the_others_load(
        monkeypatch: pytest.MonkeyPatch) -> None:
    group = "k8sdoctor.backends"
    installed = [
        EntryPoint("ollama", "k8sdoctor.explain.backends.ollama:OLLAMA", group),
        EntryPoint("bedrock", "k8sdoctor_bedrock_missing:BACKEND", group),
        EntryPoint("config", "k8sdoctor.explain.config:Config", group),
        EntryPoint("ollama2", "k8sdoctor.explain.backends.ollama:OLLAMA", group),
    ]
    monkeypatch.setattr("k8sdoctor.plugins.entry_points", lambda group: installed)
    types, errors = discover_backend_types()
    assert list(types) == ["ollama"]
    assert [(e.stage, e.subject) for e in errors] == [
        ("plugin", "bedrock"), ("plugin", "config"), ("plugin", "ollama2")]
    assert errors[0].message.startswith("cannot load k8sdoctor_bedrock_missing:BACKEND: "
                                        "ModuleNotFoundError")
    assert errors[1].message == "k8sdoctor.explain.config:Config is not a k8sdoctor BackendType"
    assert errors[2].message == "another plugin already provides backend 'ollama'"


@pytest.mark.parametrize(
    ("config", "backend", "concurrency"),
    [
        ("", "ollama", 1),
        ("", "openai", 4),
        ("explain: {concurrency: 3}\n", "ollama", 3),
    ],
)
def test_concurrency_defaults_to_what_the_server_answers_at_once(
        tmp_path: Path, config: str, backend: str, concurrency: int) -> None:
    path = write(tmp_path, config)
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "OPENAI_API_KEY": "sk-test"}
    session = open_session(ExplainFlags(backend=backend, config_path=str(path)), None,
                           environ=environ)
    assert session.stage is not None
    assert session.stage.options.concurrency == concurrency
