"""Secret redaction for cluster text before it leaves the machine: in a prompt, or in a report.

Log lines (and, for good measure, events and status messages) can carry credentials: a bearer
token in a logged request, a password in a database URL, a private key dumped at start-up. Each
pattern below replaces only the secret part with ``[REDACTED:<what>]`` and keeps the words around
it, so the model still sees that, say, an authentication header was sent. Redaction leans to
caution (a value after ``password=`` goes, whatever it looks like) but reads prose as prose: in
``needs credentials: "Failed to pull image`` or ``invalid token: signature expired`` the word
after the colon starts a sentence, not a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

_SENSITIVE_KEY = (
    r"(?!(?:old)?pwd\s*[=:]\s*[/~])"  # $PWD and $OLDPWD are directories; ODBC's Pwd= is not
    r"[A-Za-z0-9_.-]*(?:password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey"
    r"|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|auth|accountkey"
    r"|sharedaccesskey|sig|cookie|key[_-]?data)"
)
_SETTLED_WORDS = ("true", "false", "null", "none", "nil", "yes", "no", "undefined", "empty")
_SETTLED = rf"[\"']?(?:\[REDACTED|(?:{'|'.join(_SETTLED_WORDS)})\b|\*{{3,}}|<[^>\s]*>)"
_NOT_A_SECRET = f"(?!{_SETTLED})"
"""Not already redacted, a flag (``automountServiceAccountToken: false``), a mask or a
placeholder (``--from-literal=password=<value>``)."""
_VALUE = r"[^\s\"',;&]{2,}[^\s\"',;&)\]}>.:]"
"""Three characters or more, not ending in a closing bracket or a full stop: ``(token=x1y2)``
keeps its ``)``, ``password=hunter2.`` its full stop."""
_PROSE = r"(?![A-Za-z]+\s+[A-Za-z(])"
"""Not a word followed by another word: the start of a sentence rather than a value."""


def _keep_prefix(label: str) -> Callable[[re.Match[str]], str]:
    """A replacement that keeps the ``prefix`` group and redacts the rest of the match."""
    return lambda match: f"{match.group('prefix')}[REDACTED:{label}]"


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str], tuple[str, ...]],
              ...] = (
    # (pattern, replacement, words one of which every match holds, lower-cased)
    (
        re.compile(
            r"-----BEGIN (?P<kind>[A-Z0-9 ]*)PRIVATE KEY(?: BLOCK)?-----.*?"
            r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
        "[REDACTED:private-key]",
        ("-----begin",),
    ),
    (
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        "[REDACTED:jwt]",
        (".eyj",),
    ),
    (
        re.compile(r"(?P<prefix>\bbearer\s+)[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE),
        _keep_prefix("token"),
        ("bearer",),
    ),
    (
        # "token <value>" only when the value looks generated: "invalid token provided" is prose
        re.compile(r"(?P<prefix>\btoken\s+)(?=[A-Za-z0-9\-._~+/]*\d)[A-Za-z0-9\-._~+/]{16,}=*",
                   re.IGNORECASE),
        _keep_prefix("token"),
        ("token",),
    ),
    (
        re.compile(r"(?P<prefix>\bbasic\s+)[A-Za-z0-9+/]{8,}=*", re.IGNORECASE),
        _keep_prefix("basic-auth"),
        ("basic",),
    ),
    (
        # an Authorization header with another scheme, or none: "Authorization: ApiKey k3y..."
        re.compile(
            r"(?P<prefix>\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?"
            r"(?:(?!bearer\s|basic\s|token\s)[A-Za-z-]+\s+)?)"
            rf"{_NOT_A_SECRET}{_PROSE}[^\s\"',;]{{8,}}",
            re.IGNORECASE,
        ),
        _keep_prefix("token"),
        ("authorization",),
    ),
    (
        # user:password@ in a URL, the user possibly empty (redis://:password@host)
        re.compile(r"(?P<prefix>\b[a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@/]+(?=@)", re.IGNORECASE),
        _keep_prefix("password"),
        ("://",),
    ),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b"), "[REDACTED:aws-key]",
     ("akia", "asia", "agpa", "aida", "aroa", "anpa")),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "[REDACTED:gcp-api-key]", ("aiza",)),
    (re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}"), "[REDACTED:gcp-token]", ("ya29.",)),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b"),
     "[REDACTED:github-token]", ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), "[REDACTED:gitlab-token]", ("glpat-",)),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "[REDACTED:slack-token]", ("xox",)),
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"), "[REDACTED:stripe-key]",
     ("_live_", "_test_")),
    (re.compile(r"\bhf_[A-Za-z0-9]{30,}"), "[REDACTED:huggingface-token]", ("hf_",)),
    (re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"), "[REDACTED:api-key]", ("sk-",)),
    (re.compile(r"\bnpm_[A-Za-z0-9]{36}\b"), "[REDACTED:npm-token]", ("npm_",)),
    (re.compile(r"\bpypi-AgE[A-Za-z0-9_-]{40,}"), "[REDACTED:pypi-token]", ("pypi-age",)),
    (re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"), "[REDACTED:sendgrid-key]",
     ("sg.",)),
    (re.compile(r"\bGOCSPX-[A-Za-z0-9_-]{20,}"), "[REDACTED:oauth-client-secret]",
     ("gocspx-",)),
    (
        re.compile(r"(?P<prefix>\bhooks\.slack\.com/services/)[A-Za-z0-9/]{20,}"),
        _keep_prefix("webhook"),
        ("hooks.slack.com/services/",),
    ),
    (
        # an API key header, whatever follows it: "x-api-key: k3y sent", "X-Auth-Token: abc"
        re.compile(
            r"(?P<prefix>\b(?:x-[A-Za-z0-9-]*?(?:api-?key|token|secret|auth|signature)"
            r"|api-key|apikey)[\"']?\s*:\s*[\"']?)"
            rf"{_NOT_A_SECRET}{_VALUE}",
            re.IGNORECASE,
        ),
        _keep_prefix("secret"),
        (":",),
    ),
    (
        # "apikey <value>", "api_key <value>" when the value looks generated
        re.compile(r"(?P<prefix>\b(?:x-)?api[_-]?key\s+)(?=[A-Za-z0-9\-._~+/]*\d)"
                   r"[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE),
        _keep_prefix("secret"),
        ("key",),
    ),
    (
        # "password": "two words" in JSON or a Python repr: the whole quoted value
        re.compile(
            rf"(?P<prefix>(?P<quote>[\"'])\b{_SENSITIVE_KEY}(?P=quote)\s*:\s*(?P<open>[\"']))"
            rf"{_NOT_A_SECRET}(?:\\.|(?!(?P=open)).)+",
            re.IGNORECASE,
        ),
        _keep_prefix("secret"),
        (":",),
    ),
    (
        # PASSWORD=hunter2, PASSWORD="two words", AccountKey=...;, ?sig=...&, --password=...
        re.compile(rf"(?P<prefix>\b{_SENSITIVE_KEY}\s*=\s*){_NOT_A_SECRET}"
                   rf"(?:\"[^\"\n]+\"|'[^'\n]+'|{_VALUE})", re.IGNORECASE),
        _keep_prefix("secret"),
        ("=",),
    ),
    (
        # password: hunter2, X-Api-Key: ..., but not "needs credentials: Failed to pull"
        re.compile(
            rf"(?P<prefix>\b{_SENSITIVE_KEY}\s*:\s*[\"']?){_NOT_A_SECRET}{_PROSE}{_VALUE}",
            re.IGNORECASE,
        ),
        _keep_prefix("secret"),
        (":",),
    ),
    (
        # a command-line flag and its value: --password hunter2, --token abc.def
        re.compile(
            rf"(?P<prefix>(?<!\S)--{_SENSITIVE_KEY}\s+[\"']?){_NOT_A_SECRET}(?!-){_VALUE}",
            re.IGNORECASE,
        ),
        _keep_prefix("secret"),
        ("--",),
    ),
)


# -- the prefilter: text that certainly holds no secret is returned at once -------------------
#
# Each gate below is a word and a shape that a rule above needs: a part of what the rule
# matches, lower-cased, with less required of it (``token\s+`` and 16 value characters, where the
# rule also wants a digit among them). Text that passes no gate cannot match any rule. Python's
# regular expressions are fast only from a literal (a set of first characters is tried character
# by character, ~20 ns each), so a shape is searched only when the text holds its word (an ``in``
# test, at C speed), and from a literal: ``password=`` from its ``=``, in the reversed text.

_KEY_WORDS = (
    "password", "passwd", "pwd", "passphrase", "secret", "token", "api_key", "api-key", "apikey",
    "access_key", "access-key", "accesskey", "private_key", "private-key", "privatekey",
    "credential", "credentials", "auth", "accountkey", "sig", "cookie", "key_data", "key-data",
    "keydata", "authorization", "signature",
)
"""How the sensitive keys end (``_SENSITIVE_KEY``, ``authorization``, ``x-api-key``)."""
_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "sk_live_", "sk_test_",
                   "rk_live_", "rk_test_", "hf_", "npm_")
_TOKEN_CHARACTERS = r"[a-z0-9._~+/-]"


def _reversed(*words: str) -> str:
    return "|".join(re.escape(word[::-1]) for word in words)


_KEYED = tuple(
    (separator, re.compile(rf"{separator}\s*[\"']?(?:{_reversed(*_KEY_WORDS)})"))
    for separator in (":", "=")
)
"""``password=``, ``"token":``, ``X-Api-Key:``, reversed (``=drowssap``): for the rules of a key
and its value, which the ``authorization`` rule aside all want a value that ``_SETTLED`` does
not describe right after the separator, its spaces and quote."""
_SETTLED_VALUE = re.compile(rf"\s*{_SETTLED}", re.IGNORECASE)

_GATES: tuple[tuple[str, re.Pattern[str] | None, bool], ...] = (
    # (a word the lower-cased text holds; the shape it then matches, if any; whether the shape
    # is searched in the reversed text)
    ("://", re.compile(r"://[^\s/@]+@"), False),  # user:password@ in a URL
    (".eyj", re.compile(r"[a-z0-9_-]{5}\.eyj"), False),  # a JWT's header, then its payload
    ("-----", None, False),  # -----BEGIN PRIVATE KEY-----
    ("_", re.compile(rf"(?:{_reversed(*_TOKEN_PREFIXES)})\b"), True),
    ("sk-", re.compile(rf"{_reversed('sk-')}\b"), True),
    ("ya29.", None, False),
    ("glpat-", None, False),
    ("xox", None, False),
    ("pypi-", None, False),
    ("sg.", None, False),
    ("gocspx-", None, False),
    ("hooks.slack.com/services/", None, False),
    ("bearer", re.compile(rf"bearer\s+{_TOKEN_CHARACTERS}{{8}}"), False),
    ("token", re.compile(rf"token\s+{_TOKEN_CHARACTERS}{{16}}"), False),
    ("basic", re.compile(r"basic\s+[a-z0-9+/]{8}"), False),
    ("key", re.compile(rf"api[_-]?key\s+{_TOKEN_CHARACTERS}{{8}}"), False),
    ("--", re.compile(rf"--[a-z0-9_.-]*(?:{'|'.join(_KEY_WORDS)})\s"), False),  # --password X
)
_CASE_SENSITIVE = re.compile(r"A(?:KIA|SIA|GPA|IDA|ROA|NPA)[A-Z0-9]{16}|AIza[0-9A-Za-z_-]{35}")
"""AWS and Google API keys, read in the text as it is, from their upper-case ``A``."""


def maybe_secret(text: str) -> bool:
    """False when no rule can match ``text``: it is certainly clean. Text that is not ASCII is
    always a maybe: case-insensitive matching folds more than ``lower`` shows (a long s is an
    ``s`` to it)."""
    if not text.isascii():
        return True
    lowered = text.lower()
    if "authorization" in lowered or _keyed_value(text, lowered):
        return True
    backwards = ""
    for word, shape, reversed_ in _GATES:
        if word in lowered:
            if shape is None:
                return True
            if reversed_:
                backwards = backwards or lowered[::-1]
                if shape.search(backwards):
                    return True
            elif shape.search(lowered):
                return True
    return "A" in text and _CASE_SENSITIVE.search(text) is not None


def _keyed_value(text: str, lowered: str) -> bool:
    """Whether a sensitive key is followed by ``:`` or ``=`` and a value that may be a secret
    (``automountServiceAccountToken: false`` is not)."""
    backwards = ""
    for separator, reversed_shape in _KEYED:
        if separator in lowered:
            backwards = backwards or lowered[::-1]
            for match in reversed_shape.finditer(backwards):
                if not _SETTLED_VALUE.match(text, len(text) - match.start()):
                    return True
    return False


def redact(text: str) -> str:
    """``text`` with every credential-shaped substring replaced by ``[REDACTED:<what>]``."""
    return _apply_rules(text) if maybe_secret(text) else text


SCAN_FROM = 2_000
"""From this many texts, ``redact_all`` finds the maybe-secret ones in one RE2 scan of them all
(``redact_scan``): ~0.3 us a text instead of ~3, after ~20 ms to import RE2."""


def redact_all(texts: Collection[str]) -> dict[str, str]:
    """The texts among ``texts`` that redaction changes, each to its redacted form."""
    if len(texts) >= SCAN_FROM:
        from k8sdoctor.explain.redact_scan import maybe_secrets

        candidates = maybe_secrets(texts)
    else:
        candidates = [text for text in texts if maybe_secret(text)]
    changed = {}
    for text in candidates:
        clean = _apply_rules(text)
        if clean != text:
            changed[text] = clean
    return changed


def _apply_rules(text: str) -> str:
    for pattern, replacement, words in _RULES:
        if _holds_any(text, words):
            text = pattern.sub(replacement, text)
    return text


def _holds_any(text: str, words: tuple[str, ...]) -> bool:
    """Whether a rule needing one of ``words`` can match: most rules of a text that passed the
    prefilter cannot, and the rules for ``key: value`` take ~50 us each."""
    if not text.isascii():
        return True
    lowered = text.lower()
    return any(word in lowered for word in words)
