"""format.*: regex, JSON (fenced too), JSON Schema, length units, language, structure."""
import pytest

from skilldsl.verifiers import get
from skilldsl.verifiers.formats import count_units, json_valid, length, parse_json

SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}


def call(name, *args, **kwargs):
    return get(name).call(*args, **kwargs)


def test_regex():
    assert call("format.regex", "Order #1234 shipped", r"#\d{4}\b").value is True
    assert call("format.regex", "Order #123", r"#\d{4}\b").value is False
    bad = call("format.regex", "abc", "([")
    assert bad.status == "error" and "invalid regular expression" in bad.reason


@pytest.mark.parametrize(
    "response, ok",
    [
        ('{"a": 1}', True),
        ('Here you go:\n```json\n{"a": 1}\n```\nDone.', True),
        ("```\n[1, 2]\n```", True),
        ("{'a': 1}", False),  # Python, not JSON
        ("", False),
        ("[" * 100_000, False),  # nesting bomb: a reason, not a RecursionError
    ],
)
def test_json(response, ok):
    verdict = call("format.json", response)
    assert verdict.status == "ok" and verdict.value is ok
    assert ok or verdict.detail["reason"]


def test_parse_json_prefers_the_json_fence():
    ok, value, _ = parse_json('```python\n[0]\n```\n```json\n{"b": 2}\n```')
    assert ok and value == {"b": 2}


def test_json_schema():
    assert call("format.json_schema", '{"a": 3}', SCHEMA).value is True
    wrong = call("format.json_schema", '{"a": "x"}', SCHEMA)
    assert wrong.value is False and "a:" in wrong.detail["reason"]
    assert call("format.json_schema", "not json", SCHEMA).value is False
    for bad_schema in ({"type": "bogus"}, "not a schema"):
        verdict = call("format.json_schema", '{"a": 1}', bad_schema)
        assert verdict.status == "error" and "invalid JSON schema" in verdict.reason


TEXT = "Hello world. This is Dr. Smith speaking! Is it e.g. fine? Yes.\n\nSecond para.\n\n\nThird."


@pytest.mark.parametrize("unit, n", [("words", 16), ("sentences", 6), ("paragraphs", 3), ("lines", 3)])
def test_count_units(unit, n):
    assert count_units(TEXT, unit) == n


def test_length_bounds_and_errors():
    assert call("format.length", TEXT, unit="words", min=10, max=20).value is True
    assert call("format.length", TEXT, unit="words", max=15).value is False
    assert call("format.length", TEXT, unit="paragraphs", min=4).value is False
    assert call("format.length", TEXT).detail == {"count": 16, "unit": "words"}
    assert call("format.length", TEXT, unit="pages").status == "error"
    assert call("format.length", TEXT, min="ten").status == "error"


@pytest.mark.parametrize(
    "text, lang, expected",
    [
        ("Das ist ein kleiner deutscher Satz über Hunde und Katzen.", "de", True),
        ("This is an English sentence about dogs and cats.", "en", True),
        ("This is an English sentence about dogs and cats.", "fr", False),
        ("这是一个关于猫和狗的中文句子。", "zh", True),
    ],
)
def test_language(text, lang, expected):
    verdict = call("format.language", text, lang)
    assert verdict.status == "ok" and verdict.value is expected, verdict


def test_language_undetectable_is_na():
    assert call("format.language", "12345 !!!", "en").status == "na"
    assert call("format.language", "", "en").status == "na"


MARKDOWN = (
    "# Title\n\n## Section 1\n* a\n* b\n- c\n1. d\n\nSECTION 2\n"
    "*highlight* and **bold** [name]\n```py\nx\n```\nkeyword Apple apples apple."
)


@pytest.mark.parametrize(
    "what, n",
    [("bullets", 4), ("sections", 3), ("title", 1), ("highlights", 2), ("placeholders", 1), ("code", 1), ("keyword:apple", 2)],
)
def test_has_counts(what, n):
    assert call("format.has", MARKDOWN, what, count=n).value is True
    assert call("format.has", MARKDOWN, what, count=n + 1).value is False


def test_has_errors():
    assert call("format.has", MARKDOWN, "tables").status == "error"
    assert call("format.has", MARKDOWN, "keyword:").status == "error"
    assert call("format.has", MARKDOWN, "bullets", count="two").status == "error"


def test_bad_input_is_total():
    for name, args in [
        ("format.regex", ("\udcff", "x")),
        ("format.has", ("\udcff - a", "bullets")),
        ("format.language", ("\udcff", "en")),
    ]:
        assert call(name, *args).status in ("ok", "na"), name
    assert json_valid(b"\xff{}").status == "ok" and length(None).status == "ok"  # the functions are total
    for name, args in [("format.json", (b"\xff{}",)), ("format.length", (None,))]:  # a registered call checks types
        verdict = call(name, *args)
        assert verdict.status == "error" and f"{name}: 'response' must be text" in verdict.reason


def test_arguments_that_could_never_match_are_errors_not_false():
    # each used to be a silent False (or True), a number in the reward
    for verdict, words in [
        (call("format.language", "Das ist ein schöner Tag im Park.", "german"), "not a language code"),
        (call("format.length", "a b c", min=5, max=2), "greater than max"),
        (call("format.has", "- a\n- b", "bullets", count=-1), "at least 0"),
    ]:
        assert verdict.status == "error" and words in verdict.reason, verdict
    assert call("format.language", "Das ist ein schöner Tag und ich gehe heute im Park spazieren.", "DE").value is True
