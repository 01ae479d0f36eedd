"""Property: the generated shape checks (``shape_code``, run by ``validate.fits``) agree with the
walk of the shapes that names the field at fault (``validate.walk_shape``): the same objects fit,
and the same nulls are removed from those that do. And the generated module is the one
``shape_code`` writes from today's shapes.

Each example damages one field of one object of the demo cluster (a wrong type, a null, a
missing key, a huge value), as ``test_bad_objects_property`` does, and gives a copy to each.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from k8sdoctor.cluster.shape_code import GENERATED, compile_mapping, generate
from k8sdoctor.cluster.shapes import SHAPES, STR, ListOf, MapOf
from k8sdoctor.cluster.validate import ShapeError, fits, walk_shape
from tests.core.test_bad_objects_property import DELETE, REPLACEMENTS, _paths
from tests.helpers import DEMO

# read here, not taken from another test module: analyzing the demo removes its nulls in place
ITEMS: list[dict[str, Any]] = yaml.load(DEMO.read_text(encoding="utf-8"),
                                        Loader=yaml.CSafeLoader)["items"]
PATHS = [list(_paths(item)) for item in ITEMS]


def _walk_fits(obj: dict[str, Any], kind: str) -> bool:
    try:
        walk_shape(obj, kind)
    except ShapeError:
        return False
    return True


def _checkable(obj: dict[str, Any]) -> bool:
    """What ``check_object`` asks before either check runs: a metadata mapping with a name."""
    metadata = obj.get("metadata")
    return type(metadata) is dict and type(metadata.get("name")) is str


@st.composite
def damaged_objects(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A kind, and an object of the demo of that kind with one field damaged."""
    index = draw(st.integers(0, len(ITEMS) - 1))
    obj = copy.deepcopy(ITEMS[index])
    if PATHS[index]:
        *parents, last = draw(st.sampled_from(PATHS[index]))
        target: Any = obj
        for step in parents:
            target = target[step]
        value = draw(st.sampled_from(REPLACEMENTS))
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return ITEMS[index]["kind"], obj


@settings(max_examples=1500, deadline=None, derandomize=True, database=None)
@given(damaged_objects())
def test_compiled_checks_agree_with_the_walk(example: tuple[str, dict[str, Any]]) -> None:
    kind, damaged = example
    if not _checkable(damaged):
        return
    compiled, walked = copy.deepcopy(damaged), copy.deepcopy(damaged)
    assert fits(compiled, kind) == _walk_fits(walked, kind)
    if _walk_fits(walked, kind):
        assert compiled == walked  # the same nulls removed


def test_every_kind_of_the_demo_fits_and_is_compiled() -> None:
    kinds = {item["kind"] for item in ITEMS}
    assert kinds & set(SHAPES) == set(SHAPES) & kinds
    for item in ITEMS:
        assert fits(copy.deepcopy(item), item["kind"]), item["metadata"]["name"]


@pytest.mark.parametrize(("value", "expected"), [
    ({}, True),
    ({"a": None}, True),
    ({"a": "x", "m": {"k": "v"}, "l": [{"b": 1}]}, True),
    ({"a": 1}, False),
    ({"m": {"k": 1}}, False),
    ({"m": {"k": None}}, False),
    ({"l": [None]}, False),
    ({"l": [{"b": "1"}]}, False),
    ({"l": [{"b": True}]}, False),  # a boolean is not an integer
    ({"l": {"b": 1}}, False),
])
def test_a_compiled_check(value: dict[str, Any], expected: bool) -> None:
    check = compile_mapping({"a": STR, "m": MapOf(STR), "l": ListOf({"b": (int,)})})
    assert check(value) is expected
    assert "a" not in value or value["a"] is not None  # a null field is removed


def test_the_generated_checks_are_up_to_date_with_the_shapes() -> None:
    assert GENERATED.read_text(encoding="utf-8") == generate(), (
        "shapes changed: run python -m k8sdoctor.cluster.shape_code")


def test_a_kind_without_a_shape_has_its_metadata_checked() -> None:
    assert fits({"metadata": {"name": "x", "labels": {"a": "b"}}, "spec": 1}, "Widget")
    assert not fits({"metadata": {"name": "x", "labels": {"a": 1}}}, "Widget")


def test_nested_lists_and_maps_compile() -> None:
    check = compile_mapping({"l": ListOf(ListOf(STR)), "m": MapOf(MapOf({"a": STR}))})
    assert check({"l": [["x"], []], "m": {"k": {"v": {"a": "x"}}}})
    assert not check({"l": [["x", 1]]})
    assert not check({"l": ["x"]})
    assert not check({"m": {"k": {"v": {"a": 1}}}})
    assert not check({"m": {"k": []}})
