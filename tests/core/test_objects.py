"""Shared object readers: kubectl-style ages and selector flags."""

from __future__ import annotations

import pytest

from k8sdoctor.analysis.objects import format_duration, selector_flag


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(-5, "0s"), (45, "45s"), (119, "119s"), (450, "7m30s"), (600, "10m"), (5700, "95m"),
     (10800, "3h"), (18720, "5h12m"), (100000, "27h"), (273600, "3d4h"), (3456000, "40d")],
)
def test_format_duration_matches_kubectl(seconds: int, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_selector_flag_is_shell_safe() -> None:
    assert selector_flag({"matchLabels": {"app": "web"}}) == "app=web"
    selector = {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}
    assert selector_flag(selector) == "'tier in (a,b)'"
    assert selector_flag(None) == ""
