"""Kubeconfig files for tests: one context pointing at a (fake) API server."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


def kubeconfig(server: str, *, context: str = "kind-shop",
               user: Mapping[str, Any] | None = None,
               cluster: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A kubeconfig with one context (cluster and user of the same name) pointing at ``server``;
    ``user`` and ``cluster`` add fields to those entries (token, exec, certificates...)."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": {"server": server, **(cluster or {})}}],
        "users": [{"name": context, "user": dict(user or {})}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
    }


def write_kubeconfig(path: Path, server: str, **options: Any) -> Path:
    """``kubeconfig(server, **options)`` written to ``path``."""
    path.write_text(yaml.safe_dump(kubeconfig(server, **options), sort_keys=False),
                    encoding="utf-8")
    return path
