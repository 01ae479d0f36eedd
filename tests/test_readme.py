"""The README's quick start is exactly two commands a new user copies, and CI runs the second
one word for word, so what the README promises is what CI proves.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
README = REPOSITORY / "README.md"
CI_RUN = REPOSITORY / ".ci" / "run"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _section(markdown: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown,
                      re.DOTALL | re.MULTILINE)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def quick_start_commands() -> list[str]:
    blocks = FENCE.findall(_section(README.read_text(encoding="utf-8"), "Quick start"))
    assert len(blocks) == 2, f"the quick start has {len(blocks)} command blocks, not 2"
    commands = [block.strip() for block in blocks]
    for command in commands:
        assert "\n" not in command, f"a quick-start block holds more than one line: {command!r}"
    return commands


def test_quick_start_is_two_commands_demo_then_tests() -> None:
    demo, tests = quick_start_commands()
    assert "pip install" in demo and demo.endswith("k8sdoctor analyze --demo")
    assert "pip install" in tests and "[test]" in tests and tests.split()[-1].endswith("pytest")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    _, tests = quick_start_commands()
    script = CI_RUN.read_text(encoding="utf-8")
    commands = [line.strip() for line in script.splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert tests in commands, f"{CI_RUN.name} does not run {tests!r}"
    assert os.access(CI_RUN, os.X_OK)
    # a fresh environment: the old one is removed before the README's command runs
    fresh = [c for c in commands if c.startswith("rm -rf") and ".venv" in c]
    assert fresh and commands.index(fresh[0]) < commands.index(tests)


def test_the_readme_demo_excerpt_is_what_the_demo_prints(monkeypatch, capsys) -> None:
    """The text block under "## Output" is an excerpt of ``analyze --demo`` at 80 columns."""
    import pytest

    from k8sdoctor.cli import main

    block = re.search(r"^```text\n(.*?)^```", _section(README.read_text(encoding="utf-8"),
                                                       "Output"), re.DOTALL | re.MULTILINE)
    assert block, "the Output section shows no demo excerpt"
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        main(["analyze", "--demo"])
    printed = capsys.readouterr().out.splitlines()
    shown = [line for line in block.group(1).splitlines() if not line.startswith("[...")]
    assert [line for line in shown if line not in printed] == []
    assert shown[:3] == printed[:3] and shown[-2:] == printed[-2:]
