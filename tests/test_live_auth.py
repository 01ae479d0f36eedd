"""Reaching and logging in to a live cluster: kubeconfig files and contexts, tokens, exec plugins,
client certificates, and every way that fails - each an exit 3 with one line on stderr.

The certificates in ``fixtures/live/tls`` are test-only (EC P-256, valid for a century): a CA,
a server certificate for 127.0.0.1 signed by it, a client certificate for ``kubernetes-admin``,
and an unrelated CA.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import sys
from pathlib import Path

import pytest
import yaml

from k8sdoctor.cluster.live import LiveSource, LogsUnavailableError
from k8sdoctor.cluster.state import Scope
from k8sdoctor.errors import ClusterUnreachableError
from tests.conftest import FAKE_TOKEN, FIXTURES, LIVE_CLUSTER, CliResult, RunCli
from tests.fakeapi import FakeApiServer, TlsFiles, kubeconfig, write_kubeconfig

TLS = FIXTURES / "live" / "tls"
EXEC_API = "client.authentication.k8s.io/v1"


def analyze(run_cli: RunCli, config: Path, *extra: str) -> CliResult:
    return run_cli(["analyze", "--kubeconfig", str(config), "-a", "deployment", "-o", "json",
                    *extra])


def assert_one_line_exit_3(result: CliResult, *expected: str) -> str:
    assert result.code == 3, result.stderr
    assert result.stdout == ""
    assert len(result.stderr_lines) == 1, result.stderr
    line = result.stderr_lines[0]
    assert line.startswith("k8sdoctor: error: ")
    for text in expected:
        assert text in line
    return line


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def exec_plugin(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\nimport json, sys\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# -- tokens and exec plugins ----------------------------------------------------------------------


def test_rejected_token_is_exit_3(fake_api: FakeApiServer, tmp_path: Path,
                                  run_cli: RunCli) -> None:
    config = write_kubeconfig(tmp_path / "config", fake_api.url, user={"token": "expired"})

    line = assert_one_line_exit_3(analyze(run_cli, config), "401", "context kind-shop",
                                  fake_api.url)
    assert "log in again" in line


def test_401_on_a_list_ends_the_run(fake_api: FakeApiServer, kubeconfig: Path,
                                    run_cli: RunCli) -> None:
    fake_api.load(LIVE_CLUSTER)
    fake_api.inject("/apis/apps/v1/deployments", 401, "Unauthorized", "Unauthorized")

    assert_one_line_exit_3(analyze(run_cli, kubeconfig), "401 Unauthorized")


def test_exec_plugin_supplies_the_token(fake_api: FakeApiServer, tmp_path: Path,
                                        run_cli: RunCli) -> None:
    fake_api.load(LIVE_CLUSTER)
    credential = {"apiVersion": EXEC_API, "kind": "ExecCredential",
                  "status": {"token": FAKE_TOKEN, "expirationTimestamp": "2126-01-01T00:00:00Z"}}
    plugin = exec_plugin(tmp_path / "get-token", f"print(json.dumps({credential!r}))")
    config = write_kubeconfig(tmp_path / "config", fake_api.url, user={"exec": {
        "apiVersion": EXEC_API, "command": str(plugin), "args": ["--cluster", "shop"],
        "interactiveMode": "Never"}})

    result = analyze(run_cli, config)

    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["findings"]


def test_failing_exec_plugin_is_exit_3(fake_api: FakeApiServer, tmp_path: Path,
                                       run_cli: RunCli) -> None:
    plugin = exec_plugin(tmp_path / "aws", (
        'sys.stderr.write("\\nError when retrieving token from sso: Token has expired and '
        'refresh failed\\n")\nsys.exit(255)'))
    config = write_kubeconfig(tmp_path / "config", fake_api.url, user={"exec": {
        "apiVersion": EXEC_API, "command": str(plugin), "args": ["eks", "get-token"],
        "interactiveMode": "Never"}})

    assert_one_line_exit_3(analyze(run_cli, config), f'credential plugin "{plugin}" failed',
                           "returned 255", "Token has expired and refresh failed")
    assert fake_api.requests == []


# -- TLS ------------------------------------------------------------------------------------------


@pytest.fixture
def tls_api() -> FakeApiServer:
    tls = TlsFiles(ca=TLS / "ca.crt", cert=TLS / "server.crt", key=TLS / "server.key")
    with FakeApiServer(tls=tls, require_client_cert=True) as server:
        server.load(LIVE_CLUSTER)
        yield server


def client_cert_user() -> dict[str, str]:
    return {name: base64.b64encode((TLS / f"client.{ext}").read_bytes()).decode()
            for name, ext in (("client-certificate-data", "crt"), ("client-key-data", "key"))}


def test_client_certificate_and_ca_file(tls_api: FakeApiServer, tmp_path: Path,
                                        run_cli: RunCli) -> None:
    config = write_kubeconfig(tmp_path / "config", tls_api.url, user=client_cert_user(),
                              cluster={"certificate-authority": str(TLS / "ca.crt")})

    result = analyze(run_cli, config)

    assert result.code == 0, result.stderr
    assert tls_api.url.startswith("https://")
    assert ("shop", "checkout") in {(f["namespace"], f["name"])
                                    for f in json.loads(result.stdout)["findings"]}


def test_server_certificate_from_another_ca_is_exit_3(tls_api: FakeApiServer, tmp_path: Path,
                                                      run_cli: RunCli) -> None:
    config = write_kubeconfig(tmp_path / "config", tls_api.url, user=client_cert_user(),
                              cluster={"certificate-authority": str(TLS / "other-ca.crt")})

    assert_one_line_exit_3(analyze(run_cli, config), "TLS failed", "CERTIFICATE_VERIFY_FAILED",
                           "certificate-authority")


def test_https_to_a_plain_http_server_is_exit_3(fake_api: FakeApiServer, tmp_path: Path,
                                                run_cli: RunCli) -> None:
    server = fake_api.url.replace("http://", "https://")
    config = write_kubeconfig(tmp_path / "config", server, user={"token": FAKE_TOKEN},
                              cluster={"insecure-skip-tls-verify": True})

    assert_one_line_exit_3(analyze(run_cli, config), "TLS failed", server)


# -- unreachable ----------------------------------------------------------------------------------


def test_closed_port_is_exit_3_with_one_line(tmp_path: Path, run_cli: RunCli) -> None:
    server = f"http://127.0.0.1:{closed_port()}"
    config = write_kubeconfig(tmp_path / "config", server, user={"token": FAKE_TOKEN})

    line = assert_one_line_exit_3(analyze(run_cli, config), "cannot reach", server,
                                  "connection refused", "context kind-shop")
    assert "Traceback" not in line


def test_closed_port_in_a_real_process(tmp_path: Path) -> None:
    import subprocess

    config = write_kubeconfig(tmp_path / "config", f"http://127.0.0.1:{closed_port()}",
                              user={"token": FAKE_TOKEN})
    done = subprocess.run([sys.executable, "-m", "k8sdoctor", "analyze", "--kubeconfig",
                           str(config)], capture_output=True, text=True, timeout=60)

    assert done.returncode == 3
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "connection refused" in done.stderr


def test_logs_from_an_unreachable_cluster_are_just_unavailable(tmp_path: Path) -> None:
    config = write_kubeconfig(tmp_path / "config", f"http://127.0.0.1:{closed_port()}",
                              user={"token": FAKE_TOKEN})

    with pytest.raises(LogsUnavailableError, match="connection refused"):
        LiveSource(str(config)).previous_logs("shop", "web-7d4b9c8f5-x2x7k", "app")


def test_a_server_that_is_not_kubernetes_is_exit_3(fake_api: FakeApiServer, kubeconfig: Path,
                                                   run_cli: RunCli) -> None:
    fake_api.inject("/version", 200, "this is not the version document", "")

    assert_one_line_exit_3(analyze(run_cli, kubeconfig),
                           "does not answer /version as a Kubernetes API server does")


def test_silent_server_times_out(fake_api: FakeApiServer, kubeconfig: Path) -> None:
    fake_api.inject("/version", None, delay=1.5)

    with pytest.raises(ClusterUnreachableError, match=r"no answer within 0.2s"):
        LiveSource(str(kubeconfig), request_timeout=0.2).load({"Pod"}, Scope())


# -- kubeconfig files and contexts ----------------------------------------------------------------


def test_malformed_kubeconfig_names_the_place(tmp_path: Path, run_cli: RunCli) -> None:
    config = tmp_path / "config"
    config.write_text("apiVersion: v1\nclusters:\n- name: prod\n  cluster: {server: [\n",
                      encoding="utf-8")

    assert_one_line_exit_3(analyze(run_cli, config), f"kubeconfig {config}:5:1",
                           "not valid YAML")


def test_kubeconfig_that_is_not_a_mapping(tmp_path: Path, run_cli: RunCli) -> None:
    config = tmp_path / "config"
    config.write_text("- just\n- a list\n", encoding="utf-8")

    assert_one_line_exit_3(analyze(run_cli, config), "is not valid")


def test_unknown_context_lists_the_known_ones(kubeconfig: Path, run_cli: RunCli) -> None:
    result = analyze(run_cli, kubeconfig, "--context", "prod-eu")

    assert_one_line_exit_3(result, 'context "prod-eu" not found', "contexts there: kind-shop")


def test_missing_kubeconfig_file(tmp_path: Path, run_cli: RunCli) -> None:
    assert_one_line_exit_3(analyze(run_cli, tmp_path / "nope"), "no such file")


def test_no_kubeconfig_anywhere(no_kube_env: Path, run_cli: RunCli) -> None:
    result = run_cli(["analyze"])

    assert_one_line_exit_3(result, "no kubeconfig found", str(no_kube_env / ".kube" / "config"))


def test_kubeconfig_without_current_context(fake_api: FakeApiServer, tmp_path: Path,
                                            run_cli: RunCli) -> None:
    document = kubeconfig(fake_api.url, user={"token": FAKE_TOKEN})
    document["current-context"] = ""
    config = tmp_path / "config"
    config.write_text(yaml.safe_dump(document), encoding="utf-8")

    assert_one_line_exit_3(analyze(run_cli, config), "sets no current-context", "--context")


def test_kubeconfig_env_merges_files_and_the_first_current_context_wins(
    fake_api: FakeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> None:
    fake_api.load(LIVE_CLUSTER)
    dead = kubeconfig(f"http://127.0.0.1:{closed_port()}", context="staging",
                      user={"token": FAKE_TOKEN})
    first = {"apiVersion": "v1", "kind": "Config", "current-context": "kind-shop",
             "clusters": [], "users": [], "contexts": []}
    (tmp_path / "a").write_text(yaml.safe_dump(first), encoding="utf-8")
    write_kubeconfig(tmp_path / "b", fake_api.url, user={"token": FAKE_TOKEN})
    (tmp_path / "c").write_text(yaml.safe_dump(dead), encoding="utf-8")
    paths = [tmp_path / "a", tmp_path / "missing", tmp_path / "b", tmp_path / "c"]
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(str(p) for p in paths))

    chosen = run_cli(["analyze", "-a", "deployment", "-o", "json"])
    staging = run_cli(["analyze", "--context", "staging"])

    assert chosen.code == 0, chosen.stderr
    assert json.loads(chosen.stdout)["metadata"]["source"] == "context kind-shop"
    assert_one_line_exit_3(staging, "context staging", "connection refused")


def test_in_cluster_without_a_service_account(no_kube_env: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              run_cli: RunCli) -> None:
    if Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists():
        pytest.skip("running in a pod: the service account is really there")
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")

    assert_one_line_exit_3(run_cli(["analyze"]), "in-cluster config",
                           "token file does not exist")
