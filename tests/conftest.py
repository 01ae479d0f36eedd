"""Shared fixtures: a fake API server with a kubeconfig pointing at it, and the CLI run in-process.

``run_cli(["analyze", ...])`` returns ``CliResult(code, stdout, stderr)``; ``fake_api`` is a
``tests.fakeapi.FakeApiServer`` requiring a bearer token, and ``kubeconfig`` a file that logs in
to it.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakeapi import FakeApiServer, write_kubeconfig

FIXTURES = Path(__file__).parent / "fixtures"
LIVE_CLUSTER = FIXTURES / "live" / "cluster.yaml"
"""A small broken cluster served by the fake API server and read as a snapshot alike."""
FAKE_TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImZha2UifQ.ci-k8sdoctor.signature"


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


RunCli = Callable[..., CliResult]


def _run_cli(args: Sequence[str], stdin: str | None = None) -> CliResult:
    from k8sdoctor.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin or "")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            else:  # main always exits; returning is a bug worth seeing
                code = -1
    finally:
        sys.stdin = saved_stdin
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture(autouse=True)
def plain_output_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report's width and colour follow COLUMNS, NO_COLOR and FORCE_COLOR (CI systems set
    some of them): each test starts without them and sets what it means to test."""
    for name in ("COLUMNS", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def shared_test_cache(monkeypatch: pytest.MonkeyPatch,
                      tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test writes the user's cache (the demo keeps its parsed copy there): one cache
    directory for the whole session, unless a test sets its own (``private_settings``)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(_session_cache(tmp_path_factory)))


def _session_cache(factory: pytest.TempPathFactory) -> Path:
    cache = factory.getbasetemp() / "xdg-cache"
    cache.mkdir(exist_ok=True)
    return cache


@pytest.fixture
def private_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Cache and config under ``tmp_path`` (the XDG homes); no config file and no LLM backend
    settings from the environment. Returns ``tmp_path``."""
    for name in ("K8SDOCTOR_CONFIG", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OLLAMA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


@pytest.fixture
def run_cli() -> RunCli:
    """``run_cli(args, stdin=None) -> CliResult``: ``k8sdoctor ARGS`` in this process."""
    return _run_cli


@pytest.fixture
def fake_api() -> Iterator[FakeApiServer]:
    """An empty fake API server that wants ``FAKE_TOKEN``; ``fake_api.load(path)`` fills it."""
    with FakeApiServer(token=FAKE_TOKEN) as server:
        yield server


@pytest.fixture
def cluster(fake_api: FakeApiServer) -> FakeApiServer:
    """``fake_api`` serving the live fixture cluster (``fixtures/live/cluster.yaml``)."""
    fake_api.load(LIVE_CLUSTER)
    return fake_api


@pytest.fixture
def kubeconfig(fake_api: FakeApiServer, tmp_path: Path) -> Path:
    """A kubeconfig whose current context ``kind-shop`` logs in to ``fake_api`` with a token."""
    return write_kubeconfig(tmp_path / "kubeconfig", fake_api.url, user={"token": FAKE_TOKEN})


@pytest.fixture
def no_kube_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No KUBECONFIG, an empty home, not in a pod: what a fresh machine looks like. Returns the
    home directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    return home
