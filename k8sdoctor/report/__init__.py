"""Rendering a report: one module per output format, each a pure ``render(report, options)``.

``OutputFormat`` maps every format to its renderer; a test walks every member so a format can
never be added without one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when used, so the CLI's --help can name the formats cheaply
    from k8sdoctor.analysis.finding import Severity
    from k8sdoctor.report.model import Report


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    width: int | None = 80
    """Columns to wrap text at; None: do not wrap (stdout is not a terminal)."""
    details: bool = False
    """``--details``: every finding in full under its root cause (text)."""
    fail_on: Severity | None = None
    """The severity that fails the run (``--fail-on``), for formats that mark pass and fail."""
    redact: bool = True
    """Redact secret-shaped text (``password=...``, tokens, keys) from the report; off with
    ``--no-redact``."""


class OutputFormat(str, Enum):
    TEXT = "text"
    JSON = "json"
    YAML = "yaml"
    MARKDOWN = "markdown"
    JUNIT = "junit"
    SARIF = "sarif"


def renderer_for(fmt: OutputFormat) -> Callable[[Report, RenderOptions], str]:
    if fmt is OutputFormat.TEXT:
        from k8sdoctor.report import text

        return text.render
    if fmt is OutputFormat.JSON:
        from k8sdoctor.report import json_

        return lambda report, _options: json_.render(report)
    if fmt is OutputFormat.YAML:
        from k8sdoctor.report import yaml_

        return lambda report, _options: yaml_.render(report)
    if fmt is OutputFormat.MARKDOWN:
        from k8sdoctor.report import markdown

        return markdown.render
    if fmt is OutputFormat.JUNIT:
        from k8sdoctor.report import junit

        return junit.render
    if fmt is OutputFormat.SARIF:
        from k8sdoctor.analysis.registry import discover
        from k8sdoctor.report import sarif

        return lambda report, options: sarif.render(report, options, discover()[0])
    raise ValueError(f"no renderer for {fmt}")


def render(report: Report, fmt: OutputFormat, options: RenderOptions | None = None) -> str:
    """``report`` in ``fmt``; secret-shaped text is redacted here, for every format, unless
    ``options.redact`` is off."""
    from k8sdoctor.cluster.source import gc_paused

    options = options or RenderOptions()
    # Rendering makes hundreds of thousands of short-lived objects that hold no cycles: the
    # collector would only walk the report again and again (a third of -o json's time).
    with gc_paused():
        if options.redact:
            from k8sdoctor.report.redaction import redacted

            report = redacted(report)
        return renderer_for(fmt)(report, options)


def report_schema() -> dict[str, Any]:
    """The JSON Schema every ``-o json`` report validates against."""
    import json
    from importlib import resources

    return json.loads(resources.files("k8sdoctor.report").joinpath("schema.json").read_text())


def __getattr__(name: str) -> Any:
    if name == "Report":
        from k8sdoctor.report.model import Report

        return Report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["OutputFormat", "RenderOptions", "Report", "render", "renderer_for", "report_schema"]
