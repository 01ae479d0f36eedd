"""Reviewed suppressions: an ignore file whose every entry says why, and may say until when.

``--ignore-file FILE`` (default: ``.k8sdoctor-ignore.yaml`` when the working directory has one)::

    suppressions:
      - match: {analyzer: pod, reason: HighRestartCount, namespace: "batch-*"}
        reason: Nightly batch pods restart by design (OPS-1234).
        expires: 2027-03-31
      - match: {id: 3f9a1c2b4d5e6f70}     # a finding's id or fingerprint
        reason: Legacy app, replaced in Q2.
    allowAnnotations:
      namespaces: ["sandbox-*"]

``match`` takes ``analyzer``, ``reason``, ``kind``, ``namespace``, ``name`` (globs, all given
ones must match; a pod also matches through its owning workload's name) or ``id`` (a finding's
id or fingerprint). ``reason`` is required: a suppression nobody can explain is not reviewed.
An entry past ``expires`` stops suppressing and is itself reported. A malformed file is bad
input (exit 2) naming ``FILE:LINE:COLUMN``; the JSON Schema of the file ships as
``k8sdoctor/gate/ignore-file.schema.json``.

Annotations on cluster objects (``k8sdoctor.dev/ignore: "REASON[,REASON...]: why"`` on the
object or its workload) suppress only in namespaces the file lists under ``allowAnnotations``:
otherwise anyone with edit rights on a Deployment could silence the gate.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from importlib import resources
from pathlib import Path
from typing import Any

from k8sdoctor.analysis.finding import Finding, Suppression
from k8sdoctor.cluster.state import ClusterState
from k8sdoctor.errors import BadInputError
from k8sdoctor.explain.config import _Document as YamlDocument
from k8sdoctor.report.model import Report

DEFAULT_IGNORE_FILE = ".k8sdoctor-ignore.yaml"
ANNOTATION = "k8sdoctor.dev/ignore"
MATCH_KEYS = ("analyzer", "reason", "kind", "namespace", "name", "id")


@dataclass(frozen=True)
class Entry:
    match: Mapping[str, str]
    reason: str
    expires: datetime.date | None
    source: str
    """``FILE:LINE`` of the entry."""

    def matches(self, finding: Finding) -> bool:
        for key, pattern in self.match.items():
            if key == "id":
                if pattern not in (finding.id, finding.fingerprint):
                    return False
            elif key == "name":
                names = {finding.name, finding.stable_object.name}
                if not any(fnmatchcase(n, pattern) for n in names):
                    return False
            elif not fnmatchcase(_field(finding, key), pattern):
                return False
        return True

    def expired(self, today: datetime.date) -> bool:
        return self.expires is not None and self.expires < today

    def suppression(self) -> Suppression:
        return Suppression(reason=self.reason, source=self.source,
                           expires=self.expires.isoformat() if self.expires else None)


def _field(finding: Finding, key: str) -> str:
    return {"analyzer": finding.analyzer, "reason": finding.reason, "kind": finding.kind,
            "namespace": finding.namespace or ""}[key]


@dataclass(frozen=True)
class IgnoreFile:
    path: str
    entries: tuple[Entry, ...] = ()
    annotation_namespaces: tuple[str, ...] = ()


def ignore_file_schema() -> dict[str, Any]:
    """The JSON Schema of the ignore file."""
    text = resources.files("k8sdoctor.gate").joinpath("ignore-file.schema.json").read_text()
    return json.loads(text)


def default_ignore_file(directory: Path | None = None) -> str | None:
    """``.k8sdoctor-ignore.yaml`` in ``directory`` (the working directory), if it is there."""
    candidate = (directory or Path.cwd()) / DEFAULT_IGNORE_FILE
    return str(candidate) if candidate.is_file() else None


def load_ignore_file(path: str) -> IgnoreFile:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError(f"ignore file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "it is not UTF-8 text"
        raise BadInputError(f"cannot read ignore file {path}: {reason}") from None
    return parse_ignore_file(text, path)


def parse_ignore_file(text: str, path: str) -> IgnoreFile:
    document = YamlDocument(text, path)
    if document.data is None:
        return IgnoreFile(path)
    document.expect_mapping((), {"apiVersion", "suppressions", "allowAnnotations"})
    root = document.data
    entries: list[Entry] = []
    if root.get("suppressions") is not None:
        if not isinstance(root["suppressions"], list):
            document.fail(("suppressions",), "suppressions must be a list of entries")
        lines = _item_lines(text, path)
        for index, value in enumerate(root["suppressions"]):
            entries.append(_entry(value, lines.get(index, path)))
    namespaces: tuple[str, ...] = ()
    if root.get("allowAnnotations") is not None:
        at = ("allowAnnotations",)
        document.expect_mapping(at, {"namespaces"})
        listed = document.get(at).get("namespaces") or []
        if not isinstance(listed, list) or not all(isinstance(n, str) and n for n in listed):
            document.fail(at, "allowAnnotations.namespaces must be a list of namespace globs")
        namespaces = tuple(listed)
    return IgnoreFile(path, tuple(entries), namespaces)


def _entry(value: Any, where: str) -> Entry:
    if not isinstance(value, dict):
        raise BadInputError(f"{where}: each suppression must be a mapping with match and reason")
    for key in value:
        if key not in ("match", "reason", "expires"):
            raise BadInputError(f"{where}: unknown key {key!r} in a suppression; known: "
                                "expires, match, reason")
    if not isinstance(value.get("reason"), str) or not value["reason"].strip():
        raise BadInputError(f"{where}: a suppression must carry a reason: why it is accepted, "
                            "and who reviewed it")
    match = value.get("match")
    if not isinstance(match, dict) or not match:
        raise BadInputError(f"{where}: a suppression needs a match with at least one of "
                            f"{', '.join(MATCH_KEYS)}")
    for key, pattern in match.items():
        if key not in MATCH_KEYS:
            raise BadInputError(f"{where}: unknown match key {key!r}; known: "
                                f"{', '.join(MATCH_KEYS)}")
        if not isinstance(pattern, str) or not pattern:
            raise BadInputError(f"{where}: match.{key} must be a non-empty string")
    return Entry(match=dict(match), reason=value["reason"].strip(),
                 expires=_date(value.get("expires"), where), source=where)


def _item_lines(text: str, path: str) -> dict[int, str]:
    """``FILE:LINE`` of each item of ``suppressions`` (the document has already parsed)."""
    import yaml

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if getattr(key, "value", None) == "suppressions" and isinstance(
                    value, yaml.SequenceNode):
                return {i: f"{path}:{item.start_mark.line + 1}"
                        for i, item in enumerate(value.value)}
    return {}


def _date(value: Any, where: str) -> datetime.date | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise BadInputError(f"{where}: expires must be a date, YYYY-MM-DD")


def apply(report: Report, ignore: IgnoreFile | None, state: ClusterState | None,
          today: datetime.date) -> Report:
    """Mark suppressed findings, and list the expired entries (which suppress nothing)."""
    entries = ignore.entries if ignore else ()
    active = [e for e in entries if not e.expired(today)]
    expired = [e for e in entries if e.expired(today)]
    findings = []
    for finding in report.findings:
        entry = next((e for e in active if e.matches(finding)), None)
        suppression = entry.suppression() if entry else None
        if suppression is None and ignore and state is not None:
            suppression = _annotation(finding, state, ignore.annotation_namespaces)
        findings.append(replace(finding, suppression=suppression) if suppression else finding)
    gate = {**report.gate, "suppressed": sum(f.suppression is not None for f in findings)}
    if expired:
        gate["expiredSuppressions"] = [
            {"reason": e.reason, "source": e.source, "expires": e.expires.isoformat()}
            for e in expired if e.expires is not None]
    return replace(report, findings=findings, gate=gate)


def _annotation(finding: Finding, state: ClusterState,
                allowed: Sequence[str]) -> Suppression | None:
    namespace = finding.namespace
    if not namespace or not any(fnmatchcase(namespace, glob) for glob in allowed):
        return None
    for ref in dict.fromkeys((finding.object_ref, finding.stable_object)):
        obj = state.get(ref.kind, ref.namespace, ref.name)
        text = ((obj or {}).get("metadata", {}).get("annotations") or {}).get(ANNOTATION)
        if not text:
            continue
        reasons, _, why = text.partition(":")
        listed = {r.strip() for r in reasons.split(",")}
        if (finding.reason in listed or "*" in listed) and why.strip():
            return Suppression(reason=why.strip(),
                               source=f"annotation {ANNOTATION} on {ref.kind} "
                                      f"{ref.namespace}/{ref.name}")
    return None
