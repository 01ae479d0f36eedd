"""Secret redaction for cluster text before it leaves the machine in a prompt.

Log lines (and, for good measure, events and status messages) can carry credentials: a bearer
token in a logged request, a password in a database URL, a private key dumped at start-up. Each
pattern below replaces only the secret part with ``[REDACTED:<what>]`` and keeps the words around
it, so the model still sees that, say, an authentication header was sent. Redaction is
deliberately greedy: a false positive costs a little context, a false negative leaks a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_SENSITIVE_KEY = (
    r"(?:[A-Za-z0-9_.-]*(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey"
    r"|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|auth|accountkey"
    r"|sharedaccesskey|sig))"
)


def _keep_prefix(label: str) -> Callable[[re.Match[str]], str]:
    """A replacement that keeps the ``prefix`` group and redacts the rest of the match."""
    return lambda match: f"{match.group('prefix')}[REDACTED:{label}]"


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(
            r"-----BEGIN (?P<kind>[A-Z0-9 ]*)PRIVATE KEY-----.*?"
            r"(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
        "[REDACTED:private-key]",
    ),
    (
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        "[REDACTED:jwt]",
    ),
    (
        re.compile(r"(?P<prefix>\b(?:bearer|token)\s+)[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE),
        _keep_prefix("token"),
    ),
    (
        re.compile(r"(?P<prefix>\bbasic\s+)[A-Za-z0-9+/]{8,}=*", re.IGNORECASE),
        _keep_prefix("basic-auth"),
    ),
    (
        re.compile(r"(?P<prefix>\b[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+(?=@)", re.IGNORECASE),
        _keep_prefix("password"),
    ),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"), "[REDACTED:aws-key]"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "[REDACTED:gcp-api-key]"),
    (re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}"), "[REDACTED:gcp-token]"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "[REDACTED:github-token]"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "[REDACTED:slack-token]"),
    (re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}"), "[REDACTED:api-key]"),
    (
        # "password": "hunter2" in JSON; password=hunter2, PASSWORD: hunter2, AccountKey=...;
        re.compile(
            rf"(?P<prefix>[\"']?\b{_SENSITIVE_KEY}[\"']?\s*[:=]\s*[\"']?)"
            r"(?![\"']?\[REDACTED)[^\s\"',;&]{3,}",
            re.IGNORECASE,
        ),
        _keep_prefix("secret"),
    ),
)


def redact(text: str) -> str:
    """``text`` with every credential-shaped substring replaced by ``[REDACTED:<what>]``."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
