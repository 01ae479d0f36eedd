"""docs/analyzers.md is exactly what ``k8sdoctor analyzers --markdown`` prints, and every
analyzer documents its faults the way users read them."""

from __future__ import annotations

import re
from pathlib import Path

from k8sdoctor.analysis.docs import analyzers_markdown
from k8sdoctor.analysis.registry import discover

DOCS = Path(__file__).resolve().parents[2] / "docs" / "analyzers.md"


def test_analyzer_reference_is_current() -> None:
    installed, errors = discover()
    assert not errors
    assert DOCS.read_text(encoding="utf-8") == analyzers_markdown(installed), (
        "docs/analyzers.md is stale: regenerate it with "
        "`k8sdoctor analyzers --markdown > docs/analyzers.md`"
    )


def test_every_analyzer_lists_its_faults_with_severity_and_fix() -> None:
    installed, _ = discover()
    for analyzer in installed:
        assert analyzer.description.endswith("."), analyzer.name
        assert "Faults reported" in analyzer.details, analyzer.name
        assert re.search(r"^- .*``\w+``", analyzer.details, re.MULTILINE), (
            f"{analyzer.name} names no fault reason"
        )
        assert re.search(r"\b(critical|error|warning|info)\b", analyzer.details), (
            f"{analyzer.name} gives no severity"
        )
