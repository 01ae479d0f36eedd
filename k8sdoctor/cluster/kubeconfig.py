"""Where a live cluster is and how to log in to it: the kubeconfig, read as kubectl reads it, or the
service account of the pod k8sdoctor runs in.

The official client does the reading (merging the files of ``KUBECONFIG``, contexts, client
certificates, tokens, exec credential plugins); this module picks the files, checks the context,
and turns each way it can fail into one line that says what to do. The client reports a failing
exec plugin only through the ``logging`` module, so that is captured here rather than printed.
Nothing is ever written back to the kubeconfig.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client import Configuration
from kubernetes.config import ConfigException, load_incluster_config
from kubernetes.config.kube_config import KubeConfigLoader, KubeConfigMerger

from k8sdoctor.errors import ClusterUnreachableError

IN_CLUSTER_HOST_ENV = "KUBERNETES_SERVICE_HOST"


@dataclass(frozen=True)
class Connection:
    """A client configuration ready to use, and how to name the cluster in messages."""

    configuration: Configuration
    server: str
    label: str
    """``context NAME`` for a kubeconfig, the server URL for the in-cluster service account."""


def kubeconfig_paths(explicit: str | None) -> list[Path]:
    """The files kubectl would read: ``--kubeconfig``, else every path of ``KUBECONFIG``, else
    ``~/.kube/config``."""
    if explicit:
        return [Path(explicit).expanduser()]
    listed = os.environ.get("KUBECONFIG", "")
    if listed.strip():
        return [Path(p).expanduser() for p in listed.split(os.pathsep) if p.strip()]
    return [Path.home() / ".kube" / "config"]


def connect(kubeconfig: str | None, context: str | None) -> Connection:
    """Load the client configuration for ``context`` (default: the current context).

    Without a kubeconfig file, inside a pod (``KUBERNETES_SERVICE_HOST`` set), the pod's service
    account is used. Every failure raises ``ClusterUnreachableError`` with one line.
    """
    paths = kubeconfig_paths(kubeconfig)
    existing = [p for p in paths if p.is_file()]
    if kubeconfig and not existing:
        raise ClusterUnreachableError(
            f"kubeconfig {kubeconfig}: no such file; pass an existing file to --kubeconfig"
        )
    if not existing:
        if context is None and os.environ.get(IN_CLUSTER_HOST_ENV):
            return _in_cluster()
        looked = ", ".join(str(p) for p in paths)
        raise ClusterUnreachableError(
            f"no kubeconfig found (looked for {looked}); set KUBECONFIG or pass --kubeconfig, "
            "or analyze a file with --snapshot"
        )
    return _from_kubeconfig(existing, context)


def _in_cluster() -> Connection:
    configuration = Configuration()
    try:
        load_incluster_config(client_configuration=configuration)
    except ConfigException as err:
        raise ClusterUnreachableError(
            f"in-cluster config: {err}; mount the pod's service account token or pass "
            "--kubeconfig"
        ) from None
    return Connection(configuration, configuration.host, configuration.host)


def _from_kubeconfig(files: list[Path], context: str | None) -> Connection:
    where = os.pathsep.join(str(f) for f in files)
    try:
        merger = KubeConfigMerger(where)
        merged = merger.config
    except yaml.YAMLError as err:
        raise ClusterUnreachableError(_yaml_problem(err, where)) from None
    except (ConfigException, OSError) as err:
        raise ClusterUnreachableError(
            f"kubeconfig {where} is not valid: {_one_line(err)}"
        ) from None
    # The merger indexes into whatever YAML it was given: a document of the wrong shape
    # surfaces as one of these.
    except (AttributeError, TypeError, KeyError):
        raise ClusterUnreachableError(
            f"kubeconfig {where} is not valid: expected a Config with clusters, contexts and "
            "users, each a list of entries with a name"
        ) from None
    if merged is None or not isinstance(merged.value, Mapping):
        raise ClusterUnreachableError(f"kubeconfig {where} holds no configuration")

    contexts = _names(merged.value.get("contexts"))
    chosen = context or _current_context(merger)
    listing = f"contexts there: {', '.join(contexts)}" if contexts else "it defines no context"
    if not chosen:
        raise ClusterUnreachableError(
            f"kubeconfig {where} sets no current-context; pass --context ({listing})"
        )
    if chosen not in contexts:
        raise ClusterUnreachableError(f'context "{chosen}" not found in kubeconfig {where} '
                                      f"({listing})")

    configuration = Configuration()
    try:
        with _client_log_captured() as logged:
            loader = KubeConfigLoader(config_dict=merged, active_context=chosen,
                                      config_base_path=None)
            loader.load_and_set(configuration)
    except (ConfigException, OSError, ValueError, TypeError, KeyError) as err:
        raise ClusterUnreachableError(
            f'context "{chosen}" in kubeconfig {where}: {_one_line(err)}'
        ) from None
    has_credentials = bool(configuration.api_key) or bool(configuration.cert_file)
    if logged and not has_credentials:
        plugin = _exec_command(merged.value, chosen)
        what = f'the credential plugin "{plugin}" failed' if plugin else "no credentials"
        raise ClusterUnreachableError(
            f'context "{chosen}": {what}: {_one_line(" ".join(logged))}; log in again '
            "(or fix the user's exec section in the kubeconfig) and retry"
        )
    return Connection(configuration, configuration.host, f"context {chosen}")


def _current_context(merger: KubeConfigMerger) -> str | None:
    """The current-context of the first file that sets one: kubectl's rule (the client's merger
    would take the last)."""
    for path in merger.paths:
        current = (merger.config_files.get(path) or {}).get("current-context")
        if current:
            return str(current)
    return None


def _names(entries: Any) -> list[str]:
    names = []
    for entry in entries or ():
        value = getattr(entry, "value", entry)  # the merger wraps entries in ConfigNodes
        if isinstance(value, Mapping) and isinstance(value.get("name"), str):
            names.append(value["name"])
    return names


def _entry(entries: Any, name: str) -> Mapping[str, Any]:
    for entry in entries or ():
        value = getattr(entry, "value", entry)
        if isinstance(value, Mapping) and value.get("name") == name:
            return value
    return {}


def _exec_command(config: Mapping[str, Any], context: str) -> str | None:
    """The exec plugin command of the context's user, if it has one."""
    user_name = (_entry(config.get("contexts"), context).get("context") or {}).get("user")
    user = _entry(config.get("users"), user_name or "").get("user") or {}
    return (user.get("exec") or {}).get("command")


def _yaml_problem(err: yaml.YAMLError, where: str) -> str:
    mark = getattr(err, "problem_mark", None)
    if mark is not None:
        problem = getattr(err, "problem", None) or "malformed YAML"
        return (f"kubeconfig {mark.name}:{mark.line + 1}:{mark.column + 1} is not valid YAML "
                f"({problem}); fix it or pass another file with --kubeconfig")
    return f"kubeconfig {where} is not valid YAML ({_one_line(err)})"


def _one_line(err: object, limit: int = 300) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _client_log_captured() -> Iterator[list[str]]:
    """Collect what the client logs while loading credentials (it logs a failing exec plugin
    on the root logger instead of raising), so it is reported once and not printed raw."""
    root = logging.getLogger()
    collector = _Collector()
    root.addHandler(collector)
    try:
        yield collector.messages
    finally:
        root.removeHandler(collector)
