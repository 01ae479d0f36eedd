"""``k8sdoctor eval``: which backend and model explains cluster faults correctly, how fast, and
at what cost.

Every ``--backend`` is tried with every ``--model`` (without ``--model``, each backend's own);
without ``--backend``, every backend named in the config file, else the default one. Each
contender explains the root cause of every scenario ``--repeat`` times, cache bypassed, one call
at a time so latencies are not queueing time. Exit codes: 0, 1 when a contender's accuracy is
below ``--fail-under``, 2 for bad input (unknown backend, malformed scenario or config).
A backend that fails is not an error: its trials fail and score 0, and the table says why.
"""

# Annotations stay evaluated (no ``from __future__ import annotations``): typer reads the
# commands' signatures on every start, and would have to compile string annotations.

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from k8sdoctor.errors import BadInputError
from k8sdoctor.eval.output import EvalFormat
from k8sdoctor.exitcodes import ExitCode

BackendsOpt = Annotated[
    list[str] | None,
    typer.Option("--backend", metavar="NAME", help="A backend named in the config file, or a "
                 "type: ollama, openai (repeatable; default: every configured backend).")]
ModelsOpt = Annotated[
    list[str] | None,
    typer.Option("--model", metavar="MODEL", help="A model to try on each backend "
                 "(repeatable; default: each backend's own).")]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", metavar="URL", help="The server's URL, for every "
                             "backend given (default: the config's or the backend's own).")]
ScenariosOpt = Annotated[
    Path | None, typer.Option("--scenarios", metavar="DIR", help="A directory of your own "
                              "scenarios (NAME.yaml snapshots and NAME.truth.yaml ground truths; "
                              "default: the bundled ones).")]
ScenarioOpt = Annotated[
    list[str] | None, typer.Option("--scenario", metavar="NAME",
                                   help="Only this scenario (repeatable).")]
RepeatOpt = Annotated[
    int, typer.Option("--repeat", min=1, max=100, metavar="N",
                      help="Explain each scenario N times; pass^N is the share right every time.")]
JudgeOpt = Annotated[
    str | None, typer.Option("--judge", metavar="BACKEND", help="Also ask this backend to grade "
                             "each answer from 0 to 1 (reported apart; never changes accuracy).")]
JudgeModelOpt = Annotated[
    str | None, typer.Option("--judge-model", metavar="MODEL", help="The judge's model.")]
OutputOpt = Annotated[
    EvalFormat, typer.Option("--output", "-o", help="table, json or markdown.")]
FailUnderOpt = Annotated[
    float | None, typer.Option("--fail-under", min=0.0, max=1.0, metavar="ACCURACY",
                               help="Exit 1 when a contender's accuracy (0..1) is below this.")]
AnonymizeOpt = Annotated[
    bool | None, typer.Option("--anonymize/--no-anonymize", help="Replace names by tokens in "
                              "what is sent (default: on for hosted backends, off for local).")]
TimeoutOpt = Annotated[
    float | None, typer.Option("--timeout", min=1.0, metavar="SECONDS",
                               help="Seconds to wait for one answer (default: the config's).")]
MaxTokensOpt = Annotated[
    int | None, typer.Option("--max-tokens", min=16, max=1_000_000, metavar="N",
                             help="The answer's length limit (default: the config's, 1024).")]
ConfigOpt = Annotated[
    str | None, typer.Option("--config", metavar="PATH", help="The config file (backends, "
                             "explain defaults, the prices: table).")]


def eval_command(
    backend: BackendsOpt = None,
    model: ModelsOpt = None,
    base_url: BaseUrlOpt = None,
    scenarios: ScenariosOpt = None,
    scenario: ScenarioOpt = None,
    repeat: RepeatOpt = 1,
    judge: JudgeOpt = None,
    judge_model: JudgeModelOpt = None,
    output: OutputOpt = EvalFormat.TABLE,
    fail_under: FailUnderOpt = None,
    anonymize: AnonymizeOpt = None,
    timeout: TimeoutOpt = None,
    max_tokens: MaxTokensOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Score LLM backends on labelled broken clusters: accuracy, latency, tokens and cost."""
    from k8sdoctor.eval.judge import Judge
    from k8sdoctor.eval.output import ContenderResult, EvalResult, render_eval
    from k8sdoctor.eval.runner import harness_for, prepare, run_contender
    from k8sdoctor.eval.scenario import load_scenarios
    from k8sdoctor.eval.summary import summarize
    from k8sdoctor.explain.backend import BackendUnavailableError
    from k8sdoctor.explain.backends import resolve_backend
    from k8sdoctor.explain.config import load_config

    if judge_model and not judge:
        raise BadInputError("--judge-model only applies with --judge")
    settings = load_config(config)
    for warning in settings.warnings:
        _stderr(f"warning: {warning}")
    chosen = load_scenarios(scenarios, scenario or ())
    prepared = [prepare(s) for s in chosen]
    names = list(backend or settings.backends or [None])
    models = list(model or [None])
    timeout = timeout or settings.explain.timeout
    contenders = []
    for name in names:
        for wanted in models:
            try:
                contenders.append(resolve_backend(name, wanted, base_url, settings,
                                                  timeout=timeout))
            except BackendUnavailableError as err:
                raise BadInputError(str(err)) from None
    grader = None
    if judge:
        try:
            grader = Judge(resolve_backend(judge, judge_model, None, settings, timeout=timeout))
        except BackendUnavailableError as err:
            raise BadInputError(f"--judge: {err}") from None

    started = time.monotonic()
    results = []
    for contender in contenders:
        label = f"{contender.name}/{contender.model}"
        _stderr(f"eval: {label}: {len(prepared)} scenarios x {repeat}")
        harness = harness_for(contender, anonymize, settings.explain.language,
                              max_tokens or settings.explain.max_tokens)
        trials = run_contender(harness, prepared, repeat, grader)
        price = settings.prices.get(contender.model)
        summary = summarize(trials, repeat, price, free=not contender.hosted)
        results.append(ContenderResult(contender.name, contender.model,
                                       getattr(contender, "base_url", ""), not contender.hosted,
                                       trials, summary))
    result = EvalResult(results, str(scenarios) if scenarios else "bundled",
                        [s.name for s in chosen], repeat, grader.label if grader else None,
                        elapsed_seconds=time.monotonic() - started)
    color = (sys.stdout.isatty() and not os.environ.get("NO_COLOR")
             and os.environ.get("TERM") != "dumb")
    width = shutil.get_terminal_size((120, 24)).columns if sys.stdout.isatty() else 140
    sys.stdout.write(render_eval(result, output, color=color, width=max(100, width)))
    below = [r for r in results if fail_under is not None and r.summary.accuracy < fail_under]
    for r in below:
        _stderr(f"eval: {r.backend}/{r.model}: accuracy {r.summary.accuracy:.0%} is below "
                f"--fail-under {fail_under:.0%}")
    raise typer.Exit(int(ExitCode.FINDINGS if below else ExitCode.OK))


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)
