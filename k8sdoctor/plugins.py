"""Loading plugins from an entry-point group, each on its own so a broken one is only reported.

Analyzers (``k8sdoctor.analyzers``) and LLM backend types (``k8sdoctor.backends``) are found this
way, built-ins exactly like third-party packages.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Protocol, TypeVar

from k8sdoctor.analysis.finding import RunError


class _Named(Protocol):
    name: str


PluginT = TypeVar("PluginT", bound=_Named)


def load_plugins(
    group: str, expected: type[PluginT], noun: str
) -> tuple[dict[str, PluginT], list[RunError]]:
    """Every plugin of ``group`` that loads and is an ``expected``, by name (sorted), and an error
    for each entry point that fails to import, is of another type, or repeats a name."""
    plugins: dict[str, PluginT] = {}
    errors: list[RunError] = []
    for entry_point in entry_points(group=group):
        try:
            loaded = entry_point.load()
        except Exception as err:  # a broken plugin must never sink the run
            errors.append(RunError("plugin", entry_point.name,
                                   f"cannot load {entry_point.value}: {type(err).__name__}: {err}"))
            continue
        if not isinstance(loaded, expected):
            errors.append(RunError("plugin", entry_point.name,
                                   f"{entry_point.value} is not a k8sdoctor {expected.__name__}"))
        elif loaded.name in plugins:
            errors.append(RunError("plugin", entry_point.name,
                                   f"another plugin already provides {noun} {loaded.name!r}"))
        else:
            plugins[loaded.name] = loaded
    return dict(sorted(plugins.items())), errors
