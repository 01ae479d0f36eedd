"""The ``k8sdoctor`` command line: options in, one run, the report on stdout, an exit code out.

Kept thin: the work is in ``k8sdoctor.run``. Everything beyond typer and the option types
(analysis, analyzers, YAML, the kubernetes, openai and ollama clients) is imported only inside
the commands that use it, so ``--help``, ``--version`` and shell completion start fast (a test
checks which modules they load). The report alone goes to stdout; progress and errors go to
stderr.
"""

# Annotations stay evaluated (no ``from __future__ import annotations``): typer reads the
# commands' signatures on every start, and would have to compile string annotations.

import os
import sys
from contextlib import AbstractContextManager, ExitStack, nullcontext, suppress
from dataclasses import replace
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import typer

from k8sdoctor import __version__
from k8sdoctor.errors import BadInputError, UserFacingError
from k8sdoctor.eval.cli import eval_command
from k8sdoctor.exitcodes import ExitCode
from k8sdoctor.explain.backends_cli import backends_app
from k8sdoctor.explain.cli import (
    AnonymizeOpt,
    BackendOpt,
    BaseUrlOpt,
    ExplainOpt,
    LanguageOpt,
    ModelOpt,
    NoCacheOpt,
    PromptsOpt,
    ShowPromptOpt,
    WithLogsOpt,
    cache_app,
    explain_flags,
)
from k8sdoctor.explain.cli import ConfigOpt as ExplainConfigOpt
from k8sdoctor.options import (
    FailOn,
    MinSeverity,
    missing_namespace_warnings,
    scope_from_flags,
    stdout_render_options,
)
from k8sdoctor.report import OutputFormat, render

if TYPE_CHECKING:
    from k8sdoctor.cluster.source import ClusterSource

UNWRAPPED_TABLE_WIDTH = 200
"""The analyzer table's width when stdout is not a terminal and COLUMNS is not set."""
INTERNAL_ERROR = 70
"""A bug in k8sdoctor (EX_SOFTWARE); never a verdict on the cluster."""

app = typer.Typer(
    name="k8sdoctor",
    help="Find what is broken in a Kubernetes cluster and say why and how to fix it.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=True,
    rich_markup_mode=None,
)

ContextOpt = Annotated[
    str | None, typer.Option("--context", metavar="NAME", help="The kubeconfig context to use.")
]
KubeconfigOpt = Annotated[
    str | None,
    typer.Option("--kubeconfig", metavar="PATH",
                 help="Path to the kubeconfig file (default: $KUBECONFIG or "
                 "~/.kube/config; in a pod, the service account)."),
]
NamespaceOpt = Annotated[
    list[str] | None,
    typer.Option("--namespace", "-n", metavar="NAMESPACE",
                 help="Look at these namespaces only (repeatable, or comma-separated)."),
]
AllNamespacesOpt = Annotated[
    bool, typer.Option("--all-namespaces", "-A", help="Look at every namespace (the default).")
]
SelectorOpt = Annotated[
    str | None,
    typer.Option("--selector", "-l", metavar="SELECTOR",
                 help="Label selector, e.g. app=web,tier!=db."),
]
RequestTimeoutOpt = Annotated[
    str,
    typer.Option("--request-timeout", metavar="DURATION",
                 help="How long one API request may wait for its answer, as kubectl takes it "
                 "(30, 30s, 2m; 0 for no limit). A List that times out is reported as not "
                 "checked; the others are still analyzed."),
]
FetchTimeoutOpt = Annotated[
    str,
    typer.Option("--fetch-timeout", metavar="DURATION",
                 help="How long reading the whole cluster may take (5m, 90s; 0 for no limit). "
                 "What is not listed by then is reported as not checked."),
]
FetchConcurrencyOpt = Annotated[
    int,
    typer.Option("--fetch-concurrency", metavar="N", min=1, max=64,
                 help="How many kinds are listed at once. Fewer are gentler on a busy API "
                 "server; more help only against a distant one."),
]
AnalyzerOpt = Annotated[
    list[str] | None,
    typer.Option("--analyzer", "-a", metavar="NAME",
                 help="Run this analyzer (repeatable; 'all' for every one)."),
]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def _live_source(kubeconfig: str | None, context: str | None, request_timeout: str = "30s",
                 fetch_timeout: str = "5m", fetch_concurrency: int = 4, *,
                 one_shot: bool) -> "ClusterSource":
    """The cluster as the flags say; ``one_shot`` for a command that ends the process after one
    load (``console_main`` exits without freeing it), which may hold what freeing would cost."""
    from k8sdoctor.cluster.durations import parse_duration
    from k8sdoctor.cluster.list_items import HOLD_BYTES
    from k8sdoctor.cluster.live import LiveSource

    return LiveSource(kubeconfig=kubeconfig, context=context, max_workers=fetch_concurrency,
                      request_timeout=parse_duration(request_timeout, "--request-timeout"),
                      fetch_timeout=parse_duration(fetch_timeout, "--fetch-timeout"),
                      hold_bytes=HOLD_BYTES if one_shot else 0)


def _progress(message: str) -> AbstractContextManager[object]:
    """A spinner on stderr while ``message`` is under way, only when stderr is a terminal."""
    if not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        return nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(f"{message}…")


def _print_version(value: bool) -> None:
    if value:
        print(f"k8sdoctor {__version__}")
        raise typer.Exit(int(ExitCode.OK))


@app.callback()
def _main_options(
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_print_version,
                           help="Print the version and exit.")
    ] = False,
) -> None:
    """Find what is broken in a Kubernetes cluster and say why and how to fix it."""


@app.command()
def analyze(
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    selector: SelectorOpt = None,
    request_timeout: RequestTimeoutOpt = "30s",
    fetch_timeout: FetchTimeoutOpt = "5m",
    fetch_concurrency: FetchConcurrencyOpt = 4,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", help="Report format.")
    ] = OutputFormat.TEXT,
    snapshot: Annotated[
        str | None,
        typer.Option("--snapshot", metavar="PATH",
                     help="Read objects from a file, a directory, or - (stdin) "
                     "instead of a live cluster."),
    ] = None,
    snapshot_kinds: Annotated[
        str | None,
        typer.Option("--snapshot-kinds", metavar="KIND,...|all",
                     help="Kinds the --snapshot file holds completely, so an object of them it "
                     "lacks does not exist ('all' for every kind). Without it, references to "
                     "kinds the file lacks are reported as not checked."),
    ] = None,
    manifests: Annotated[
        bool,
        typer.Option("--manifests", help="Judge the --snapshot objects as plain manifests "
                     "(helm template, kustomize build): spec checks only. Automatic when no "
                     "object has a status."),
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Analyze the bundled, deliberately broken demo cluster.")
    ] = False,
    analyzer: AnalyzerOpt = None,
    namespace_exclude: Annotated[
        list[str] | None,
        typer.Option("--namespace-exclude", metavar="GLOB",
                     help="Leave out the findings of namespaces matching this glob, e.g. "
                     "'kube-*' (repeatable; they are still read, and get no health score)."),
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option("--fail-on", help="Exit 1 when a finding is at or above this severity."),
    ] = FailOn.NEVER,
    details: Annotated[
        bool,
        typer.Option("--details", help="Text output: under each root cause, every finding with "
                     "its evidence and fixes."),
    ] = False,
    min_severity: Annotated[
        MinSeverity | None,
        typer.Option("--min-severity",
                     help="Show only root causes at or above this severity (with their "
                     "findings); the exit code judges what is shown."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Exit 4 when data is missing: a kind could not be listed "
                     "or an analyzer failed."),
    ] = False,
    no_redact: Annotated[
        bool,
        typer.Option("--no-redact", help="Show secret-shaped text (password=..., tokens, keys) "
                     "quoted from the cluster as it is; by default the report redacts it."),
    ] = False,
    no_logs: Annotated[
        bool,
        typer.Option("--no-logs", help="Do not read the last log lines of crashed containers "
                     "into their findings (live clusters only)."),
    ] = False,
    explain: ExplainOpt = False,
    backend: BackendOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    prompts: PromptsOpt = None,
    language: LanguageOpt = None,
    with_logs: WithLogsOpt = False,
    anonymize: AnonymizeOpt = None,
    no_cache: NoCacheOpt = False,
    show_prompt: ShowPromptOpt = False,
    config: ExplainConfigOpt = None,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", metavar="FILE",
                     help="Mark findings new or known against this baseline; --fail-on then "
                     "counts only new ones."),
    ] = None,
    write_baseline: Annotated[
        str | None,
        typer.Option("--write-baseline", metavar="FILE",
                     help="Record this run's findings as the baseline (commit it to the repo)."),
    ] = None,
    ignore_file: Annotated[
        str | None,
        typer.Option("--ignore-file", metavar="FILE",
                     help="Reviewed suppressions (default: .k8sdoctor-ignore.yaml when the "
                     "working directory has one)."),
    ] = None,
) -> None:
    """Find faults in a cluster (live, a snapshot, or the demo) and report them."""
    from k8sdoctor.explain.redact import redact
    from k8sdoctor.gate import apply_gate, load_gate_inputs
    from k8sdoctor.report.threshold import at_least
    from k8sdoctor.run import analyze_with_state, exit_code_for

    if snapshot and demo:
        raise BadInputError("--snapshot and --demo exclude each other")
    if (snapshot_kinds is not None or manifests) and not snapshot:
        raise BadInputError("--snapshot-kinds and --manifests apply to --snapshot only")
    scope = scope_from_flags(namespace, all_namespaces, selector)
    flags = explain_flags(
        explain=explain, show_prompt=show_prompt, backend=backend, model=model,
        base_url=base_url, prompts=prompts, language=language, with_logs=with_logs,
        anonymize=anonymize, no_cache=no_cache, config=config,
    )
    from k8sdoctor.explain.config import load_config

    load_config(config)  # a missing or malformed config file is bad input, explain or not
    gate_inputs = load_gate_inputs(ignore_file=ignore_file, baseline=baseline,
                                   write_baseline=write_baseline)
    source_is_live = not (demo or snapshot)
    with ExitStack() as stack:
        if demo:
            from k8sdoctor.cluster.demo import demo_source

            source: ClusterSource = demo_source(stack)
        elif snapshot:
            from k8sdoctor.cluster.snapshot import SnapshotSource, parse_covered_kinds

            covered = parse_covered_kinds(snapshot_kinds) if snapshot_kinds is not None else None
            source = SnapshotSource(snapshot, covered_kinds=covered,
                                    manifests=True if manifests else None)
        else:
            source = _live_source(kubeconfig, context, request_timeout, fetch_timeout,
                                  fetch_concurrency, one_shot=True)
        with _progress("Reading the cluster and analyzing" if source_is_live else "Analyzing"):
            analysis = analyze_with_state(source, scope, analyzer or (),
                                          namespace_exclude or (),
                                          logs=not no_logs)
        _KEPT_TILL_EXIT[:] = [analysis]
        for warning in missing_namespace_warnings(analysis.missing_namespaces):
            _stderr(f"k8sdoctor: {warning}")
        report = analysis.report
        if min_severity is not None:
            report = at_least(report, min_severity.severity)
        if flags is not None:
            from k8sdoctor.explain import session

            def notify(message: str) -> None:
                _stderr(f"k8sdoctor: {message}")

            if show_prompt:
                sys.stdout.write(session.show_prompts(report, analysis.state, source, flags,
                                                      notify))
                sys.stdout.flush()
                raise typer.Exit(int(ExitCode.OK))
            report = session.explain_report(report, analysis.state, source, flags, notify)
        report = apply_gate(report, analysis.state, gate_inputs, scope, namespace_exclude or (),
                            lambda message: _stderr(f"k8sdoctor: {message}"))
    for error in report.errors:
        message = error.message if no_redact else redact(error.message)
        _stderr(f"k8sdoctor: warning: {error.stage} {error.subject}: {message}")
    options = replace(stdout_render_options(sys.stdout.isatty()), fail_on=fail_on.severity,
                      redact=not no_redact, details=details)
    sys.stdout.write(render(report, output, options))
    sys.stdout.flush()
    raise typer.Exit(int(exit_code_for(report, fail_on, strict)))


@app.command()
def snapshot(
    output_file: Annotated[
        str, typer.Option("--output", "-o", help="Where to write the snapshot (- for stdout).")
    ],
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    selector: SelectorOpt = None,
    analyzer: AnalyzerOpt = None,
    include_configmap_data: Annotated[
        bool, typer.Option("--include-configmap-data",
                           help="Keep ConfigMap values (by default only their keys and sizes "
                           "are kept, which is all the analyzers read).")
    ] = False,
    request_timeout: RequestTimeoutOpt = "30s",
    fetch_timeout: FetchTimeoutOpt = "5m",
    fetch_concurrency: FetchConcurrencyOpt = 4,
) -> None:
    """Save the objects the analyzers need to a YAML file: Secrets as metadata only, ConfigMaps
    as keys and sizes unless --include-configmap-data."""
    import yaml

    from k8sdoctor.analysis.engine import select
    from k8sdoctor.analysis.registry import discover
    from k8sdoctor.cluster.snapshot import snapshot_document
    from k8sdoctor.run import load_state

    scope = scope_from_flags(namespace, all_namespaces, selector)
    installed, _ = discover()
    selected = select(installed, analyzer or ("all",))
    source = _live_source(kubeconfig, context, request_timeout, fetch_timeout,
                          fetch_concurrency, one_shot=True)
    result = load_state(source, selected, scope)
    for error in result.errors:
        _stderr(f"k8sdoctor: warning: could not list {error.kind}: {error.message}")
    for warning in missing_namespace_warnings(result.missing_namespaces):
        _stderr(f"k8sdoctor: {warning}")
    document = snapshot_document(result, source=result.state.source,
                                 include_configmap_data=include_configmap_data)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    if output_file == "-":
        sys.stdout.write(text)
    else:
        try:
            # objects can hold private data (ConfigMaps, env values): readable by the owner only
            descriptor = os.open(output_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(descriptor, 0o600)
            with open(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as err:
            raise BadInputError(f"cannot write {output_file}: {err.strerror}") from None
        count = sum(len(result.state.objects(k)) for k in result.state.kinds)
        _stderr(f"k8sdoctor: wrote {count} objects to {output_file}")


@app.command("analyzers")
def list_analyzers(
    name: Annotated[
        str | None, typer.Argument(help="Show one analyzer's faults and fixes in full.")
    ] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the full reference of every analyzer as "
                           "Markdown.")
    ] = False,
) -> None:
    """List the installed analyzers, or describe one."""
    from k8sdoctor.analysis.registry import discover

    installed, errors = discover()
    for error in errors:
        _stderr(f"k8sdoctor: warning: plugin {error.subject}: {error.message}")
    if markdown:
        from k8sdoctor.analysis.docs import analyzers_markdown

        sys.stdout.write(analyzers_markdown(installed))
        return
    if name is not None:
        match = next((a for a in installed if a.name == name), None)
        if match is None:
            raise BadInputError(
                f"unknown analyzer {name}; installed: {', '.join(a.name for a in installed)}"
            )
        default = "on by default" if match.default else "optional (run with -a)"
        print(f"{match.name} — {match.description}\n")
        print(f"{default}; reads {', '.join(match.kinds)}\n")
        print(match.details)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    for column in ("NAME", "DEFAULT", "KINDS", "DESCRIPTION"):
        table.add_column(column, overflow="fold")
    for item in installed:
        table.add_row(item.name, "yes" if item.default else "no", ", ".join(item.kinds),
                      item.description)
    options = stdout_render_options(sys.stdout.isatty())
    Console(width=options.width or UNWRAPPED_TABLE_WIDTH, no_color=not options.color,
            highlight=False).print(table)


@app.command()
def serve(
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    namespace: NamespaceOpt = None,
    all_namespaces: AllNamespacesOpt = False,
    selector: SelectorOpt = None,
    analyzer: AnalyzerOpt = None,
    namespace_exclude: Annotated[
        list[str] | None,
        typer.Option("--namespace-exclude", metavar="GLOB",
                     help="Leave out the findings of namespaces matching this glob "
                     "(repeatable)."),
    ] = None,
    interval: Annotated[
        str, typer.Option("--interval", metavar="DURATION",
                          help="Time between scans: seconds, or 30s, 5m, 1h.")
    ] = "5m",
    address: Annotated[
        str, typer.Option("--address", metavar="IP", help="The address to listen on.")
    ] = "0.0.0.0",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535,
                          help="The port for /metrics, /report, /healthz and /readyz "
                          "(0: any free port).")
    ] = 8080,
    snapshot: Annotated[
        str | None,
        typer.Option("--snapshot", metavar="PATH",
                     help="Read a snapshot file instead of the cluster (re-read every scan)."),
    ] = None,
    explain: ExplainOpt = False,
    backend: BackendOpt = None,
    model: ModelOpt = None,
    base_url: BaseUrlOpt = None,
    language: LanguageOpt = None,
    anonymize: AnonymizeOpt = None,
    config: ExplainConfigOpt = None,
) -> None:
    """Analyze every --interval and serve the last report with Prometheus metrics and probes
    (in a pod it reads the cluster through its service account)."""
    from k8sdoctor.explain.config import load_config
    from k8sdoctor.serve import ServeOptions, parse_interval, scan_function
    from k8sdoctor.serve import serve as run_service

    load_config(config)
    flags = explain_flags(
        explain=explain, show_prompt=False, backend=backend, model=model, base_url=base_url,
        prompts=None, language=language, with_logs=False, anonymize=anonymize, no_cache=False,
        config=config,
    )
    options = ServeOptions(
        address=address, port=port, interval=parse_interval(interval),
        scope=scope_from_flags(namespace, all_namespaces, selector), analyzers=analyzer or (),
        exclude_namespaces=namespace_exclude or (), explain=flags,
    )

    def source() -> "ClusterSource":
        if snapshot:
            from k8sdoctor.cluster.snapshot import SnapshotSource

            return SnapshotSource(snapshot)
        return _live_source(kubeconfig, context, one_shot=False)

    run_service(scan_function(source, options, lambda m: _stderr(f"k8sdoctor: {m}")), options)


class McpTransport(str, Enum):
    STDIO = "stdio"
    HTTP = "http"


LOOPBACK = ("127.0.0.1", "::1", "localhost")


@app.command("mcp")
def mcp_command(
    transport: Annotated[
        McpTransport, typer.Option("--transport", help="stdio for an agent that starts k8sdoctor "
                                   "itself; http for streamable HTTP on loopback.")
    ] = McpTransport.STDIO,
    host: Annotated[
        str, typer.Option("--host", metavar="IP", help="With --transport http: a loopback "
                          "address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="With --transport http: the port "
                          "(the endpoint is /mcp).")
    ] = 8765,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    anonymize: Annotated[
        bool, typer.Option("--anonymize/--no-anonymize", help="Replace names, namespaces, IPs "
                           "and hosts in everything returned by stable tokens, as for a hosted "
                           "LLM.")
    ] = False,
    live: Annotated[
        bool, typer.Option("--live/--no-live", help="Let the analyze tool read the live cluster "
                           "(--no-live: snapshots and the demo only).")
    ] = True,
) -> None:
    """Serve analysis to AI agents over the Model Context Protocol (tools: analyze,
    list_analyzers, explain_finding, get_root_causes; the last report as a resource)."""
    from k8sdoctor.mcp_server import McpSettings, build_server

    if transport is McpTransport.HTTP and host not in LOOPBACK:
        raise BadInputError(f"--host {host}: the MCP server listens on loopback only "
                            f"({', '.join(LOOPBACK)})")
    server = build_server(McpSettings(kubeconfig=kubeconfig, context=context,
                                      anonymize=anonymize, allow_live=live))
    if transport is McpTransport.STDIO:
        server.run("stdio")
    else:
        _stderr(f"k8sdoctor: MCP over streamable HTTP on http://{host}:{port}/mcp")
        server.run("streamable-http", host=host, port=port)


@app.command()
def version() -> None:
    """Print the k8sdoctor version."""
    print(__version__)


app.add_typer(backends_app, name="backends")
app.add_typer(cache_app, name="cache")
app.command("eval")(eval_command)


_KEPT_TILL_EXIT: list[object] = []
"""The last analysis, still referenced when ``console_main`` ends the process, so that its
objects are never freed one by one."""


def console_main() -> None:
    """The ``k8sdoctor`` program: ``main``, then an exit that leaves the heap to the operating
    system.

    A run over a large cluster ends holding millions of objects; freeing them one by one and
    unloading every module costs about a tenth of the whole run's CPU at 10,000 pods, for memory
    the operating system reclaims at once anyway. So once the output is flushed the process ends
    with ``os._exit``. Nothing is left half-written: every file a command writes is closed by a
    ``with`` block before it returns, and the report goes to stdout, flushed here.
    """
    try:
        main()
    except SystemExit as done:
        code = done.code
    else:  # main always ends with SystemExit; kept for the type checker
        code = int(ExitCode.OK)
    if code is not None and not isinstance(code, int):
        _stderr(str(code))
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):  # a reader that went away, as `| head` does
            stream.flush()
    os._exit(code or 0)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: turns user-facing errors into one line and an exit code.

    Typer's standalone mode handles usage errors (exit 2) and ``typer.Exit`` itself.
    """
    try:
        app(args=argv, prog_name="k8sdoctor")
    except UserFacingError as err:
        _stderr(f"k8sdoctor: error: {err}")
        sys.exit(int(err.exit_code))
    except Exception as err:  # the last line of defence against a traceback
        _stderr(f"k8sdoctor: internal error: {type(err).__name__}: {err} "
                "(this is a bug; please report it)")
        sys.exit(INTERNAL_ERROR)
    sys.exit(int(ExitCode.OK))
