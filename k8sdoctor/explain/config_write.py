"""Adding a named backend to the config file (``k8sdoctor backends add``), keeping the rest of it.

The file is edited as text, not re-dumped, so the user's comments, order and quoting survive: the
new entry is one flow-style line inserted into the ``backends:`` block (or a new ``backends:``
block appended), and ``--default`` rewrites only the ``default_backend`` value. The result is
parsed with the same checks as every run before it replaces the file, so a change that would
leave the file malformed is refused and the file is left as it was. Keys are never written: a
backend names the environment variable that holds its key (``api_key_env``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from k8sdoctor.errors import BadInputError
from k8sdoctor.explain.config import _NAME, Config, parse_config
from k8sdoctor.private_files import replace_file


@dataclass(frozen=True)
class NewBackend:
    name: str
    type: str
    model: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    api_version: str | None = None

    def flow_mapping(self) -> str:
        """``{type: openai, model: "gpt-4o-mini", ...}``; values JSON-quoted, which YAML reads."""
        fields = {"type": self.type, "model": self.model, "base_url": self.base_url,
                  "api_key_env": self.api_key_env, "api_version": self.api_version}
        inner = ", ".join(f"{key}: {json.dumps(value)}" for key, value in fields.items()
                          if value is not None)
        return "{" + inner + "}"


def add_backend(path: Path, backend: NewBackend, *, make_default: bool = False,
                replace: bool = False) -> Config:
    """Write ``backend`` into the config file at ``path`` (created 0600 if absent) and return
    the configuration as read back. Raises ``BadInputError`` (exit 2) for a bad name, an
    existing backend without ``replace``, or a file that is malformed before or after."""
    if not _NAME.match(backend.name):
        raise BadInputError(f"backend name {backend.name!r} must be letters, digits, "
                            "'.', '_' or '-'")
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as err:
        raise BadInputError(f"cannot read config file {path}: {err}") from None
    before = parse_config(text, path)
    if backend.name in before.backends and not replace:
        raise BadInputError(f"{path}: backend {backend.name!r} exists already "
                            f"({before.backends[backend.name].origin}); use --replace")
    if backend.name in before.backends:
        text = _without_backend(text, backend.name)
    text = _with_backend(text, backend)
    if make_default:
        text = _with_default(text, backend.name)
    after = parse_config(text, path)
    _write_private(path, text)
    return after


def _root(text: str) -> yaml.MappingNode | None:
    node = yaml.compose(text, Loader=yaml.SafeLoader) if text.strip() else None
    return node if isinstance(node, yaml.MappingNode) else None


def _entry(root: yaml.MappingNode | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if root is None:
        return None
    for key_node, value_node in root.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _with_backend(text: str, backend: NewBackend) -> str:
    line = f"{backend.name}: {backend.flow_mapping()}"
    entry = _entry(_root(text), "backends")
    if entry is None:
        return f"{_ended(text)}backends:\n  {line}\n"
    key_node, value_node = entry
    if isinstance(value_node, yaml.MappingNode) and not value_node.flow_style:
        first = value_node.value[0][0].start_mark
        at = first.index - first.column
        return f"{text[:at]}{' ' * first.column}{line}\n{text[at:]}"
    if isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "~", "null"):
        end = text.find("\n", key_node.end_mark.index)
        end = len(text) if end < 0 else end
        start = key_node.start_mark.index
        return f"{text[:start]}backends:\n  {line}{text[end:]}"
    raise BadInputError("the config file's backends: section is not a plain block mapping; "
                        f"add this line to it by hand:  {line}")


def _without_backend(text: str, name: str) -> str:
    entry = _entry(_root(text), "backends")
    assert entry is not None
    _, backends = entry
    if not isinstance(backends, yaml.MappingNode) or backends.flow_style:
        raise BadInputError(f"cannot replace backend {name!r} in a flow-style backends: "
                            "section; edit the file by hand")
    for key_node, value_node in backends.value:
        if key_node.value == name:
            start = key_node.start_mark.index - key_node.start_mark.column
            end = value_node.end_mark.index
            if text[end - 1:end] != "\n":
                newline = text.find("\n", end)
                end = len(text) if newline < 0 else newline + 1
            return text[:start] + text[end:]
    return text


def _with_default(text: str, name: str) -> str:
    entry = _entry(_root(text), "default_backend")
    if entry is None:
        return f"default_backend: {name}\n{text}"
    _, value_node = entry
    return f"{text[:value_node.start_mark.index]}{name}{text[value_node.end_mark.index:]}"


def _ended(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically; a new file is private (0600), an existing one keeps its mode."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        replace_file(path, text.encode(), mode)
    except OSError as err:
        raise BadInputError(f"cannot write config file {path}: {err.strerror}") from None
