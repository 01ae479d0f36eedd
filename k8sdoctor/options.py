"""What the ``analyze`` flags and the environment mean, kept out of the thin CLI module.

``-n`` takes several namespaces (``-n a -n b`` or ``-n a,b``); the report's width and colour
follow kubectl's and the wider command-line world's habits: wrap to the terminal only when
writing to one (a CI log or a pipe gets whole lines, so names and ``kubectl`` commands can be
copied), ``COLUMNS`` sets the width anyway, ``NO_COLOR`` turns colour off and ``FORCE_COLOR``
turns it on when stdout is not a terminal.

The command line's option types (``FailOn``, ``MinSeverity``) live here and this module imports
nothing heavy at load time, so ``k8sdoctor --help`` never loads the analysis code.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import TYPE_CHECKING

from k8sdoctor.errors import BadInputError

if TYPE_CHECKING:
    from k8sdoctor.analysis.finding import Severity
    from k8sdoctor.cluster.state import Scope
    from k8sdoctor.report import RenderOptions

MIN_WIDTH = 40
"""Narrower than this, wrapped text is unreadable: ``COLUMNS`` below it counts as this."""

_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
"""A DNS-1123 label: what a namespace name may be."""


class FailOn(str, Enum):
    """``--fail-on``: the least severe finding that fails the run."""

    NEVER = "never"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def severity(self) -> Severity | None:
        """The lowest severity that fails the run; None for ``never``."""
        from k8sdoctor.analysis.finding import Severity

        return None if self is FailOn.NEVER else Severity(self.value)


class MinSeverity(str, Enum):
    """``--min-severity``: the least severe root cause a report shows."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def severity(self) -> Severity:
        from k8sdoctor.analysis.finding import Severity

        return Severity(self.value)


def parse_namespaces(values: Iterable[str] | None) -> tuple[str, ...]:
    """``-n a -n b,c`` as ``("a", "b", "c")``, each once, in the order given."""
    names: dict[str, None] = {}
    for value in values or ():
        for name in value.split(","):
            name = name.strip()
            if not name:
                continue
            if len(name) > 63 or not _NAMESPACE.fullmatch(name):
                raise BadInputError(f"--namespace: {name!r} is not a valid namespace name "
                                    "(lowercase letters, digits and '-', at most 63)")
            names[name] = None
    return tuple(names)


def scope_from_flags(namespaces: Iterable[str] | None, all_namespaces: bool,
                     selector: str | None) -> Scope:
    from k8sdoctor.cluster.state import Scope

    parsed = parse_namespaces(namespaces)
    if parsed and all_namespaces:
        raise BadInputError("--namespace and --all-namespaces exclude each other")
    return Scope(namespaces=parsed, selector=selector or None)


def missing_namespace_warnings(missing: Iterable[str]) -> list[str]:
    """One line per namespace of ``-n`` that does not exist."""
    return [f"warning: namespace {name!r} not found; nothing in it was analyzed"
            for name in missing]


def stdout_render_options(
    is_terminal: bool, environ: Mapping[str, str] | None = None
) -> RenderOptions:
    """Width and colour for a report written to stdout.

    Width: ``COLUMNS`` when set; otherwise the terminal's width on a terminal, and no wrapping
    at all elsewhere. Colour: on a terminal unless ``NO_COLOR`` is set or ``TERM=dumb``; off
    elsewhere unless ``FORCE_COLOR`` is set (to anything but ``0``). ``NO_COLOR`` wins.
    """
    from k8sdoctor.report import RenderOptions

    env = os.environ if environ is None else environ
    force = env.get("FORCE_COLOR", "") not in ("", "0")
    color = not env.get("NO_COLOR") and (force or (is_terminal and env.get("TERM") != "dumb"))
    width: int | None = None
    columns = env.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        width = max(MIN_WIDTH, int(columns))
    elif is_terminal:
        width = max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)
    return RenderOptions(color=color, width=width)
