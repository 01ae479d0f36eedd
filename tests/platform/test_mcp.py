"""``k8sdoctor mcp`` tested with the ``mcp`` SDK's own client: over stdio (a real subprocess)
against the demo and the fake API server, and over streamable HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import LIVE_CLUSTER, RunCli
from tests.fakeapi import FakeApiServer
from tests.helpers import DEMO


def stdio(*args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "k8sdoctor", "mcp", *args])


def session(server: Any, body: Callable[[Client], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with Client(server, read_timeout_seconds=120) as client:
            return await body(client)

    return asyncio.run(main())


def structured(result: Any) -> Any:
    assert not result.is_error, result.content
    content = result.structured_content
    return content["result"] if set(content) == {"result"} else content


def test_the_client_lists_tools_and_gets_the_demo_root_causes(run_cli: RunCli) -> None:
    async def body(client: Client) -> tuple[Any, ...]:
        tools = await client.list_tools()
        report = structured(await client.call_tool("analyze", {"demo": True}))
        causes = structured(await client.call_tool("get_root_causes", {"limit": 3}))
        resources = await client.list_resources()
        last = await client.read_resource("k8sdoctor://report/last")
        analyzers = structured(await client.call_tool("list_analyzers", {}))
        return tools, report, causes, resources, last, analyzers

    tools, report, causes, resources, last, analyzers = session(stdio(), body)
    assert {t.name for t in tools.tools} == {"analyze", "list_analyzers", "explain_finding",
                                             "get_root_causes"}
    assert all(t.annotations and t.annotations.read_only_hint for t in tools.tools)
    direct = json.loads(run_cli(["analyze", "--demo", "-o", "json"]).stdout)
    assert [f["id"] for f in report["findings"]] == [f["id"] for f in direct["findings"]]
    assert causes == direct["rootCauses"][:3]
    assert causes[0]["rank"] == 1 and causes[0]["findings"]
    assert {str(r.uri) for r in resources.resources} >= {"k8sdoctor://report/last",
                                                         "k8sdoctor://report/last/summary"}
    assert json.loads(last.contents[0].text)["findings"] == report["findings"]
    assert "pod" in {a["name"] for a in analyzers}
    assert "CrashLoopBackOff" in next(a for a in analyzers if a["name"] == "pod")["reasons"]


def test_explain_finding_gives_docs_and_its_root_cause() -> None:
    async def body(client: Client) -> tuple[Any, ...]:
        report = structured(await client.call_tool("analyze", {"demo": True}))
        cause = report["rootCauses"][0]
        root_id = cause["findings"][0]
        details = structured(await client.call_tool("explain_finding", {"finding_id": root_id}))
        missing = await client.call_tool("explain_finding", {"finding_id": "0" * 16})
        by_uri = await client.read_resource(f"k8sdoctor://finding/{root_id}")
        return cause, details, missing, by_uri

    cause, details, missing, by_uri = session(stdio(), body)
    assert details["finding"]["id"] == cause["findings"][0]
    assert details["rootCause"]["id"] == cause["id"] and details["isRoot"]
    assert details["documentation"] and details["finding"]["reason"] in details["documentation"]
    assert missing.is_error and "no finding" in missing.content[0].text
    assert json.loads(by_uri.contents[0].text) == details


def test_tools_before_analyze_and_bad_input_are_tool_errors() -> None:
    async def body(client: Client) -> tuple[Any, ...]:
        early = await client.call_tool("get_root_causes", {})
        unknown = await client.call_tool("analyze", {"demo": True, "analyzers": ["nope"]})
        unreadable = await client.call_tool("analyze", {"snapshot": "/nonexistent/dump.yaml"})
        live = await client.call_tool("analyze", {})
        return early, unknown, unreadable, live

    early, unknown, unreadable, live = session(stdio("--no-live"), body)
    assert early.is_error and "call the analyze tool first" in early.content[0].text
    assert unknown.is_error and "nope" in unknown.content[0].text
    assert unreadable.is_error and "dump.yaml" in unreadable.content[0].text
    assert live.is_error and "snapshots and the demo only" in live.content[0].text


def test_analyze_reads_the_live_cluster_through_the_kubeconfig(
    fake_api: FakeApiServer, kubeconfig: Path, run_cli: RunCli
) -> None:
    fake_api.load(LIVE_CLUSTER)

    async def body(client: Client) -> tuple[Any, ...]:
        report = structured(await client.call_tool("analyze", {"namespace": "shop"}))
        return report, structured(await client.call_tool("get_root_causes", {}))

    report, causes = session(stdio("--kubeconfig", str(kubeconfig)), body)
    direct = json.loads(run_cli(["analyze", "--kubeconfig", str(kubeconfig), "-n", "shop",
                                 "-o", "json"]).stdout)
    assert report["findings"] and {f["namespace"] for f in report["findings"]} == {"shop"}
    assert [f["id"] for f in report["findings"]] == [f["id"] for f in direct["findings"]]
    assert causes == direct["rootCauses"]
    assert {r.method for r in fake_api.requests} == {"GET"}


def test_anonymize_hides_names_but_keeps_ids(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    async def body(client: Client) -> Any:
        return structured(await client.call_tool("analyze", {"snapshot": str(DEMO)}))

    plain = session(stdio(), body)
    masked = session(StdioServerParameters(
        command=sys.executable, args=["-m", "k8sdoctor", "mcp", "--anonymize"],
        env={"XDG_CACHE_HOME": str(tmp_path)}), body)
    text = json.dumps(masked)
    for finding in plain["findings"]:
        if finding["namespace"] not in (None, "kube-system", "default"):
            assert f'"{finding["namespace"]}"' not in text
    assert "shop" not in json.dumps(masked["summary"]["healthScore"]["namespaces"])
    assert [f["id"] for f in masked["findings"]] == [f["id"] for f in plain["findings"]]
    assert [f["reason"] for f in masked["findings"]] == [f["reason"] for f in plain["findings"]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_streamable_http_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "mcp.log"
    with log.open("w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "k8sdoctor", "mcp", "--transport",
                                    "http", "--port", str(port)], stderr=stderr,
                                   stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, log.read_text()
                time.sleep(0.2)

        async def body(client: Client) -> Any:
            await client.call_tool("analyze", {"demo": True})
            return structured(await client.call_tool("get_root_causes", {"limit": 1}))

        (cause,) = session(f"http://127.0.0.1:{port}/mcp", body)
        assert cause["rank"] == 1
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_http_refuses_a_non_loopback_address(run_cli: RunCli) -> None:
    result = run_cli(["mcp", "--transport", "http", "--host", "0.0.0.0"])
    assert result.code == 2
    assert "loopback only" in result.stderr
