"""The things a CLI user expects: ``--version``, shell completion, ``--config`` checked by every
command that reads it, ``cache list``/``cache stats`` and ``backends add``."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from k8sdoctor import __version__
from k8sdoctor.explain.answer import Answer
from k8sdoctor.explain.cache import CacheKey, ExplanationCache
from k8sdoctor.explain.config import load_config
from tests.conftest import RunCli


@pytest.fixture
def xdg(private_settings: Path) -> Path:
    """Private XDG config and cache homes; no config variable, no LLM keys."""
    return private_settings


def test_version_option(run_cli: RunCli) -> None:
    result = run_cli(["--version"])
    assert (result.code, result.stdout) == (0, f"k8sdoctor {__version__}\n")


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o default -F"), ("zsh", "compdef"), ("fish", "complete --command"),
])
def test_show_completion_prints_a_script_for_the_shell_it_runs_in(shell: str,
                                                                  marker: str) -> None:
    # The shell is detected from the parent process, so the command runs under that shell (and
    # is not its last command, which the shell would exec in its place).
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    command = f"{shlex.quote(sys.executable)} -m k8sdoctor --show-completion; exit $status"
    if shell != "fish":
        command = command.replace("$status", "$?")
    result = subprocess.run([shell, "-c", command], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "_K8SDOCTOR_COMPLETE" in result.stdout
    assert marker in result.stdout


def test_install_completion_is_an_option(run_cli: RunCli) -> None:
    assert "--install-completion" in run_cli(["--help"]).stdout


MALFORMED = "backends:\n  local: {type: ollama\n"


@pytest.mark.parametrize("command", [
    ["analyze", "--demo"],
    ["cache", "list"],
    ["cache", "stats"],
    ["cache", "clear"],
    ["backends"],
])
def test_a_missing_or_malformed_config_exits_2_on_every_command(
    run_cli: RunCli, xdg: Path, command: list[str]
) -> None:
    missing = run_cli([*command, "--config", str(xdg / "nowhere.yaml")])
    assert missing.code == 2
    assert missing.stderr_lines[-1].endswith("nowhere.yaml does not exist")
    bad = xdg / "bad.yaml"
    bad.write_text(MALFORMED, encoding="utf-8")
    malformed = run_cli([*command, "--config", str(bad)])
    assert malformed.code == 2
    assert f"{bad}:3:1:" in malformed.stderr
    assert "Traceback" not in malformed.stderr


def test_analyze_without_explain_reads_a_good_config(run_cli: RunCli, xdg: Path) -> None:
    good = xdg / "good.yaml"
    good.write_text("backends:\n  local: {type: ollama}\n", encoding="utf-8")
    assert run_cli(["analyze", "--demo", "--config", str(good), "-o", "json"]).code == 0


def put_entries(xdg: Path) -> ExplanationCache:
    cache = ExplanationCache(xdg / "cache" / "k8sdoctor")
    answer = Answer(summary="The image tag does not exist.", root_cause="A typo in the tag.")
    cache.put(CacheKey("ollama", "llama3.1:8b", "p1", "en", "prompt one"), answer, "llama3.1:8b")
    cache.put(CacheKey("openai", "gpt-4o-mini", "p1", "en", "prompt two"), answer, "gpt-4o-mini")
    old = CacheKey("openai", "gpt-4o-mini", "p1", "en", "prompt three")
    cache.put(old, answer, "gpt-4o-mini")
    path = cache.entries / f"{old.digest()}.json"
    entry = json.loads(path.read_text())
    entry["storedAt"] -= 30 * 86400
    path.write_text(json.dumps(entry))
    (cache.entries / "0badc0de.json").write_text("{not json")
    return cache


def test_cache_list_shows_entries_never_answers(run_cli: RunCli, xdg: Path) -> None:
    put_entries(xdg)
    result = run_cli(["cache", "list"])
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["KEY", "STORED", "BACKEND/MODEL", "SIZE", "STATE"]
    states = sorted(line.split()[-1] for line in lines[1:])
    assert states == ["damaged", "expired", "valid", "valid"]
    assert any("ollama/llama3.1:8b" in line for line in lines)
    assert "image tag" not in result.stdout
    assert result.stderr_lines[-1].startswith("4 entries in ")


def test_cache_stats_counts_valid_expired_and_bytes(run_cli: RunCli, xdg: Path) -> None:
    cache = put_entries(xdg)
    result = run_cli(["cache", "stats"])
    assert result.code == 0, result.stderr
    assert "entries:   4 (2 valid, 2 expired, 1 damaged)" in result.stdout
    size = sum(p.stat().st_size for p in cache.entries.glob("*.json"))
    assert f"size:      {size} bytes" in result.stdout
    assert "model:     ollama/llama3.1:8b: 1" in result.stdout
    assert "model:     openai/gpt-4o-mini: 1" in result.stdout


def test_cache_stats_on_an_empty_cache(run_cli: RunCli, xdg: Path) -> None:
    result = run_cli(["cache", "stats"])
    assert result.code == 0
    assert "entries:   0 (0 valid, 0 expired)" in result.stdout


def test_backends_add_creates_a_private_config_without_a_key(run_cli: RunCli, xdg: Path) -> None:
    result = run_cli(["backends", "add", "gpt", "--type", "openai", "--model", "gpt-4o-mini",
                      "--base-url", "http://127.0.0.1:8080/v1", "--api-key-env", "MY_KEY",
                      "--default"])
    assert result.code == 0, result.stderr
    path = xdg / "config" / "k8sdoctor" / "config.yaml"
    assert path.stat().st_mode & 0o777 == 0o600
    assert yaml.safe_load(path.read_text()) == {
        "default_backend": "gpt",
        "backends": {"gpt": {"type": "openai", "model": "gpt-4o-mini",
                             "base_url": "http://127.0.0.1:8080/v1", "api_key_env": "MY_KEY"}},
    }
    assert "key from $MY_KEY (not set)" in result.stdout
    listed = run_cli(["backends"])
    assert "gpt (default)" in listed.stdout


def test_backends_add_keeps_comments_and_refuses_a_duplicate(run_cli: RunCli, xdg: Path) -> None:
    path = xdg / "mine.yaml"
    path.write_text("# team settings\nbackends:\n  local: {type: ollama}  # the laptop\n"
                    "explain: {language: de}\n", encoding="utf-8")
    added = run_cli(["backends", "add", "vllm", "--type", "openai", "--model", "qwen2.5-7b",
                     "--config", str(path)])
    assert added.code == 0, added.stderr
    text = path.read_text()
    assert "# team settings" in text and "# the laptop" in text
    config = load_config(path)
    assert set(config.backends) == {"local", "vllm"}
    assert config.explain.language == "de"

    again = run_cli(["backends", "add", "vllm", "--type", "openai", "--config", str(path)])
    assert again.code == 2
    assert "exists already" in again.stderr and "--replace" in again.stderr
    replaced = run_cli(["backends", "add", "vllm", "--type", "openai", "--model", "other",
                        "--replace", "--config", str(path)])
    assert replaced.code == 0, replaced.stderr
    assert load_config(path).backends["vllm"].model == "other"
    assert "# the laptop" in path.read_text()


def test_backends_add_an_unknown_type_exits_2_and_writes_nothing(
    run_cli: RunCli, xdg: Path
) -> None:
    result = run_cli(["backends", "add", "x", "--type", "anthropic"])
    assert result.code == 2
    assert "unknown backend type 'anthropic'" in result.stderr
    assert not (xdg / "config" / "k8sdoctor" / "config.yaml").exists()


def test_backends_add_has_no_way_to_write_a_key(run_cli: RunCli, xdg: Path) -> None:
    result = run_cli(["backends", "add", "gpt", "--type", "openai", "--api-key", "sk-1"])
    assert result.code == 2
    assert not (xdg / "config" / "k8sdoctor" / "config.yaml").exists()
