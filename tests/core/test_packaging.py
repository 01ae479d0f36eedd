"""Packaging: every sub-package and template ships, so a plain ``pip install .`` works as the
editable install the tests run from."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[2]


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_on_disk_is_listed() -> None:
    config = _setuptools()
    package_dirs = {name: ROOT / path for name, path in config["package-dir"].items()}
    on_disk = set()
    for init in ROOT.glob("k8sdoctor/**/__init__.py"):
        on_disk.add(".".join(init.parent.relative_to(ROOT).parts))
    for name, directory in package_dirs.items():
        on_disk.update(
            ".".join((name, *init.parent.relative_to(directory).parts))
            for init in directory.glob("**/__init__.py")
        )
    assert on_disk == set(config["packages"])


def test_templates_and_data_are_package_data() -> None:
    patterns = _setuptools()["package-data"]
    shipped = {
        "prompts": patterns["k8sdoctor.prompts"],
        "k8sdoctor/data": patterns["k8sdoctor.data"],
        "k8sdoctor/data/scenarios": patterns["k8sdoctor.data"],
        "k8sdoctor/report": patterns["k8sdoctor.report"],
        "k8sdoctor/eval": patterns["k8sdoctor.eval"],
    }
    for directory, globs in shipped.items():
        files = [p for p in (ROOT / directory).iterdir()
                 if p.is_file() and p.suffix not in (".py", ".pyc")]
        assert files, directory
        for path in files:
            assert any(path.match(glob) for glob in globs), f"{path.name} would not ship"
