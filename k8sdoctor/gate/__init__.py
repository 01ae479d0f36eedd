"""The CI gate beyond ``--fail-on``: baselines (``baseline.py``) and reviewed suppressions
(``suppress.py``). Both only mark findings; ``run.exit_code_for`` leaves marked ones out."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase

from k8sdoctor.cluster.state import ClusterState, Scope
from k8sdoctor.gate.baseline import Baseline, BaselineEntry, load_baseline, mark, write_baseline
from k8sdoctor.gate.suppress import IgnoreFile, apply, default_ignore_file, load_ignore_file
from k8sdoctor.report.model import Report


@dataclass(frozen=True)
class GateInputs:
    """The gate's files, read before the scan so that a bad one fails fast (exit 2)."""

    ignore: IgnoreFile | None = None
    baseline: Baseline | None = None
    write_baseline: str | None = None


def load_gate_inputs(*, ignore_file: str | None, baseline: str | None,
                     write_baseline: str | None) -> GateInputs:
    """``ignore_file`` None means the default file when the working directory has one."""
    ignore_path = ignore_file if ignore_file is not None else default_ignore_file()
    return GateInputs(
        ignore=load_ignore_file(ignore_path) if ignore_path else None,
        baseline=load_baseline(baseline) if baseline else None,
        write_baseline=write_baseline,
    )


def apply_gate(report: Report, state: ClusterState | None, inputs: GateInputs, scope: Scope,
               exclude_namespaces: Sequence[str], notify: Callable[[str], None],
               today: datetime.date | None = None) -> Report:
    """Suppress, write the baseline if asked, and mark findings against the baseline."""
    day = today or datetime.datetime.now(datetime.timezone.utc).date()
    if inputs.ignore is not None:
        report = apply(report, inputs.ignore, state, day)
        for entry in report.gate.get("expiredSuppressions", ()):
            notify(f"warning: {entry['source']}: suppression expired on {entry['expires']} "
                   f"({entry['reason']}); it no longer suppresses anything")
    if inputs.write_baseline:
        count = write_baseline(report, inputs.write_baseline)
        notify(f"wrote {count} baseline entr{'y' if count == 1 else 'ies'} to "
               f"{inputs.write_baseline}")
    if inputs.baseline is not None:

        def in_scope(entry: BaselineEntry) -> bool:
            if scope.namespaces and entry.namespace not in scope.namespaces:
                return False
            return not (entry.namespace and any(fnmatchcase(entry.namespace, g)
                                                for g in exclude_namespaces))

        report = mark(report, inputs.baseline, in_scope)
    return _root_causes_follow(report)


def _root_causes_follow(report: Report) -> Report:
    """The root causes hold their own copies of the findings: give them the marked ones."""
    by_id = {f.id: f for f in report.findings}
    return replace(report, root_causes=[c.with_findings(by_id) for c in report.root_causes])
