"""Command-line pieces of the explain stage: the ``analyze`` options and ``k8sdoctor cache``.

The option types are declared once here and used by ``k8sdoctor analyze``; ``explain_flags``
checks them together (an explain option without ``--explain`` is a usage error rather than being
silently ignored). Only typer is imported at module level, so ``--help`` stays fast.
"""

# Annotations stay evaluated (no ``from __future__ import annotations``): typer reads the
# commands' signatures on every start, and would have to compile string annotations.

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from k8sdoctor.errors import BadInputError

if TYPE_CHECKING:
    from k8sdoctor.explain.cache import ExplanationCache
    from k8sdoctor.explain.session import ExplainFlags

ExplainOpt = Annotated[
    bool, typer.Option("--explain", help="Explain each group of findings that share a cause "
                       "with an LLM (Ollama by default).")
]
BackendOpt = Annotated[
    str | None, typer.Option("--backend", metavar="NAME",
                             help="A backend named in the config file, or a type: "
                             "ollama, openai (see: k8sdoctor backends).")
]
ModelOpt = Annotated[str | None, typer.Option("--model", metavar="MODEL", help="The model to ask.")]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", metavar="URL",
                             help="The server's URL (default: OLLAMA_HOST, "
                             "OPENAI_BASE_URL, or the backend's own).")
]
PromptsOpt = Annotated[
    Path | None, typer.Option("--prompts", metavar="DIR", help="A directory with your own "
                              "prompt templates (system.md.j2, explain.md.j2, partials).")
]
LanguageOpt = Annotated[
    str | None, typer.Option("--language", metavar="LANG",
                             help="The language of the explanations, e.g. en, "
                             "de, fr (default: en).")
]
WithLogsOpt = Annotated[
    bool, typer.Option("--with-logs", help="Send the last log lines of crashed containers' "
                       "previous instances (secrets redacted; live clusters only).")
]
AnonymizeOpt = Annotated[
    bool | None, typer.Option("--anonymize/--no-anonymize", help="Replace names, namespaces, "
                              "labels, IPs and hosts by tokens in what is sent (default: on for "
                              "hosted backends, off for a local Ollama).")
]
NoCacheOpt = Annotated[
    bool, typer.Option("--no-cache", help="Ask the backend even when a cached answer exists.")
]
ShowPromptOpt = Annotated[
    bool, typer.Option("--show-prompt", help="Print exactly what would be sent (after "
                       "anonymization), send nothing, and exit 0.")
]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", metavar="PATH", help="The config file (default: $K8SDOCTOR_CONFIG, "
                 "else $XDG_CONFIG_HOME/k8sdoctor/config.yaml, else "
                 "~/.config/k8sdoctor/config.yaml)."),
]


def explain_flags(
    *, explain: bool, show_prompt: bool, backend: str | None, model: str | None,
    base_url: str | None, prompts: Path | None, language: str | None, with_logs: bool,
    anonymize: bool | None, no_cache: bool, config: str | None,
) -> "ExplainFlags | None":
    """The explain flags, or None when neither ``--explain`` nor ``--show-prompt`` was given."""
    given = {
        "--backend": backend, "--model": model, "--base-url": base_url, "--prompts": prompts,
        "--language": language, "--with-logs": with_logs or None,
        "--anonymize/--no-anonymize": anonymize, "--no-cache": no_cache or None,
    }
    if not (explain or show_prompt):
        stray = [flag for flag, value in given.items() if value is not None]
        if stray:
            raise BadInputError(f"{', '.join(stray)} only apply with --explain")
        return None
    if language is not None and not language.strip():
        raise BadInputError("--language must not be empty")
    from k8sdoctor.explain.session import ExplainFlags

    return ExplainFlags(backend=backend, model=model, base_url=base_url, prompts_dir=prompts,
                        language=language, with_logs=with_logs, anonymize=anonymize,
                        use_cache=not no_cache, config_path=config)


cache_app = typer.Typer(
    name="cache",
    help="Manage the cache of LLM explanations.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)


@cache_app.command("clear")
def clear(config: ConfigOpt = None) -> None:
    """Remove every cached explanation."""
    cache = _cache(config)
    removed = cache.clear()
    print(f"k8sdoctor: removed {removed} cached explanation{'s' if removed != 1 else ''} "
          f"from {cache.entries}", file=sys.stderr)


def _cache(config: str | None) -> "ExplanationCache":
    from k8sdoctor.explain.config import load_config
    from k8sdoctor.explain.session import cache_for

    return cache_for(load_config(config))


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.1f}d" if seconds >= 86400 else f"{seconds / 3600:.1f}h"


@cache_app.command("list")
def list_cached(config: ConfigOpt = None) -> None:
    """List the cached explanations: when each was stored, by which backend and model, its size
    and whether it has expired (never the answer's text)."""
    cache = _cache(config)
    entries = cache.list_entries()
    print("KEY               STORED               BACKEND/MODEL                     SIZE  STATE")
    for entry in entries:
        state = "damaged" if entry.damaged else "expired" if entry.expired else "valid"
        stored = _when(entry.stored_at) if not entry.damaged else "-"
        print(f"{entry.key[:16]}  {stored:<20} {entry.backend + '/' + entry.model:<32} "
              f"{entry.size:>6}  {state}")
    print(f"\n{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} in {cache.entries}",
          file=sys.stderr)


@cache_app.command("stats")
def cache_stats(config: ConfigOpt = None) -> None:
    """Count the cached explanations: valid and expired entries, bytes on disk, by model."""
    stats = _cache(config).stats()
    print(f"directory: {stats.directory}")
    print(f"entries:   {stats.entries} ({stats.entries - stats.expired} valid, "
          f"{stats.expired} expired{f', {stats.damaged} damaged' if stats.damaged else ''})")
    print(f"size:      {stats.bytes} bytes")
    print(f"ttl:       {_days(stats.ttl_seconds)}")
    if stats.oldest is not None and stats.newest is not None:
        print(f"oldest:    {_when(stats.oldest)}")
        print(f"newest:    {_when(stats.newest)}")
    for model, count in sorted(stats.by_model.items()):
        print(f"model:     {model}: {count}")
