"""The redaction prefilter only ever skips text that no rule can change: ``redact`` gives what
every rule applied in turn gives, and the scan of many texts at once marks the same texts as the
test of one text. Secret-shaped values are assembled at run time, as in the corpus."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from k8sdoctor.explain import redact as redaction
from k8sdoctor.explain.redact import SCAN_FROM, maybe_secret, redact, redact_all
from k8sdoctor.explain.redact_scan import maybe_secrets
from tests.explain.test_redact_corpus import CORPUS

_OPAQUE = "Zk3q9Lr2" + "Pw8xT5vN"


def _every_rule(text: str) -> str:
    for pattern, replacement, _words in redaction._RULES:
        text = pattern.sub(replacement, text)
    return text


def _around_matches(line: str) -> list[str]:
    """``line``, and for every match of a rule in it: the text from the match on, the text up
    to its end, and the match with a character either side."""
    pieces = [line]
    for pattern, _replacement, _words in redaction._RULES:
        for match in pattern.finditer(line):
            start, end = match.span()
            pieces += [line[start:], line[:end], line[max(start - 1, 0):end + 1]]
    return pieces


_LINES = [piece for line, _secret, _expected in CORPUS for piece in _around_matches(line)]


def test_the_prefilter_passes_every_text_a_rule_changes() -> None:
    changed = [line for line in _LINES if _every_rule(line) != line]
    assert len(changed) > 150
    assert all(maybe_secret(line) for line in changed)
    assert [redact(line) for line in _LINES] == [_every_rule(line) for line in _LINES]


def test_messages_about_tokens_and_keys_are_certainly_clean() -> None:
    for text in [
        "Deployment web-0013 runs as the default ServiceAccount with its API token mounted.",
        "kubectl edit deployment web -n shop  # set a dedicated serviceAccountName, or "
        "automountServiceAccountToken: false",
        "Pod checkout-9lp7j reads keys that do not exist: key DATABASE_DSN of ConfigMap "
        "checkout-config (env DATABASE_URL of container app)",
        'MountVolume.SetUp failed for volume "certs" : secret "shop-tls" not found',
        "spec.tls[0].secretName=web-tls hosts=web.team-022.example.com",
        "kubectl patch pdb auth -n team --type merge -p '{\"spec\":{\"maxUnavailable\":1}}'",
    ]:
        assert not maybe_secret(text), text


def test_a_settled_value_after_a_key_does_not_hide_a_secret_after_another() -> None:
    text = f"automountServiceAccountToken: false, password: {_OPAQUE}"
    assert maybe_secret(text)
    assert _OPAQUE not in redact(text)
    for value in ("false", "'no'", '"<value>"', "*****", "[REDACTED:secret]"):
        assert not maybe_secret(f"token: {value}")
    for value in ("'\"false", "falsey", f'"{_OPAQUE}"'):
        assert maybe_secret(f"token: {value}")


def test_text_that_is_not_ascii_goes_through_every_rule() -> None:
    # case-insensitive matching takes a long s for an s, which lower() does not show
    text = "DB_PA\u017f\u017fWORD=" + _OPAQUE
    assert maybe_secret(text)
    assert redact(text) == "DB_PA\u017f\u017fWORD=[REDACTED:secret]"


def test_the_scan_of_many_texts_marks_what_the_test_of_each_marks() -> None:
    filler = [f"Pod web-{i:04d}-7d4b9 in namespace shop-{i % 7} is not ready: token "
              f"refresh scheduled, key {i} of ConfigMap app-{i} missing; disk-{i}" for i in
              range(SCAN_FROM)]
    texts = filler + _LINES + ["r\u00e9sum\u00e9 password=" + _OPAQUE, "", "A" * 40]
    assert sorted(maybe_secrets(texts)) == sorted(text for text in texts if maybe_secret(text))
    changed = redact_all(texts)
    assert changed == {text: _every_rule(text) for text in set(texts)
                       if _every_rule(text) != text}


def test_the_scan_reads_a_settled_value_as_the_test_of_each_text_does() -> None:
    # the scan spells "not false, not no, not none..." out character by character
    values = ["false", "fals", "falsey", "no", "non", "none", "nonex", "nil", "null", "nul",
              "yes", "ye", "true", "tru", "undefined", "undefine", "empty", "e", "f", "", "***",
              "**", "<v>", "<v", "[redacted", "[x", "x", "hunter22", '"', "'", "@", "-"]
    texts = [f"{key}{separator}{quote}{value}{tail}"
             for key in ("token", "Password", '"secret"', "x-api-key")
             for separator in (":", "=", " :", ": ", " =  ")
             for quote in ("", '"', "'", '""')
             for value in values
             for tail in ("", " ", ",", "x", "@", "_")]
    marked = sorted(maybe_secrets(texts))
    assert marked == sorted(text for text in texts if maybe_secret(text))
    assert "token: false" not in marked and "token: fals" in marked


def test_a_match_across_two_joined_texts_only_costs_a_test() -> None:
    texts = ["a note about the password", ': "hunter2" is in the next text'] * SCAN_FROM
    assert redact_all(texts) == {}
    assert set(maybe_secrets(texts)) == {text for text in texts if maybe_secret(text)}


_FRAGMENTS = st.sampled_from([
    "password", "Passwd", "pwd", "token", "TOKEN", "secret", "api_key", "x-api-key", "auth",
    "authorization", "Bearer", "basic", "sig", "cookie", "client-key-data", "--password", "--",
    ":", "=", " ", "  ", "\t", "\n", '"', "'", "false", "no", "<value>", "***", "[REDACTED:x]",
    _OPAQUE, "hunter2", "s3cr3t-v4lue", "://", "user:pw@", "@", "eyJhbGciOi", ".eyJzdWIi",
    "AKIA", "Z7QW3XK9PL2MN4RT", "ghp_", "glpat-", "xoxb-", "sk-", "sk_live_", "hf_", "npm_",
    "ya29.", "SG.", "GOCSPX-", "-----BEGIN ", "PRIVATE KEY-----", "web-7d4b9", ".", ",", ";",
    "(", ")", "disk-", "\u017f", "\u00e9", "K",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, min_size=1, max_size=12).map("".join))
def test_redact_equals_every_rule_on_text_made_of_secret_parts(text: str) -> None:
    assert redact(text) == _every_rule(text)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(_FRAGMENTS, min_size=1, max_size=10).map("".join), min_size=1,
                max_size=60))
def test_the_scan_equals_the_test_of_each_text(texts: list[str]) -> None:
    assert sorted(maybe_secrets(texts)) == sorted(text for text in texts if maybe_secret(text))


def test_the_scan_spells_out_pythons_spaces() -> None:
    # RE2's \s leaves out \v and \x1c-\x1f, which Python's matches: the scan must not
    assert {c for c in map(chr, range(128)) if re.fullmatch(r"\s", c)} == set(
        "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ")
    text = "password\x0b=\x1f" + _OPAQUE
    assert maybe_secrets([text] * 3) == [text] * 3
