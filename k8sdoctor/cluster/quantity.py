"""Kubernetes resource quantities ("250m", "1Gi", "1.5", "2e3") as plain numbers."""

from __future__ import annotations

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
            "P": 1e15, "E": 1e18}


def parse_quantity(value: str | int | float) -> float:
    """The value of a quantity in base units (cores, bytes, count). ValueError if malformed."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if not text:
        raise ValueError("empty quantity")
    for suffix, factor in _BINARY.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    number = text.rstrip("numkMGTPE")
    suffix = text[len(number):]
    if suffix not in _DECIMAL:
        raise ValueError(f"malformed quantity {value!r}")
    return float(number) * _DECIMAL[suffix]


def format_cores(cores: float) -> str:
    return f"{cores * 1000:.0f}m" if cores < 1 else f"{cores:.2f}".rstrip("0").rstrip(".")


def format_bytes(size: float) -> str:
    for unit, factor in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if size >= factor:
            return f"{size / factor:.1f}".rstrip("0").rstrip(".") + unit
    return f"{size:.0f}"
