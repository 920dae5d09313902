"""Redaction: every known secret shape is caught in values, keys, nesting, CJK text and behind JSON escapes;
the one-pass raw-text check never lets through what the full walk would redact; placeholders keep identity."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baton_lab import redact
from baton_lab.redact import Redactor, might_contain_secret, redact_text

import hostile

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_shape_the_module_knows_has_a_generator() -> None:
    assert set(hostile.SECRET_SHAPES) == set(redact.SHAPES) - {"json_key"}  # json_key: generated as SECRET_KEYS


@FAST
@given(hostile.text_with_secret())
def test_a_secret_in_any_text_is_replaced(case: tuple[str, hostile.Secret]) -> None:
    text, secret = case
    clean, n = redact_text(text)
    assert n >= 1 and secret.core not in clean and "[REDACTED:" in clean


@st.composite
def _documents(draw: st.DrawFn) -> tuple[object, list[str]]:
    planted = hostile.Planted()
    doc = hostile.extra_fields(draw, planted)
    doc["nested"] = [hostile.value(draw, planted, 1) for _ in range(draw(st.integers(0, 3)))]
    return doc, planted.cores


@FAST
@given(_documents(), st.data())
def test_fast_path_and_full_path_agree(case: tuple[object, list[str]], data: st.DataObject) -> None:
    """The raw-text decision plus walk gives exactly the full walk, however the JSON text is escaped."""
    doc, cores = case
    r = Redactor(b"k")
    full = r.value(doc)
    raw = hostile._render(data.draw, doc)
    assert r.document(doc, raw) == full
    text = json.dumps(full[0])
    assert not [c for c in cores if c in text]
    # An import of many documents decides the check for a batch of texts in one pass (`Redactor.prime`): the same
    # decision as one text at a time — also where case folding differs (KELVIN SIGN lowers to "k", İ to two
    # characters), for texts that are not ASCII, and with a lone surrogate in the batch.
    batch = [raw, raw.upper(), raw.replace("k", "\u212a"), raw.replace("i", "\u0130"), "é " + raw, raw + "\ud800"]
    assert redact.might_contain_secrets(batch) == [might_contain_secret(x) for x in batch]
    assert redact.might_contain_secrets(batch[:-1]) == [might_contain_secret(x) for x in batch[:-1]]
    r.prime(batch[:-1])
    assert r.document(doc, raw) == full


@FAST
@given(st.lists(st.one_of(hostile.text_with_secret().map(lambda case: case[0]), hostile.words, hostile.cjk,
                          hostile.near_misses, hostile.weird, st.sampled_from(["\u212a", "\u0130", "\u0131", "\u017f"])),
                min_size=1, max_size=12), st.sampled_from([" ", "\n", '", "', "", "=", "://"]))
def test_long_texts_are_redacted_as_a_scan_redacts_them(parts: list[str], sep: str) -> None:
    """Long texts (quarantine excerpts) are matched at marker positions only: the same output as the scan over the
    whole text that short texts get — with secrets next to each other, CJK, and the characters whose case folding
    differs between `str.lower` and `re` (K, İ, ı, ſ)."""
    text = sep.join(parts)
    text = text + sep + "x" * max(0, redact._LONG_TEXT - len(text))  # long enough for the positional path
    r = Redactor(b"k")
    assert r.text(text) == r._text_scan(text, text.lower())
    # Cut short inside a URL's credentials, at a port, after another URL, and not at all.
    for cut in (text, text + " https://deploy:s3cr", text + " http://host:8080", text + " a://b:c/d://e:f9",
                text + "x://u:$VAR", text + "://:p", "https://u:pw@" + text + "://x:y"):
        assert r.cut_text(cut) == _cut_scan(r, cut)


def test_long_texts_where_re_folds_case_beyond_str_lower() -> None:
    # `re` matches ſ for "s" and ı for "i" case-insensitively, `str.lower` keeps them: found by the scan (another
    # marker of the shape, `token`, is in the text), so they must be found in a long text too.
    for word in ("\u017fecret", "apı_key", "\u0130 api_key", "to\u212aen"):
        text = "x" * 300 + f" {word}=abc12345678 token: none"
        r = Redactor(b"k")
        clean, n = r.text(text)
        assert (clean, n) == r._text_scan(text, text.lower())
        assert "abc12345678" not in clean and n == 1, word


def _cut_scan(r: Redactor, text: str) -> tuple[str, int]:
    clean, n = r._text_scan(text, text.lower())
    clean, m = redact._CUT_URL_PASSWORD.subn(r._replace, clean) if "://" in clean else (clean, 0)
    return clean, n + m


@FAST
@given(st.lists(st.one_of(hostile.near_misses, hostile.words, hostile.cjk, hostile.markup), max_size=6))
def test_clean_text_is_not_walked(parts: list[str]) -> None:
    """The old pre-check's false positives (`sk-` in task-scope, `key` in keychain, "the token expired")."""
    assert not might_contain_secret(json.dumps({"context": " ".join(parts), "notes": parts}))


def test_old_pre_check_misses_are_caught() -> None:
    # issue 13: stored unredacted although redact() would have caught them
    assert might_contain_secret('{"authorization": "abcdef123456"}')
    assert might_contain_secret('{"note": "Authorization: Basic\\tdXNlcjpwYXNzd29yZA=="}')
    assert might_contain_secret('{"t": "ghu_' + "a" * 36 + '"}') and might_contain_secret('{"t": "ghr_' + "B" * 36 + '"}')
    # issue 17: a secret written with \u escapes skipped the raw-text pre-check
    assert might_contain_secret('{"t": "\\u0073k-ant-abcdefghijklmnopqrstuv"}')
    assert might_contain_secret('{"p\\u0061ssword": "hunter2"}')
    doc, n = Redactor().document({"authorization": "abcdef123456"}, '{"authorization": "abcdef123456"}')
    assert n == 1 and "abcdef123456" not in json.dumps(doc)


def test_private_key_is_redacted_from_its_begin_line_without_an_end_line() -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
    clean, n = redact_text("my key: " + key)
    assert n == 1 and clean.startswith("my key: [REDACTED:") and "b3Blbn" not in clean


def test_placeholders_keep_identity_and_are_keyed() -> None:
    a, b = Redactor(b"store-a"), Redactor(b"store-b")
    token = "ghp_" + "x1" * 18
    first, second = a.text(f"use {token}")[0], a.text(f"again {token}!")[0]
    assert first.split()[-1] == second.split()[-1].rstrip("!")  # same secret, same placeholder
    assert a.text("ghp_" + "y2" * 18)[0] != first.split()[-1]  # another secret, another one
    assert b.text(f"use {token}")[0] != first  # another store's key, another tag
    # a secret id still joins: the same value redacted in two places is one value
    doc = a.value({"session_id": token, "parent_session": token})[0]
    assert doc["session_id"] == doc["parent_session"] != token


def test_redaction_is_idempotent_and_keeps_env_references() -> None:
    r = Redactor()
    once = r.value({"password": "hunter2", "h": "Bearer abcdefghij12345", "ok": "$GITHUB_TOKEN", "x": "token: $T0KEN_1"})[0]
    assert r.value(once) == (once, 0)
    assert once["ok"] == "$GITHUB_TOKEN" and once["x"] == "token: $T0KEN_1"


def test_secret_named_keys_and_secrets_used_as_keys() -> None:
    doc, n = Redactor().value({"GITHUB_TOKEN": "abc", "apiKey": 12345, "X-Api-Key": "k", "db.password": "p",
                               "tokens": 1200, "keychain": "login", "token_count": 7, "secret": True,
                               "sk-proj-abcdefghijklmnopqrstuvwx": 1})
    assert n == 5
    assert doc["tokens"] == 1200 and doc["keychain"] == "login" and doc["token_count"] == 7 and doc["secret"] is True
    assert not any(k.startswith("sk-proj") for k in doc) and any(k.startswith("[REDACTED:") for k in doc)


def test_prose_after_basic_is_not_a_credential() -> None:
    """The real Beads history's 168 false positives under the old patterns (bench/_redact_before.py): "Basic" followed
    by an ordinary word. Base64 credentials after "Basic" are still caught."""
    text = "Archive strategy:\n- Tier 1 (30+ days): Basic summarization\n- Tier 2 (90+ days): Basic compression"
    assert redact_text(text) == (text, 0)
    assert redact_text("Authorization: Basic dXNlcjpwYXNzd29yZA==")[1] == 1
    assert redact_text("basic QmFzaWNhbGx5U2VjcmV0")[1] == 1   # mixed case steps: base64, not a word
