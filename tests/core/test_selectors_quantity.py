"""Label selectors in their three forms, and resource quantities."""

from __future__ import annotations

import pytest

from k8sdoctor.cluster.quantity import format_bytes, format_cores, parse_quantity
from k8sdoctor.cluster.selectors import (
    matches_label_selector,
    matches_map,
    matches_selector_string,
    parse_selector,
)


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "web"}, True),
        ("app!=web", {"app": "api"}, True),
        ("app!=web", {}, True),
        ("env in (prod, staging)", {"env": "staging"}, True),
        ("env notin (prod)", {"env": "prod"}, False),
        ("tier", {"tier": "x"}, True),
        ("!legacy", {"legacy": "1"}, False),
        ("app=web,env in (a,b),!legacy", {"app": "web", "env": "b"}, True),
    ],
)
def test_selector_string(text: str, labels: dict, expected: bool) -> None:
    assert matches_selector_string(parse_selector(text), labels) is expected


def test_malformed_selector_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_selector("app=web,(oops")


def test_label_selector_semantics() -> None:
    assert matches_label_selector({}, {"a": "b"})  # empty selects everything
    assert not matches_label_selector(None, {"a": "b"})  # null selects nothing
    selector = {"matchLabels": {"app": "db"},
                "matchExpressions": [{"key": "role", "operator": "In", "values": ["primary"]}]}
    assert matches_label_selector(selector, {"app": "db", "role": "primary"})
    assert not matches_label_selector(selector, {"app": "db", "role": "replica"})


def test_service_selector_semantics() -> None:
    assert not matches_map({}, {"app": "web"})
    assert matches_map({"app": "web"}, {"app": "web", "x": "y"})


@pytest.mark.parametrize(
    ("text", "value"),
    [("250m", 0.25), ("2", 2.0), ("1Gi", 2**30), ("512Mi", 2**29), ("1.5", 1.5), ("1k", 1000.0),
     ("2e3", 2000.0), (4, 4.0), ("100n", 1e-7)],
)
def test_parse_quantity(text: str, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


def test_malformed_quantity() -> None:
    with pytest.raises(ValueError):
        parse_quantity("12Qi")


def test_formatting() -> None:
    assert format_cores(0.25) == "250m"
    assert format_cores(3.5) == "3.5"
    assert format_bytes(1.5 * 2**30) == "1.5Gi"
