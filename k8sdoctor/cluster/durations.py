"""Durations as kubectl takes them on the command line, and as messages show them.

``--request-timeout`` follows kubectl: a plain number of seconds (``30``) or a Go duration
(``30s``, ``2m``, ``1m30s``, ``1.5h``, ``500ms``); ``0`` means no limit.
"""

from __future__ import annotations

import re

from k8sdoctor.errors import BadInputError

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
          "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str, option: str) -> float:
    """Seconds in ``text`` (0 for no limit); ``BadInputError`` naming ``option`` otherwise."""
    value = text.strip()
    if re.fullmatch(r"\d+", value):
        return float(value)
    position, seconds = 0, 0.0
    for match in _PART.finditer(value):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not value or position != len(value):
        raise BadInputError(
            f"{option}: invalid duration {text!r}; give seconds (30) or a duration with a unit "
            "(30s, 2m, 1m30s, 1h); 0 means no limit"
        )
    return seconds


def format_seconds(seconds: float) -> str:
    """``0.2s``, ``30s``, ``2m``, ``2m5s``, ``1h``: how long something took or may take."""
    if seconds < 10:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + "s"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "",
             f"{secs}s" if secs else ""]
    return "".join(parts) or "0s"
