"""Analyzer plugins load one by one: a broken, mistyped or repeated one is reported, not fatal."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from k8sdoctor.analysis.registry import ENTRY_POINT_GROUP, discover


def test_broken_plugins_are_reported_and_the_others_load(monkeypatch: pytest.MonkeyPatch) -> None:
    installed = [
        EntryPoint("deployment", "k8sdoctor.analyzers.deployment:ANALYZER", ENTRY_POINT_GROUP),
        EntryPoint("ghost", "k8sdoctor_ghost_plugin:ANALYZER", ENTRY_POINT_GROUP),
        EntryPoint("wrong", "k8sdoctor.analyzers.deployment:analyze", ENTRY_POINT_GROUP),
        EntryPoint("again", "k8sdoctor.analyzers.deployment:ANALYZER", ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr("k8sdoctor.plugins.entry_points", lambda group: installed)
    analyzers, errors = discover()
    assert [a.name for a in analyzers] == ["deployment"]
    assert [(e.stage, e.subject) for e in errors] == [
        ("plugin", "ghost"), ("plugin", "wrong"), ("plugin", "again")]
    assert "ModuleNotFoundError" in errors[0].message
    assert errors[1].message.endswith("is not a k8sdoctor Analyzer")
    assert errors[2].message == "another plugin already provides analyzer 'deployment'"
