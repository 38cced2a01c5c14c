"""Format verifiers: regex, JSON, JSON Schema, length, language and structural features.

Each verifier is total: a malformed response is a ``False`` with the reason in ``detail``; a
malformed *argument* (a bad regex, an invalid schema, an unknown unit) is an ``error`` because
it is the skill author's mistake, not the response's.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

from .answers import clean_text
from .registry import Verdict, verifier

__all__ = [
    "parse_json",
    "count_units",
    "UNITS",
    "FEATURES",
    "regex",
    "json_valid",
    "json_schema",
    "length",
    "language",
    "has",
]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)```", re.DOTALL)


def parse_json(text: object) -> tuple[bool, Any, str | None]:
    """``(ok, value, reason)``: the response as JSON, else its fenced (```json) block."""
    body = clean_text(text).strip()
    ok, value, reason = _loads(body)
    if ok:
        return ok, value, None
    fenced = _FENCE.findall(body)  # (language, block) pairs
    preferred = [block for lang, block in fenced if lang.lower() in ("json", "")]
    for block in preferred or [block for _, block in fenced]:
        ok, value, _ = _loads(block.strip())
        if ok:
            return ok, value, None
    return False, None, reason


def _loads(text: str) -> tuple[bool, Any, str | None]:
    if not text:
        return False, None, "empty response"
    try:
        return True, json.loads(text), None
    except json.JSONDecodeError as exc:
        return False, None, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return False, None, "not JSON: nested too deeply"


@verifier(
    "format.regex",
    version="1",
    isolate=False,  # pure, fast and total: in-process
    params=("response: text", "pattern: text"),
    doc="The Python regular expression `pattern` matches somewhere in the response (re.search; "
    "use ^...$ with (?s) to match the whole response).",
)
def regex(response: object, pattern: str) -> Verdict:
    """See the registered doc."""
    try:
        compiled = re.compile(str(pattern))
    except re.error as exc:
        return Verdict.error(f"invalid regular expression {pattern!r}: {exc}")
    m = compiled.search(clean_text(response))
    return Verdict.ok(m is not None, **({"match": m.group(0)[:200]} if m else {}))


@verifier(
    "format.json",
    version="1",
    isolate=False,  # pure, fast and total: in-process
    params=("response: text",),
    doc="The response parses as JSON, either whole or inside a ```json fenced block.",
)
def json_valid(response: object) -> Verdict:
    """See the registered doc."""
    ok, _, reason = parse_json(response)
    return Verdict.ok(ok) if ok else Verdict.ok(False, reason=reason)


@verifier(
    "format.json_schema",
    version="1",
    isolate=False,  # pure, fast and total: in-process
    params=("response: text", "schema: json"),
    doc="The response's JSON (whole or fenced) is valid against the JSON Schema `schema` "
    "(draft from its $schema, else the latest).",
)
def json_schema(response: object, schema: Any) -> Verdict:
    """See the registered doc."""
    import jsonschema

    try:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return Verdict.error(f"invalid JSON schema: {exc.message}")
    except (TypeError, AttributeError) as exc:
        return Verdict.error(f"invalid JSON schema: {exc}")
    ok, value, reason = parse_json(response)
    if not ok:
        return Verdict.ok(False, reason=reason)
    error = jsonschema.exceptions.best_match(cls(schema).iter_errors(value))
    if error is None:
        return Verdict.ok(True)
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return Verdict.ok(False, reason=f"{where}: {error.message[:300]}")


# ---- length ------------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<!\b[A-Z])(?<!\b(?:Mr|Ms|Dr|St|vs))(?<!\be\.g)(?<!\bi\.e)[.!?]+(?=\s|$)")
UNITS: dict[str, Callable[[str], int]] = {
    "words": lambda t: len(re.findall(r"\w+", t)),  # as IFEval counts words (nltk \w+)
    "sentences": lambda t: len([s for s in _SENTENCE_END.split(t) if s.strip()]),
    "paragraphs": lambda t: len([p for p in re.split(r"\n\s*\n", t) if p.strip()]),
    "lines": lambda t: len([line for line in t.splitlines() if line.strip()]),
    "characters": len,
}


def count_units(text: str, unit: str) -> int:
    """How many ``unit`` (a key of ``UNITS``) the text has; KeyError for an unknown unit."""
    return UNITS[unit](text)


@verifier(
    "format.length",
    version="1",
    isolate=False,  # pure, fast and total: in-process
    params=("response: text", 'unit: text = "words"', "min: number = None", "max: number = None"),
    doc="The response's length in `unit` (words | sentences | paragraphs | lines | characters) "
    "is within [min, max]; either bound may be omitted. Paragraphs are separated by blank lines.",
)
def length(response: object, unit: str = "words", min: Any = None, max: Any = None) -> Verdict:  # noqa: A002
    """See the registered doc."""
    if unit not in UNITS:
        return Verdict.error(f"unknown unit {unit!r}; expected one of {', '.join(UNITS)}")
    for bound in (min, max):
        if bound is not None and (isinstance(bound, bool) or not isinstance(bound, (int, float))):
            return Verdict.error(f"length bound {bound!r} is not a number")
    if min is not None and max is not None and min > max:
        return Verdict.error(f"min {min!r} is greater than max {max!r}: no response could pass")
    n = count_units(clean_text(response), unit)
    within = (min is None or n >= min) and (max is None or n <= max)
    return Verdict.ok(within, count=n, unit=unit)


# ---- language ----------------------------------------------------------------------------------

_LANG_SAMPLE = 4000  # characters: language is clear long before that, and detection is O(n)
_LANG_CODE = re.compile(r"[a-z]{2,3}(?:-[a-z]{2,4})?")


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language (langdetect, seeded for determinism), or None."""
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0  # langdetect is randomised; a reward must be reproducible
    try:
        return detect(text[:_LANG_SAMPLE])
    except LangDetectException:
        return None


@verifier(
    "format.language",
    version="1",
    isolate=False,  # pure, fast and total: in-process
    params=("response: text", "lang: text"),
    doc="The response is written in language `lang` (ISO 639-1 code such as 'en', 'de', 'zh'; "
    "detected with langdetect). na when the text has no detectable language (empty, digits only).",
)
def language(response: object, lang: str) -> Verdict:
    """See the registered doc."""
    want = str(lang).strip().lower().replace("_", "-")
    if not _LANG_CODE.fullmatch(want):  # 'english' would silently never match: the author's mistake
        return Verdict.error(f"lang {lang!r} is not a language code such as 'en', 'de' or 'zh-cn'")
    found = detect_language(clean_text(response))
    if found is None:
        return Verdict.na("no language could be detected in the response")
    found_l = found.lower()
    same = found_l == want or found_l.split("-")[0] == want.split("-")[0] and "-" not in want
    return Verdict.ok(same, detected=found)


# ---- structure ---------------------------------------------------------------------------------

_BULLET = re.compile(r"^\s*(?:[*\-+•]|\d+[.)])\s+\S", re.MULTILINE)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+\S|^\s*(?:SECTION|Section|PART|Part)\s+\w+", re.MULTILINE)
_TITLE = re.compile(r"<<[^\n<>]+>>|^\s*#\s+\S", re.MULTILINE)
_HIGHLIGHT = re.compile(r"\*\*[^\n*]+\*\*|\*[^\n*]+\*")
_PLACEHOLDER = re.compile(r"\[[^\[\]\n]+\]")
_CODE = re.compile(r"```")
FEATURES: dict[str, Callable[[str], int]] = {
    "bullets": lambda t: len(_BULLET.findall(t)),
    "sections": lambda t: len(_HEADING.findall(t)),
    "title": lambda t: len(_TITLE.findall(t)),
    "highlights": lambda t: len(_HIGHLIGHT.findall(t)),
    "placeholders": lambda t: len(_PLACEHOLDER.findall(t)),
    "code": lambda t: len(_CODE.findall(t)) // 2,
}


def _count_feature(text: str, what: str) -> int | None:
    if what.startswith("keyword:"):
        word = what.split(":", 1)[1].strip()
        if not word:
            return None
        return len(re.findall(r"(?<!\w)" + re.escape(word) + r"(?!\w)", text, re.IGNORECASE))
    counter = FEATURES.get(what)
    return None if counter is None else counter(text)


@verifier(
    "format.has",
    version="1",
    isolate=False,  # pure, fast and total: in-process
    params=("response: text", "what: text", "count: number = 1"),
    doc="The response has at least `count` of `what`: bullets (markdown '-', '*', '1.' items), "
    "sections (markdown headings or 'SECTION n'), title (<<title>> or a '# ' heading), "
    "highlights (*text*), placeholders ([name]), code (fenced blocks), or keyword:<word> "
    "(case-insensitive, on word boundaries).",
)
def has(response: object, what: str, count: Any = 1) -> Verdict:
    """See the registered doc."""
    if isinstance(count, bool) or not isinstance(count, (int, float)) or not count >= 0:
        return Verdict.error(f"count {count!r} is not a number of at least 0")
    n = _count_feature(clean_text(response), str(what))
    if n is None:
        kinds = ", ".join([*FEATURES, "keyword:<word>"])
        return Verdict.error(f"unknown feature {what!r}; expected one of {kinds}")
    return Verdict.ok(n >= count, count=n)
