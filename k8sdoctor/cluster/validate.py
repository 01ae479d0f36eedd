"""The shape every object must have before it enters a ``ClusterState``.

Analyzers are small pure functions that trust the API's types: ``restartCount`` is an integer,
``status`` a mapping, ``metadata.name`` a string. A hand-edited snapshot, a half-written file or a
misbehaving server can break that trust, and one bad object would then make an analyzer raise and
lose the findings of every other object. So each object is checked once, where it enters the
state, against the types of the fields analyzers read (``SHAPES``, built from the Kubernetes API's
own types); an object that fails is dropped and named with the field at fault, and the others are
analyzed normally. Fields no analyzer reads are not checked, and an explicit ``null`` in a checked
field is removed, as the API treats it as unset. The check that runs on every object is the shape
compiled to Python (``shape_code``); the walk below runs only on an object that fails it, to name
the field at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from k8sdoctor.cluster.shape_code import fits
from k8sdoctor.cluster.shapes import (
    INT_OR_STR,
    METADATA,
    QUANTITY,
    SHAPES,
    Leaf,
    ListOf,
    Spec,
)

_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", float: "a number",
               dict: "a mapping", list: "a list"}


class ShapeError(ValueError):
    """An object whose field has the wrong type; ``field`` is its path (``spec.replicas``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def admissible(obj: Any) -> bool:
    """Whether ``obj`` has a kind, a named metadata mapping and the types ``SHAPES`` gives for
    its kind: the quick test every object takes. Explicit nulls in checked fields are removed in
    place."""
    if type(obj) is not dict:
        return False
    kind, metadata = obj.get("kind"), obj.get("metadata")
    return (type(kind) is str and type(metadata) is dict and type(metadata.get("name")) is str
            and bool(kind) and bool(metadata["name"]) and fits(obj, kind))


def check_object(obj: Any) -> None:
    """Raise ``ShapeError`` unless ``obj`` is ``admissible``, naming the field at fault.
    Explicit nulls in checked fields are removed in place."""
    if admissible(obj):
        return
    if type(obj) is not dict:
        raise ShapeError("the item", _expected(obj, "a mapping"))
    kind = obj.get("kind")
    if type(kind) is not str or not kind:
        raise ShapeError("kind", _expected(kind, "a non-empty string"))
    metadata = obj.get("metadata")
    if type(metadata) is not dict:
        raise ShapeError("metadata", _expected(metadata, "a mapping"))
    name = metadata.get("name")
    if type(name) is not str or not name:
        raise ShapeError("metadata.name", _expected(name, "a non-empty string"))
    walk_shape(obj, kind)


def walk_shape(obj: dict[str, Any], kind: str) -> None:
    """``check_object``'s reference walk of the shape (for an object with a named metadata
    mapping): raise ``ShapeError`` naming the first field at fault; remove explicit nulls."""
    _check_fields(obj["metadata"], METADATA, "metadata")
    shape = SHAPES.get(kind)
    if shape:
        _check_fields(obj, shape, "")


@dataclass(frozen=True)
class Rejected:
    """An object dropped on its way into the state, and why."""

    kind: str
    """Its kind, or "object" when it names none."""
    namespace: str | None
    """Where it was, when it says; None for a cluster-scoped or unplaceable object."""
    message: str
    """``dropped Pod shop/web-1 (pods.yaml item 3): status...restartCount is a string ...``"""


def admit(obj: Any, origin: str) -> Rejected | None:
    """None when ``obj`` may enter the state; otherwise why it may not. ``origin`` says where it
    came from (``demo.yaml item 17``, ``GET /api/v1/pods item 3``)."""
    try:
        check_object(obj)
    except ShapeError as err:
        if not isinstance(obj, Mapping):
            return Rejected("object", None, f"dropped {origin}: {err.field} {err.problem}")
        kind = obj.get("kind")
        metadata = obj.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
        return Rejected(
            kind if isinstance(kind, str) and kind else "object",
            namespace if isinstance(namespace, str) and namespace else None,
            f"dropped {describe(obj)} ({origin}): {err.field} {err.problem}",
        )
    return None


def describe(obj: Mapping[str, Any]) -> str:
    """``Pod shop/web-1`` for error messages, as far as the object says who it is."""
    kind = obj.get("kind")
    metadata = obj.get("metadata")
    kind_text = kind if isinstance(kind, str) and kind else "object"
    if not isinstance(metadata, Mapping):
        return f"a {kind_text} without metadata"
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not isinstance(name, str) or not name:
        return f"a {kind_text} without a name"
    where = f"{namespace}/" if isinstance(namespace, str) and namespace else ""
    return f"{kind_text} {where}{_short(name)}"


def _check_fields(value: dict[str, Any], shape: dict[str, Spec], path: str) -> None:
    try:
        _fields(value, shape)
    except _Misfit as misfit:
        raise ShapeError(_joined(path, misfit.where), misfit.problem) from None


class _Misfit(Exception):
    """A ``ShapeError`` on its way out, gathering the steps of its path as it leaves each level,
    so no path is formatted for the millions of fields that fit."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.steps: list[tuple[str, bool]] = []
        """Innermost first: (key, False) or (list index, True)."""

    def at(self, key: str) -> _Misfit:
        self.steps.append((key, False))
        return self

    def at_index(self, index: int) -> _Misfit:
        self.steps.append((f"[{index}]", True))
        return self

    @property
    def where(self) -> str:
        """``spec.containers[0].image``."""
        path = ""
        for step, is_index in reversed(self.steps):
            path += step if is_index or not path else f".{step}"
        return path


def _joined(head: str, rest: str) -> str:
    return f"{head}.{rest}" if head and rest else head or rest


def _fields(value: dict[str, Any], shape: dict[str, Spec]) -> None:
    # walk the smaller of the two: a pod spec sets a dozen of the fields its shape names
    nulls = []
    for key in (value if len(value) < len(shape) else shape):
        spec = shape.get(key)
        if spec is None:
            continue
        item = value.get(key)
        if item is None:
            nulls.append(key)
        elif type(spec) is tuple:  # the commonest case, without a call
            if type(item) not in spec:
                raise _Misfit(_expected(item, _leaf_name(spec))).at(key)
        else:
            try:
                _check(item, spec)
            except _Misfit as misfit:
                raise misfit.at(key) from None
    for key in nulls:
        value.pop(key, None)


def _check(value: Any, spec: Spec) -> None:
    if type(spec) is tuple:
        if type(value) not in spec:
            raise _Misfit(_expected(value, _leaf_name(spec)))
    elif type(spec) is dict:
        if type(value) is not dict:
            raise _Misfit(_expected(value, "a mapping"))
        if spec:
            _fields(value, spec)
    elif type(spec) is ListOf:
        if type(value) is not list:
            raise _Misfit(_expected(value, "a list"))
        for index, item in enumerate(value):
            if item is None:
                raise _Misfit("is null").at_index(index)
            try:
                _check(item, spec.item)
            except _Misfit as misfit:
                raise misfit.at_index(index) from None
    else:
        if type(value) is not dict:
            raise _Misfit(_expected(value, "a mapping"))
        inner = spec.value
        for key, item in value.items():
            if type(key) is not str:
                raise _Misfit(f"has a key {_short(repr(key))}, not a string")
            if type(inner) is tuple:
                if type(item) not in inner:
                    raise _Misfit(_expected(item, _leaf_name(inner))).at(key)
                continue
            try:
                _check(item, inner)
            except _Misfit as misfit:
                raise misfit.at(key) from None


def _leaf_name(spec: Leaf) -> str:
    if spec == QUANTITY:
        return "a quantity"
    if spec == INT_OR_STR:
        return "an integer or a string"
    return _TYPE_NAMES[spec[0]]


def _expected(value: Any, wanted: str) -> str:
    if value is None:
        return f"is missing, expected {wanted}"
    found = _TYPE_NAMES.get(type(value), type(value).__name__)
    shown = f" ({_short(repr(value))})" if type(value) in (str, int, float, bool) else ""
    return f"is {found}{shown}, expected {wanted}"


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
