"""Prompt templates: loaded from the package (or a user's ``--prompts DIR``) and rendered.

Templates are Jinja2 files shipped as package data in ``k8sdoctor.prompts``: ``system.md.j2``,
``explain.md.j2`` and the partials they include (``_*.md.j2``). A user directory overrides any of
them by file name and falls back to the built-in ones for the rest. Rendering is strict (an
unknown variable is an error, not an empty string), and the ``fence`` filter wraps cluster text
in ``<untrusted-data>`` markers that the text itself cannot close. ``PromptSet.version`` hashes
every template in use, so editing a prompt invalidates the answers cached for the old one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import jinja2

from k8sdoctor.errors import BadInputError

SYSTEM_TEMPLATE = "system.md.j2"
EXPLAIN_TEMPLATE = "explain.md.j2"
TEMPLATE_SUFFIX = ".j2"
FENCE_OPEN, FENCE_CLOSE = "<untrusted-data>", "</untrusted-data>"

LANGUAGE_NAMES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "da": "Danish",
    "nb": "Norwegian", "fi": "Finnish", "cs": "Czech", "ru": "Russian", "uk": "Ukrainian",
    "tr": "Turkish", "ja": "Japanese", "zh": "Chinese", "ko": "Korean", "hi": "Hindi",
}

_FENCE_MARKER = re.compile(r"<([\W_]{0,8}untrusted[\W_]{0,3}data)", re.IGNORECASE)
"""A marker as a model may read one: any case, spaces, a zero-width space, ``untrusted_data``."""
_DEFANGED_MARKER = "\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK}\\1"
"""A look-alike of ``<`` so quoted markers stay readable but no longer open or close a fence."""


def fence(value: str | Iterable[str]) -> str:
    """Cluster text (a string or lines) inside untrusted-data markers it cannot break out of."""
    text = value if isinstance(value, str) else "\n".join(value)
    defanged = _FENCE_MARKER.sub(_DEFANGED_MARKER, text)
    return f"{FENCE_OPEN}\n{defanged}\n{FENCE_CLOSE}"


def language_name(language: str) -> str:
    """``de`` -> ``German``; anything else (``Deutsch``, ``pt-BR``) as the user wrote it."""
    return LANGUAGE_NAMES.get(language.strip().lower(), language.strip())


@dataclass(frozen=True)
class RenderedPrompt:
    system: str
    prompt: str


class _ResourceLoader(jinja2.BaseLoader):
    """Templates from a package's resources, so they load from wheels and zips alike."""

    def __init__(self, root: Traversable) -> None:
        self.root = root

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool]]:
        node = self.root
        for part in template.split("/"):
            node = node.joinpath(part)
        if not node.is_file():
            raise jinja2.TemplateNotFound(template)
        return node.read_text(encoding="utf-8"), None, lambda: True

    def list_templates(self) -> list[str]:
        return sorted(
            node.name for node in self.root.iterdir()
            if node.is_file() and node.name.endswith(TEMPLATE_SUFFIX)
        )


class PromptSet:
    """The templates of one run: the built-in ones, each overridable from ``directory``."""

    def __init__(self, directory: Path | None = None) -> None:
        builtin = _ResourceLoader(resources.files("k8sdoctor.prompts"))
        loader: jinja2.BaseLoader = builtin
        if directory is not None:
            if not directory.is_dir():
                raise BadInputError(f"prompt directory {directory} does not exist")
            loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(directory)), builtin])
        self.directory = directory
        self._env = jinja2.Environment(
            loader=loader,
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["fence"] = fence
        self.version = self._version()

    def render(
        self, group: Mapping[str, Any], *, language: str, anonymized: bool
    ) -> RenderedPrompt:
        """The system prompt and the user prompt for one group's context."""
        common = {"language": language, "language_name": language_name(language),
                  "anonymized": anonymized}
        return RenderedPrompt(
            system=self._render(SYSTEM_TEMPLATE, common).strip() + "\n",
            prompt=self._render(EXPLAIN_TEMPLATE, {**common, "group": group}).strip() + "\n",
        )

    def _render(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            return self._env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as err:
            where = err.filename or err.name or name
            raise BadInputError(f"prompt template {where}:{err.lineno}: {err.message}") from None
        except jinja2.TemplateError as err:
            raise BadInputError(f"prompt template {name}: {err}") from None

    def _version(self) -> str:
        digest = hashlib.sha256()
        loader = self._env.loader
        assert loader is not None
        for name in sorted(set(loader.list_templates())):
            if name.endswith(TEMPLATE_SUFFIX):
                source, _, _ = loader.get_source(self._env, name)
                digest.update(f"{name}\0{source}\0".encode())
        return digest.hexdigest()[:12]
