"""``k8sdoctor backends`` and ``k8sdoctor backends check``, against stub servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.explain.backend_data import ANSWER
from tests.explain.stubs import OllamaStub, OpenAIStub, closed_port_url

KEY_IN_FILE = "sk-file-8e2b6d4f1a3c"
KEY_IN_ENV = "sk-env-1f3a5c7e9b2d"


@pytest.fixture
def config_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An XDG config home with no config yet and none of the LLM variables set."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for name in ("K8SDOCTOR_CONFIG", "OLLAMA_HOST", "OLLAMA_API_KEY", "OPENAI_API_KEY",
                 "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "k8sdoctor").mkdir()
    return tmp_path


@pytest.fixture
def servers() -> Iterator[tuple[OllamaStub, OpenAIStub]]:
    with (OllamaStub(lambda request: ANSWER) as ollama,
          OpenAIStub(lambda request: ANSWER, api_key=KEY_IN_FILE) as openai):
        yield ollama, openai


def write_config(home: Path, text: str, mode: int = 0o600) -> Path:
    path = home / "k8sdoctor" / "config.yaml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_backends_lists_names_types_and_key_sources_never_keys(
        run_cli: RunCli, config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORK_KEY", KEY_IN_ENV)
    path = write_config(config_home, f"""\
default_backend: gpt
backends:
  local: {{type: ollama, model: qwen2.5:7b, base_url: "0.0.0.0:11434"}}
  gpt: {{type: openai, api_key: {KEY_IN_FILE}}}
  work: {{type: openai, model: gpt-4o, base_url: https://llm.example.com/v1,
         api_key_env: WORK_KEY}}
  lab: {{type: openai, model: qwen2.5-7b, base_url: http://10.1.2.3:8000/v1,
        api_key_env: LAB_KEY}}
""", mode=0o640)
    result = run_cli(["backends"])
    assert result.code == 0
    assert result.stdout.splitlines() == [
        "NAME           TYPE    MODEL        URL                         KEY",
        "local          ollama  qwen2.5:7b   http://0.0.0.0:11434        -",
        f"gpt (default)  openai  gpt-4o-mini  https://api.openai.com/v1   config file {path}",
        "work           openai  gpt-4o       https://llm.example.com/v1  $WORK_KEY",
        "lab            openai  qwen2.5-7b   http://10.1.2.3:8000/v1     $LAB_KEY (not set)",
        "ollama         ollama  llama3.1:8b  http://127.0.0.1:11434      -",
        "openai         openai  gpt-4o-mini  https://api.openai.com/v1   $OPENAI_API_KEY (not set)",
        "",
        f"config file: {path}",
    ]
    assert result.stderr == (f"k8sdoctor: warning: {path} holds an API key and other users can "
                             f"read it (mode 0640); run: chmod 600 {path}\n")
    assert KEY_IN_FILE not in result.stdout + result.stderr
    assert KEY_IN_ENV not in result.stdout + result.stderr


def test_backends_with_no_config_file(run_cli: RunCli, config_home: Path) -> None:
    result = run_cli(["backends"])
    assert result.code == 0
    assert result.stdout.splitlines()[1].startswith("ollama (default)  ollama  llama3.1:8b")
    assert result.stdout.endswith(
        f"config file: {config_home / 'k8sdoctor' / 'config.yaml'} (none yet)\n")


def test_check_says_ok_and_exits_0(
        run_cli: RunCli, config_home: Path, servers: tuple[OllamaStub, OpenAIStub]) -> None:
    ollama, openai = servers
    write_config(config_home, f"""\
default_backend: gpt
backends:
  local: {{type: ollama, base_url: "{ollama.url}"}}
  gpt: {{type: openai, base_url: "{openai.url}/v1", api_key: {KEY_IN_FILE}}}
""")
    local = run_cli(["backends", "check", "local"])
    assert (local.code, local.stdout) == (
        0, f"local (ollama, llama3.1:8b): ok: Ollama at {ollama.url} answers and has "
           "llama3.1:8b\n")
    default = run_cli(["backends", "check"])
    assert (default.code, default.stdout) == (
        0, f"gpt (openai, gpt-4o-mini): ok: {openai.url}/v1 answers and has gpt-4o-mini\n")
    assert [r.path for r in openai.received] == ["/v1/models/gpt-4o-mini"]


def test_check_a_missing_model_exits_1_with_the_pull_command(
        run_cli: RunCli, config_home: Path, servers: tuple[OllamaStub, OpenAIStub]) -> None:
    ollama, _ = servers
    result = run_cli(["backends", "check", "ollama", "--base-url", ollama.url,
                      "--model", "mistral"])
    assert (result.code, result.stdout) == (
        1, f"ollama (ollama, mistral): not usable: Ollama at {ollama.url} does not have the "
           "model mistral: run `ollama pull mistral`\n")


def test_check_an_unreachable_backend_exits_1_in_one_line(
        run_cli: RunCli, config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = closed_port_url()
    monkeypatch.setenv("OLLAMA_HOST", url)
    result = run_cli(["backends", "check"])
    assert result.code == 1
    assert result.stdout == (
        f"ollama (ollama, llama3.1:8b): not usable: cannot connect to Ollama at "
        f"{url} (connection refused): start it with `ollama serve`, or point "
        "--base-url or OLLAMA_HOST at a running server\n")


def test_check_the_openai_api_without_a_key_exits_1(run_cli: RunCli, config_home: Path) -> None:
    result = run_cli(["backends", "check", "openai"])
    assert (result.code, result.stdout) == (
        1, "openai (openai, gpt-4o-mini): not usable: openai needs an API key for "
           "https://api.openai.com/v1: set OPENAI_API_KEY, or api_key_env for this backend in "
           "the config file\n")


def test_a_malformed_config_exits_2(run_cli: RunCli, config_home: Path) -> None:
    path = write_config(config_home, "backends:\n  local:\n    type: ollama\n   model: x\n")
    result = run_cli(["backends"])
    assert result.code == 2
    assert result.stderr.startswith(f"k8sdoctor: error: {path}:4:")


def test_an_unknown_backend_exits_2(run_cli: RunCli, config_home: Path) -> None:
    result = run_cli(["backends", "check", "bedrock"])
    assert result.code == 2
    assert result.stderr == ("k8sdoctor: error: unknown backend 'bedrock'; configured: none; "
                             "types: ollama, openai\n")


def test_config_option_names_another_file(run_cli: RunCli, config_home: Path,
                                          tmp_path: Path) -> None:
    other = tmp_path / "team.yaml"
    other.write_text("backends:\n  team: {type: openai, model: gpt-4o}\n", encoding="utf-8")
    listed = run_cli(["backends", "--config", str(other)])
    assert listed.stdout.splitlines()[1].startswith("team              openai  gpt-4o ")
    checked = run_cli(["backends", "check", "team", "--config", str(other)])
    assert checked.stdout.startswith("team (openai, gpt-4o): not usable: team needs an API key")
