"""Reading the ``kubectl`` commands an explanation suggests, to check that they would run and
name only what exists.

A command is split as a shell would (``shlex``), must start with ``kubectl`` and a known verb,
and may use only flags kubectl has (the global ones and those of common verbs). What it names is
pulled out: resource names (``TYPE NAME``, ``TYPE/NAME``, the pod of ``logs``/``exec``, the node
of ``cordon``/``drain``/``taint``), the namespace of ``-n``/``--namespace`` and every flag. A
placeholder (``<pod>``, ``POD_NAME``, ``$NS``) is not a name: it is reported apart, since a
command with one cannot be run as it stands.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

VERBS = frozenset({
    "annotate", "api-resources", "api-versions", "apply", "attach", "auth", "autoscale",
    "certificate", "cluster-info", "config", "cordon", "cp", "create", "debug", "delete",
    "describe", "diff", "drain", "edit", "events", "exec", "explain", "expose", "get",
    "kustomize", "label", "logs", "patch", "port-forward", "proxy", "replace", "rollout", "run",
    "scale", "set", "taint", "top", "uncordon", "version", "wait",
})
NAMING_VERBS = frozenset({"annotate", "delete", "describe", "edit", "get", "label", "patch",
                          "scale", "wait", "events"})
"""Verbs whose arguments are ``TYPE NAME...`` or ``TYPE/NAME`` of existing objects."""
NODE_VERBS = frozenset({"cordon", "uncordon", "drain", "taint"})
POD_VERBS = frozenset({"logs", "exec", "attach", "port-forward", "debug"})
SUBCOMMANDS = {"rollout": {"status", "history", "undo", "restart", "pause", "resume"},
               "set": {"image", "resources", "env", "selector", "serviceaccount", "subject"},
               "top": {"pod", "pods", "node", "nodes", "po", "no"},
               "create": None, "auth": None, "config": None, "certificate": None}
"""Verbs followed by a sub-command; None: any sub-command (what it creates need not exist)."""

FLAGS = frozenset({
    # global
    "namespace", "n", "all-namespaces", "A", "context", "cluster", "user", "kubeconfig",
    "server", "s", "token", "v", "request-timeout", "as", "as-group", "insecure-skip-tls-verify",
    # output and selection
    "output", "o", "selector", "l", "field-selector", "show-labels", "watch", "w", "wide",
    "sort-by", "label-columns", "L", "no-headers", "show-kind", "all", "recursive", "R",
    "filename", "f", "kustomize", "k", "dry-run", "server-side", "force-conflicts",
    "field-manager", "show-events", "chunk-size", "raw", "subresource", "ignore-not-found",
    # logs, exec, debug
    "container", "c", "previous", "p", "tail", "since", "since-time", "follow", "timestamps",
    "limit-bytes", "all-containers", "prefix", "stdin", "i", "tty", "t", "image", "target",
    "copy-to", "profile", "quiet", "q", "pod-running-timeout",
    # changes
    "type", "patch", "replicas", "current-replicas", "overwrite", "grace-period", "force",
    "now", "cascade", "wait", "timeout", "for", "record", "to-revision", "revision",
    "from-literal", "from-file", "from-env-file", "docker-server", "docker-username",
    "docker-password", "docker-email", "cert", "key", "env", "limits", "requests",
    "min", "max", "cpu-percent", "port", "target-port", "name", "protocol", "labels",
    "restart", "command", "save-config", "validate", "local", "containers", "resource-version",
    "ignore-daemonsets", "delete-emptydir-data", "delete-local-data", "disable-eviction",
    "pod-selector", "skip-wait-for-delete-timeout", "verb", "resource", "list",
    "for-object", "types", "minify", "current", "template",
})
_FLAG = re.compile(r"^--?([A-Za-z][A-Za-z0-9-]*)(?:=(.*))?$")
_PLACEHOLDER = re.compile(r"[<>{}$]|^[A-Z][A-Z0-9_]*$|\.\.\.")
_FLAGS_WITH_VALUE = frozenset({
    "namespace", "n", "context", "cluster", "user", "kubeconfig", "server", "s", "token",
    "output", "o", "selector", "l", "field-selector", "sort-by", "label-columns", "L",
    "filename", "f", "kustomize", "k", "container", "c", "tail", "since", "since-time",
    "limit-bytes", "image", "target", "copy-to", "profile", "type", "patch", "replicas",
    "current-replicas", "grace-period", "cascade", "timeout", "for", "to-revision", "revision",
    "from-literal", "from-file", "from-env-file", "docker-server", "docker-username",
    "docker-password", "docker-email", "cert", "key", "env", "limits", "requests", "min", "max",
    "cpu-percent", "port", "target-port", "name", "protocol", "labels", "restart", "as",
    "as-group", "request-timeout", "v", "field-manager", "chunk-size", "raw", "subresource",
    "resource-version", "pod-selector", "skip-wait-for-delete-timeout", "verb", "resource",
    "for-object", "types", "template", "containers", "dry-run", "pod-running-timeout",
})
"""Flags whose value may follow as the next word (``-n shop``)."""


@dataclass(frozen=True)
class KubectlCommand:
    text: str
    ok: bool
    """It parses: ``kubectl``, a known verb, known flags, no unbalanced quotes."""
    problem: str = ""
    names: tuple[str, ...] = ()
    """Object names it names (existing objects expected)."""
    namespaces: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    unknown_flags: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = ()


@dataclass
class _Parsed:
    positional: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def parse_kubectl(text: str) -> KubectlCommand:
    """What ``text`` would run, as far as k8sdoctor can tell without a cluster."""
    command = text.strip().removeprefix("$ ").strip()
    # A pipeline or a chain: only the kubectl part before it is judged.
    command = re.split(r"\s(?:\||&&|;)\s", command, maxsplit=1)[0]
    try:
        words = shlex.split(command)
    except ValueError as err:
        return KubectlCommand(text, False, f"does not parse: {err}")
    if not words or words[0] != "kubectl":
        return KubectlCommand(text, False, "not a kubectl command")
    parsed = _split(words[1:])
    if not parsed.positional:
        return KubectlCommand(text, False, "no verb", flags=tuple(parsed.flags))
    verb, *args = parsed.positional
    if verb not in VERBS:
        return KubectlCommand(text, False, f"unknown verb {verb!r}", flags=tuple(parsed.flags),
                              unknown_flags=tuple(parsed.unknown))
    names, problem = _names(verb, args)
    placeholders = tuple(w for w in [*names, *parsed.namespaces] if _PLACEHOLDER.search(w))
    names = [n for n in names if n not in placeholders]
    if parsed.unknown:
        problem = problem or f"unknown flag {'--' + parsed.unknown[0]}"
    return KubectlCommand(
        text, not problem, problem, tuple(names),
        tuple(n for n in parsed.namespaces if n not in placeholders), tuple(parsed.flags),
        tuple(parsed.unknown), placeholders)


def _split(words: list[str]) -> _Parsed:
    parsed = _Parsed()
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if word == "--":
            break  # what follows is the container's command (exec, debug)
        match = _FLAG.match(word)
        if match is None or word in ("-", "--"):
            parsed.positional.append(word)
            continue
        name, value = match.group(1), match.group(2)
        if not word.startswith("--") and len(name) > 1 and name not in FLAGS:
            # Combined short flags (-it) or a value glued to a short flag (-nshop).
            if all(c in FLAGS for c in name):
                parsed.flags.extend(name)
                continue
            name, value = name[0], name[1:]
        parsed.flags.append(name)
        if name not in FLAGS:
            parsed.unknown.append(name)
        if value is None and name in _FLAGS_WITH_VALUE and index < len(words):
            value = words[index]
            index += 1
        if name in ("n", "namespace") and value:
            parsed.namespaces.append(value)
    return parsed


def _names(verb: str, args: list[str]) -> tuple[list[str], str]:
    """The existing objects ``verb args`` names, or a problem."""
    subcommands = SUBCOMMANDS.get(verb, set())
    if verb in SUBCOMMANDS:
        if not args:
            return [], f"{verb} needs a sub-command"
        if subcommands is None:
            return [], ""
        if args[0] not in subcommands:
            return [], f"unknown sub-command {verb} {args[0]!r}"
        args = args[1:]
        if verb == "top":
            return args[:1], ""
        if verb == "set" and args:
            return _typed_names(args[:1] if "/" in args[0] else args[:2]), ""
    if verb in NODE_VERBS:
        return args[:1], ""
    if verb in POD_VERBS:
        return ([args[0].split("/", 1)[1] if "/" in args[0] else args[0]] if args else []), ""
    if verb in NAMING_VERBS or verb in ("rollout", "autoscale", "expose", "set"):
        return _typed_names(args), ""
    return [], ""


def _typed_names(args: list[str]) -> list[str]:
    """``TYPE NAME...`` or ``TYPE/NAME...``: the names."""
    if not args:
        return []
    if any("/" in a for a in args):
        return [a.split("/", 1)[1] for a in args if "/" in a]
    return args[1:]
