"""Labelled eval scenarios: a broken cluster as a snapshot, and the ground truth about it.

A scenario directory holds, per scenario, a snapshot (anything ``analyze --snapshot`` reads) and
a ground-truth file ``NAME.truth.yaml``::

    apiVersion: k8sdoctor/v1
    kind: EvalScenario
    name: missing-configmap
    snapshot: missing-configmap.yaml      # relative to this file; default: NAME.yaml
    category: config                      # free text, to group results
    description: The checkout Deployment reads a ConfigMap that was never created.
    root: {kind: Deployment, namespace: shop, name: checkout}   # no namespace: cluster-scoped
    rootCause:                            # every entry must be matched, by any one of its
      - [checkout-config]                 # alternatives, in the summary and root cause
      - [configmap, config map]           # (case-insensitive)
    remediation:                          # the same, in the steps and commands
      - [create, apply]
    names: [checkout, checkout-config, shop, ...]   # optional: the names that exist; the
                                          # snapshot's object names and namespaces are added
    analyzers: [networkpolicy]            # optional: analyzers to run beyond the default ones

The root object must be among the findings the analyzers report (as a finding's object or its
parent workload); the explanation of the finding group that holds it is the one scored. The
bundled scenarios ship in ``k8sdoctor/data/scenarios``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from k8sdoctor.cluster.state import ObjectRef
from k8sdoctor.errors import BadInputError

TRUTH_SUFFIX = ".truth.yaml"
KIND = "EvalScenario"


@dataclass(frozen=True)
class Scenario:
    name: str
    snapshot: Path
    root: ObjectRef
    root_cause: tuple[tuple[str, ...], ...]
    """Every entry must be matched by one of its alternatives (lower-cased)."""
    remediation: tuple[tuple[str, ...], ...]
    category: str = ""
    description: str = ""
    names: frozenset[str] = frozenset()
    """Names the ground truth lists as existing; the runner adds the snapshot's."""
    analyzers: tuple[str, ...] = ()


def analyzer_names(scenario: Scenario) -> list[str]:
    """The analyzers to run on ``scenario``: the default ones and those it adds; empty (the
    default set) when it adds none."""
    if not scenario.analyzers:
        return []
    from k8sdoctor.analysis.registry import discover

    installed, _ = discover()
    return sorted({a.name for a in installed if a.default} | set(scenario.analyzers))


def bundled_scenarios_dir() -> Path:
    """The scenarios shipped in the package."""
    return Path(str(resources.files("k8sdoctor.data").joinpath("scenarios")))


def load_scenarios(directory: Path | None = None, only: Sequence[str] = ()) -> list[Scenario]:
    """Every scenario in ``directory`` (default: the bundled ones) by name, or only those named
    in ``only``. Raises ``BadInputError`` for a missing directory, a malformed ground truth, a
    missing snapshot or an unknown name."""
    directory = directory or bundled_scenarios_dir()
    if not directory.is_dir():
        raise BadInputError(f"scenario directory {directory} does not exist")
    scenarios = [_load(path) for path in sorted(directory.glob(f"*{TRUTH_SUFFIX}"))]
    if not scenarios:
        raise BadInputError(f"no scenario in {directory} (ground truths are *{TRUTH_SUFFIX})")
    by_name = {s.name: s for s in scenarios}
    if len(by_name) != len(scenarios):
        raise BadInputError(f"two scenarios in {directory} share a name")
    unknown = [name for name in only if name not in by_name]
    if unknown:
        raise BadInputError(f"unknown scenario {', '.join(unknown)}; {directory} has: "
                            f"{', '.join(by_name)}")
    return [by_name[name] for name in only] if only else scenarios


def _load(path: Path) -> Scenario:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise BadInputError(f"cannot read scenario {path}: {_one_line(err)}") from None
    if not isinstance(data, Mapping):
        raise BadInputError(f"{path}: a scenario's ground truth must be a mapping")
    if data.get("kind", KIND) != KIND:
        raise BadInputError(f"{path}: kind must be {KIND}, not {data.get('kind')!r}")
    stem = path.name[: -len(TRUTH_SUFFIX)]
    name = _text(data, "name", path, default=stem)
    snapshot = path.parent / _text(data, "snapshot", path, default=f"{stem}.yaml")
    if not snapshot.exists():
        raise BadInputError(f"{path}: its snapshot {snapshot} does not exist")
    root = data.get("root")
    if not isinstance(root, Mapping):
        raise BadInputError(f"{path}: root must be a mapping with kind, name and namespace")
    namespace = root.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise BadInputError(f"{path}: root.namespace must be text")
    return Scenario(
        name=name,
        snapshot=snapshot,
        root=ObjectRef(kind=_text(root, "kind", path, "root.kind"),
                       name=_text(root, "name", path, "root.name"), namespace=namespace),
        root_cause=_word_sets(data, "rootCause", path),
        remediation=_word_sets(data, "remediation", path),
        category=_text(data, "category", path, default=""),
        description=_text(data, "description", path, default=""),
        names=frozenset(_strings(data.get("names", []), path, "names")),
        analyzers=tuple(_strings(data.get("analyzers", []), path, "analyzers")),
    )


def _text(data: Mapping[str, Any], key: str, path: Path, label: str | None = None, *,
          default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise BadInputError(f"{path}: {label or key} must be non-empty text")
    return value


def _strings(value: object, path: Path, label: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise BadInputError(f"{path}: {label} must be a list of non-empty strings")
    return list(value)


def _word_sets(data: Mapping[str, Any], key: str, path: Path) -> tuple[tuple[str, ...], ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise BadInputError(f"{path}: {key} must be a non-empty list of lists of alternatives")
    sets = []
    for index, entry in enumerate(value):
        words = [entry] if isinstance(entry, str) else entry
        sets.append(tuple(w.lower() for w in _strings(words, path, f"{key}[{index}]")))
    return tuple(sets)


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
