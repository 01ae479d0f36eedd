"""From ``analyze --explain``'s flags and the config file to a ready ``ExplainStage``.

Flags win over the config file's ``explain:`` section, which wins over the built-in defaults.
The cache and the anonymization key live in the user's XDG cache directory. A backend that cannot
work as configured (the default OpenAI server without a key) is not a usage error: the findings
are still reported, with the reason in the report's errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from k8sdoctor.analysis.finding import RunError
from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.errors import BadInputError
from k8sdoctor.explain.anonymize import KEY_BYTES, Anonymizer, load_or_create_key
from k8sdoctor.explain.backend import BackendUnavailableError
from k8sdoctor.explain.cache import ExplanationCache, default_cache_dir
from k8sdoctor.explain.config import Config, load_config
from k8sdoctor.explain.evidence import LogReader
from k8sdoctor.explain.prompts import PromptSet
from k8sdoctor.explain.stage import ExplainOptions, ExplainStage, anonymizes, render_prompts
from k8sdoctor.report.model import Report

KEY_FILE = "anonymize.key"


@dataclass(frozen=True)
class ExplainFlags:
    """The explain options of ``k8sdoctor analyze``; None means "not given"."""

    backend: str | None = None
    model: str | None = None
    base_url: str | None = None
    prompts_dir: Path | None = None
    language: str | None = None
    with_logs: bool = False
    anonymize: bool | None = None
    use_cache: bool = True
    config_path: str | None = None


@dataclass(frozen=True)
class Session:
    """A stage ready to run, or why there is none, plus what to tell the user on stderr."""

    stage: ExplainStage | None
    error: RunError | None = None
    warnings: tuple[str, ...] = ()


def cache_for(config: Config, environ: Mapping[str, str] | None = None) -> ExplanationCache:
    return ExplanationCache(default_cache_dir(environ), ttl_seconds=config.explain.cache_ttl)


def open_session(
    flags: ExplainFlags,
    log_reader: LogReader | None,
    *,
    environ: Mapping[str, str] | None = None,
    sending: bool = True,
) -> Session:
    """Load the config, resolve the backend and build the stage; ``sending=False`` for a stage
    that only renders requests (``--show-prompt``), which needs no API key.

    Raises ``BadInputError`` for a malformed config file, an unknown backend or a bad prompt
    directory.
    """
    from k8sdoctor.explain.backends import resolve_backend

    config = load_config(flags.config_path, environ)
    defaults = config.explain
    prompts = PromptSet(flags.prompts_dir or defaults.prompts_dir)
    try:
        backend = resolve_backend(flags.backend, flags.model, flags.base_url, config,
                                  environ=environ, require_key=sending)
    except BackendUnavailableError as err:
        subject = flags.backend or config.default_backend or "backend"
        return Session(None, RunError("explain", subject, str(err)), config.warnings)
    options = ExplainOptions(
        language=flags.language or defaults.language,
        anonymize=flags.anonymize if flags.anonymize is not None else defaults.anonymize,
        with_logs=flags.with_logs,
        use_cache=flags.use_cache,
        concurrency=defaults.concurrency or backend.parallel_calls,
        max_tokens=defaults.max_tokens,
    )
    cache = cache_for(config, environ)
    warnings = list(config.warnings)
    anonymizer = None
    if anonymizes(backend, options):
        try:
            key = load_or_create_key(cache.directory / KEY_FILE)
        except OSError as err:
            # Privacy first: a one-off key still hides every name; only the cache will miss.
            warnings.append(f"cannot keep the anonymization key in {cache.directory} "
                            f"({err.strerror}); cached answers will not be reused")
            key = os.urandom(KEY_BYTES)
        anonymizer = Anonymizer(key)
    stage = ExplainStage(backend, options, prompts=prompts, cache=cache, anonymizer=anonymizer,
                         log_reader=log_reader)
    return Session(stage, None, tuple(warnings))


def explain_report(
    report: Report, state: ClusterState, source: object, flags: ExplainFlags,
    notify: Callable[[str], None],
) -> Report:
    """``report`` explained; never raises for a backend failure (see ``Report.errors``)."""
    if not report.findings:
        return report
    session = _open(source, flags, notify)
    if session.stage is None:
        assert session.error is not None
        return replace(report, errors=[*report.errors, session.error])
    backend = session.stage.backend
    privacy = "names anonymized" if session.stage.anonymizer else "names sent as they are"
    notify(f"explaining findings with {backend.name}/{backend.model} ({privacy})")
    return session.stage.run(report, state)


def show_prompts(
    report: Report, state: ClusterState, source: object, flags: ExplainFlags,
    notify: Callable[[str], None],
) -> str:
    """Every request ``explain_report`` would send, rendered; nothing is sent."""
    if not report.findings:
        notify("no findings: nothing would be sent")
        return ""
    session = _open(source, flags, notify, sending=False)
    if session.stage is None:  # a plugin backend that cannot even be built
        assert session.error is not None
        raise BadInputError(session.error.message)
    return render_prompts(session.stage.prepare(report, state))


def _open(
    source: object, flags: ExplainFlags, notify: Callable[[str], None], *, sending: bool = True
) -> Session:
    log_reader = source if isinstance(source, LogReader) else None
    if flags.with_logs and log_reader is None:
        notify("--with-logs: a snapshot holds no logs; the prompts will say so")
    session = open_session(flags, log_reader, sending=sending)
    for warning in session.warnings:
        notify(f"warning: {warning}")
    return session
