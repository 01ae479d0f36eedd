"""The ``k8sdoctor backends`` commands: list the LLM backends ``--explain`` can use, and check
that one answers and has its model.

``k8sdoctor backends`` prints the backends named in the config file, then the installed backend
types as ``--backend TYPE`` would use them, with where each one's API key comes from (never the
key). ``k8sdoctor backends check [NAME]`` calls the backend once, cheaply (Ollama's model
details; OpenAI's model lookup) and exits 0 when it is usable and 1 when it is not. A backend
problem is not a cluster problem, so it never exits 3; a malformed config file exits 2.
"""

# Annotations stay evaluated (no ``from __future__ import annotations``): typer reads the
# commands' signatures on every start, and would have to compile string annotations.

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from k8sdoctor.explain.cli import ConfigOpt

if TYPE_CHECKING:
    from k8sdoctor.explain.backends import BackendSettings, BackendType
    from k8sdoctor.explain.config import BackendConfig, Config

backends_app = typer.Typer(
    name="backends",
    help="List the LLM backends --explain can use, or check one (k8sdoctor backends check).",
    invoke_without_command=True,
    no_args_is_help=False,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _load(config_path: str | None) -> "Config":
    from k8sdoctor.explain.config import load_config

    config = load_config(config_path)
    for warning in config.warnings:
        print(f"k8sdoctor: warning: {warning}", file=sys.stderr)
    return config


def _types() -> "dict[str, BackendType]":
    from k8sdoctor.explain.backends import discover_backend_types

    types, errors = discover_backend_types()
    for error in errors:
        print(f"k8sdoctor: warning: plugin {error.subject}: {error.message}", file=sys.stderr)
    return types


def _key_column(settings: "BackendSettings", backend_type: "BackendType",
                named: "BackendConfig | None") -> str:
    """Where the key comes from; a missing one only when it is wanted (never the key)."""
    if settings.key_source is not None:
        source = settings.key_source
        return source if source.startswith("config file") else f"${source}"
    wanted = backend_type.needs_key or (named is not None and named.api_key_env is not None)
    return f"${settings.key_env_var} (not set)" if settings.key_env_var and wanted else "-"


@backends_app.callback()
def list_backends(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """List the configured backends, then the installed backend types (--backend TYPE)."""
    ctx.obj = config
    if ctx.invoked_subcommand is not None:
        return
    from k8sdoctor.explain.backends import DEFAULT_BACKEND, resolve_settings
    from k8sdoctor.explain.config import default_config_path

    loaded = _load(config)
    types = _types()
    default = loaded.default_backend or DEFAULT_BACKEND
    rows = [("NAME", "TYPE", "MODEL", "URL", "KEY")]
    names = list(loaded.backends) + [t for t in types if t not in loaded.backends]
    for name in names:
        settings = resolve_settings(name, None, None, loaded, types=types)
        marker = " (default)" if name == default else ""
        rows.append((f"{name}{marker}", settings.type, settings.model, settings.base_url,
                     _key_column(settings, types[settings.type], loaded.backends.get(name))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]))
    where = loaded.path or f"{default_config_path()} (none yet)"
    print(f"\nconfig file: {where}")


@backends_app.command("check")
def check(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Argument(help="A backend from the config file or a type (ollama, openai); "
                       "default: the default backend."),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", metavar="MODEL",
                                              help="Check this model.")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", metavar="URL", help="Check the server at this URL.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Say whether a backend answers and has its model.

    Exit status: 0 when it is usable; 1 when it is not (unreachable, model missing, key
    refused); 2 when the config file is malformed or the backend unknown.
    """
    from k8sdoctor.explain.backend import BackendError
    from k8sdoctor.explain.backends import resolve_backend, resolve_settings

    loaded = _load(config or ctx.obj)
    types = _types()
    settings = resolve_settings(name, model, base_url, loaded, types=types)
    label = f"{settings.name} ({settings.type}, {settings.model})"
    try:
        backend = resolve_backend(name, model, base_url, loaded)
    except BackendError as err:
        print(f"{label}: not usable: {err}")
        raise typer.Exit(1) from None
    status = backend.check()
    usable = status.reachable and status.model_available
    print(f"{label}: {'ok' if usable else 'not usable'}: {status.message}")
    raise typer.Exit(0 if usable else 1)


@backends_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The name to give the backend, e.g. local, gpt.")],
    backend_type: Annotated[
        str, typer.Option("--type", metavar="TYPE", help="The backend type: ollama, openai, or "
                          "one a plugin installs.")
    ],
    model: Annotated[str | None, typer.Option("--model", metavar="MODEL",
                                              help="The model to ask.")] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", metavar="URL", help="The server's URL.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option("--api-key-env", metavar="VAR",
                                 help="The environment variable holding the API key (default: "
                                 "the type's own, e.g. OPENAI_API_KEY). Keys are never written "
                                 "to the file.")
    ] = None,
    api_version: Annotated[
        str | None, typer.Option("--api-version", metavar="DATE",
                                 help="Azure OpenAI's dated api-version.")
    ] = None,
    make_default: Annotated[
        bool, typer.Option("--default", help="Make it the default backend.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a backend of the same name.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Add a named backend to the config file (created, private, if it does not exist)."""
    import os
    from pathlib import Path

    from k8sdoctor.errors import BadInputError
    from k8sdoctor.explain.backends import DEFAULT_BACKEND, resolve_settings
    from k8sdoctor.explain.config import CONFIG_ENV_VAR, default_config_path
    from k8sdoctor.explain.config_write import NewBackend, add_backend

    types = _types()
    if backend_type not in types:
        raise BadInputError(f"unknown backend type {backend_type!r}; installed: "
                            f"{', '.join(sorted(types))}")
    explicit = config or ctx.obj or os.environ.get(CONFIG_ENV_VAR) or None
    path = Path(explicit).expanduser() if explicit else default_config_path()
    new = NewBackend(name=name, type=backend_type, model=model, base_url=base_url,
                     api_key_env=api_key_env, api_version=api_version)
    written = add_backend(path, new, make_default=make_default, replace=replace)
    settings = resolve_settings(name, None, None, written, types=types)
    default = " (default)" if (written.default_backend or DEFAULT_BACKEND) == name else ""
    print(f"added {name}{default}: {settings.type}, {settings.model}, {settings.base_url}; "
          f"key from {_key_column(settings, types[settings.type], written.backends[name])}")
    print(f"config file: {path}", file=sys.stderr)
