"""Shapes compiled to straight-line Python: the fast check behind ``validate``.

Walking a shape generically costs a call, a dict lookup for the spec and a type dispatch per
field, and a 10,000-pod cluster has millions of fields. So each mapping of a shape (a pod spec, a
container, a condition) is turned once, on first use, into the source of one function that tests
each field with inline ``type(x) is ...`` checks and loops, calling the functions of the mappings
nested in it; mappings that several kinds share (``METADATA``, the pod spec) are compiled once.

Like the interpreter in ``validate``, a compiled check removes an explicit ``null`` from a checked
field, as the API treats it as unset (``template.metadata.creationTimestamp: null`` is in every
workload ``kubectl`` prints). It only answers whether an object fits: the rare object that does
not is walked again by the interpreter, which names the field at fault.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from k8sdoctor.cluster.shapes import METADATA, SHAPES, ListOf, MapOf, Spec

Fits = Callable[[dict[str, Any]], bool]

_namespace: dict[str, Any] = {}
"""Where the generated functions live and find each other (``m<id>`` checks one mapping)."""
_by_kind: dict[str, Fits] = {}
_compiling = threading.Lock()


def fits(obj: dict[str, Any], kind: str) -> bool:
    """Whether ``obj`` (a mapping whose metadata is a mapping) has the types ``SHAPES`` gives
    ``kind``; explicit nulls in checked fields are removed in place."""
    check = _by_kind.get(kind)
    if check is None:
        with _compiling:
            check = _by_kind.get(kind) or compile_mapping(
                {"metadata": METADATA, **SHAPES.get(kind, {})})
            _by_kind[kind] = check
    return check(obj)


def compile_mapping(shape: dict[str, Spec]) -> Fits:
    """The function that tells whether a dict fits ``shape`` (compiled at most once per shape
    object, with the mappings nested in it)."""
    name = f"m{id(shape)}"
    compiled = _namespace.get(name)
    if compiled is None:
        writer = _Writer()
        writer.line(0, f"def {name}(v0):")
        writer.fields("v0", shape, 1)
        writer.line(1, "return True")
        for nested in writer.nested:
            compile_mapping(nested)
        source = "\n".join(writer.lines)
        exec(compile(source, f"<shape {name}>", "exec"), _namespace)
        compiled = _namespace[name]
        # keep the shape alive with its function, so its id is never reused for another
        compiled.shape = shape
    return compiled


class _Writer:
    """The lines of one generated function; ``v<N>`` and ``k<N>`` name the values it checks."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.nested: list[dict[str, Spec]] = []
        self._names = 0

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def name(self) -> str:
        self._names += 1
        return f"v{self._names}"

    def fields(self, mapping: str, shape: dict[str, Spec], depth: int) -> None:
        # ``in`` and a subscript cost less than a ``get`` call whether the field is there or
        # not, and an explicit null is looked for only once a value is not of its type.
        for key, spec in shape.items():
            value = self.name()
            self.line(depth, f"if {key!r} in {mapping}:")
            self.line(depth + 1, f"{value} = {mapping}[{key!r}]")
            self.value(value, spec, depth + 1, null=f"del {mapping}[{key!r}]")

    def value(self, value: str, spec: Spec, depth: int, null: str | None = None) -> None:
        """Test ``value`` against ``spec``; ``null`` is the statement that drops an explicit
        null where the API allows one (a mapping's field, not a list item)."""
        if type(spec) is tuple:
            test = " or ".join(f"type({value}) is {t.__name__}" for t in spec)
            self.mismatch(depth, f"not ({test})", value, null)
            return
        self.mismatch(depth, f"type({value}) is not {'list' if type(spec) is ListOf else 'dict'}",
                      value, null)
        if type(spec) is dict:
            if spec:
                self.nested.append(spec)
                self.line(depth, f"elif not m{id(spec)}({value}):")
                self.line(depth + 1, "return False")
            return
        self.line(depth, "else:")
        if type(spec) is ListOf:
            item = self.name()
            self.line(depth + 1, f"for {item} in {value}:")
            self.value(item, spec.item, depth + 2)
        elif type(spec) is MapOf:
            item = self.name()
            self.line(depth + 1, f"for k{item[1:]}, {item} in {value}.items():")
            self.line(depth + 2, f"if type(k{item[1:]}) is not str:")
            self.line(depth + 3, "return False")
            self.value(item, spec.value, depth + 2)
        else:
            raise TypeError(f"not a shape spec: {spec!r}")

    def mismatch(self, depth: int, test: str, value: str, null: str | None) -> None:
        """``if test:`` drop a null (when ``null`` says how), else fail."""
        self.line(depth, f"if {test}:")
        if null is None:
            self.line(depth + 1, "return False")
            return
        self.line(depth + 1, f"if {value} is not None:")
        self.line(depth + 2, "return False")
        self.line(depth + 1, null)
