"""Final-answer extraction and cheap number normalisation, shared by the math and reference verifiers.

A response states its final answer in one of a few conventional ways; we look for them in order
of how deliberate they are: ``\\boxed{...}``, GSM8K's ``#### N``, an "answer is ..." phrase
(also ``Answer: X`` and ``A: X`` lines), and, for math only, the last number. Only the tail of a
long response is read: a final answer is at the end, and a megabyte-long response must not cost
megabytes of regex work.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "TAIL_CHARS",
    "Answer",
    "clean_text",
    "tail",
    "extract_boxed",
    "extract_answer",
    "parse_number",
    "find_numbers",
    "reference_answer",
]

TAIL_CHARS = 8192  # a final answer lives in the last few KB; longer prefixes are not read

_HASHES = re.compile(r"####\s*([^\n]+)")
_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer|answer)\s*(?:is|was|would\s+be|will\s+be|=|:)\s*:?\s*([^\n]+)",
    re.IGNORECASE,
)
_LINE_LABEL = re.compile(r"^\s*(?:\*\*)?(?:answer|a)\s*(?:\*\*)?\s*:\s*(?:\*\*)?\s*([^\n]+)", re.IGNORECASE | re.MULTILINE)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+)?|-?\.\d+")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:/\d+)?")
_UNIT_WORDS = re.compile(r"^([-+]?[\d.,/]+)\s+[a-zA-Z]{2,}[a-zA-Z .]*$")  # "18 dollars", not "3x"
_WRAPPERS = ("**", "__", "$$", "$", "`")


@dataclass(frozen=True)
class Answer:
    """An extracted final answer: its ``text`` and how it was found (``source``)."""

    text: str
    source: str  # boxed | hashes | phrase | label | last_number


def clean_text(text: object) -> str:
    """``text`` as a valid str: non-UTF-8 surrogates replaced, non-strings turned to ``""``.

    Responses decoded with ``surrogateescape`` carry lone surrogates that make ``encode`` (and
    therefore pipes, JSON and some regex engines) fail later; replacing them here keeps every
    verifier total.
    """
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    if not isinstance(text, str):
        return "" if text is None else str(text)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    """The last ``limit`` characters of ``text`` (all of it when shorter)."""
    return text if len(text) <= limit else text[-limit:]


def extract_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), nested braces included."""
    start, name = max((text.rfind("\\boxed"), "\\boxed"), (text.rfind("\\fbox"), "\\fbox"))
    if start < 0:
        return None
    rest = text[start + len(name) :]
    body = rest.lstrip()
    if body.startswith("{"):
        return _balanced(body, 0)
    token = body.split(None, 1)[0] if body and rest[:1].isspace() else ""
    return _strip_wrappers(token) or None  # "\\boxed 5": the next token


def _open_box(text: str) -> bool:
    at = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    return at >= 0 and _balanced(text, text.index("{", at)) is None


def _balanced(text: str, open_at: int) -> str | None:
    depth = 0
    for j in range(open_at, len(text)):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : j].strip()
    return None  # unbalanced: the box was cut off


def _strip_wrappers(text: str) -> str:
    """Remove markdown/LaTeX delimiters and trailing sentence punctuation around an answer."""
    text = text.strip()
    changed = True
    while changed and text:
        changed = False
        for w in _WRAPPERS:
            if len(text) > 2 * len(w) and text.startswith(w) and text.endswith(w):
                text, changed = text[len(w) : -len(w)].strip(), True
        if text[-1:] in ".;!" or text.endswith("**"):
            text, changed = text.rstrip(".;!*").strip(), True
        if text.startswith("**"):
            text, changed = text.lstrip("*").strip(), True
    return text


def extract_answer(text: object, *, last_number: bool = True) -> Answer | None:
    """The final answer stated in ``text``, or None; ``last_number`` enables the weakest rule."""
    body = tail(clean_text(text))
    boxed = extract_boxed(body)
    if boxed:
        return Answer(boxed, "boxed")
    if boxed is None and _open_box(body):
        return None  # the final \boxed{ was cut off (max tokens): no answer, not its last number
    hashes = _last_match(_HASHES, body)
    if hashes:
        return Answer(hashes[1], "hashes")
    # "Answer: let me think ... so the answer is 42": the statement made last wins
    label, phrase = _last_match(_LINE_LABEL, body), _last_match(_PHRASE, body)
    if label and (not phrase or label[0] >= phrase[0]):
        return Answer(label[1], "label")
    if phrase:
        return Answer(phrase[1], "phrase")
    if last_number:
        numbers = find_numbers(body)
        if numbers:
            return Answer(numbers[-1], "last_number")
    return None


def find_numbers(text: str) -> list[str]:
    """Every number written in ``text`` (``-3``, ``1,000.5``, ``3/4``), in order."""
    return [n.replace(" ", "") for n in _NUMBER.findall(text)]


def _last_match(pattern: re.Pattern[str], text: str) -> tuple[int, str] | None:
    """``(position, answer)`` of the last non-empty match of ``pattern``'s group 1."""
    best = None
    for m in pattern.finditer(text):
        found = _strip_wrappers(m.group(1))
        if found:
            best = (m.start(1), found)
    return best


def parse_number(text: str) -> Fraction | None:
    """``text`` as an exact number when it is a plain one, else None.

    Accepts signs, thousands separators (``1,000``), decimals, simple fractions (``3/4``), a
    currency sign, a trailing percent sign (kept as the number itself: ``50%`` -> 50, as GSM8K
    writes percentages) and trailing unit words (``18 dollars``). Anything richer (LaTeX,
    expressions, sets) returns None so the caller can use a real CAS.
    """
    s = _strip_wrappers(text).replace("\\$", "").replace("$", "").replace("\\%", "%").strip()
    s = s.rstrip("%").strip().replace(" ", "") if "%" in s[-2:] else s
    unit = _UNIT_WORDS.match(s)
    if unit:
        s = unit.group(1)
    s = s.rstrip(".")
    if not s or not _PLAIN_NUMBER.fullmatch(s) or not any(c.isdigit() for c in s):
        return None
    return _to_fraction(s.replace(",", ""))


def _to_fraction(s: str) -> Fraction | None:
    try:
        if "/" in s:
            num, den = s.split("/")
            return Fraction(num) / Fraction(den) if Fraction(den) != 0 else None
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


def reference_answer(reference: object) -> str:
    """The answer part of a reference: GSM8K's ``... #### 18`` -> ``18``; else the stripped text."""
    ref = clean_text(reference).strip()
    if "####" in ref:
        return ref.rsplit("####", 1)[1].strip()
    boxed = extract_boxed(tail(ref)) if "\\boxed" in ref or "\\fbox" in ref else None
    return boxed or ref
