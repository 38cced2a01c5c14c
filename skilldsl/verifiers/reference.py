"""Reference verifiers: a final answer or a multiple-choice letter against a reference.

Matching is on whole words, never substrings: "12" does not match "120", and the letter "J"
is not found in "just". A response without an explicit final-answer marker is its own answer
(short-answer tasks: "Paris").
"""
from __future__ import annotations

import functools
import re
import string
import unicodedata
from decimal import Decimal
from fractions import Fraction

from ..data import AnyOf
from .answers import TAIL_CHARS, clean_text, extract_answer, parse_number, tail
from .registry import Verdict, verifier

__all__ = ["MODES", "canonical_number", "normalize", "match", "extract_choice", "choice", "LETTERS", "AnyOf",
           "any_of", "alternatives"]

MODES = ("exact", "normalized", "word")
LETTERS = "ABCDEFGHIJ"  # MMLU-Pro has ten options
_ARTICLES = re.compile(r"\b(?:a|an|the)\b")
_PUNCT = str.maketrans({c: " " for c in string.punctuation if c not in "-.%/"})
_SPACES = re.compile(r"\s+")
_NUMBER_TOKEN = re.compile(r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w,]|\.\d)")
_TRAIL_DOT = re.compile(r"\.(?=\s|$)|(?<=\s)-(?=\s)")


def any_of(check, reference: object) -> "Verdict | None":
    """``check(option)`` over the options of an :class:`AnyOf` reference, combined as "or": the
    first true verdict; else the first error; else na if any option was undecided; else false.
    A ``None`` (the fast path deferring) defers the whole call unless an option was true."""
    verdicts = [check(option) for option in reference.options]
    found = [v for v in verdicts if v is not None]
    for verdict in found:
        if verdict.is_ok and verdict.value is True:
            return verdict
    if len(found) < len(verdicts):
        return None
    undecided = next((v for v in found if v.is_error), None) or next((v for v in found if v.is_na), None)
    return undecided or Verdict.ok(False, **{**found[0].detail, "reference": str(reference)})


def alternatives(check):
    """Let the verifier ``check(response, reference, ...)`` take a list reference
    (:class:`AnyOf`) in either place, as "any of these" (:func:`any_of`): a skill may pass the
    reference first, and then the text ``"D or J"`` must not be read as an answer. Verifiers
    without this refuse an AnyOf argument (``VerifierSpec.argument_problem``)."""

    @functools.wraps(check)
    def read(response, reference, *args, **kwargs):
        if isinstance(reference, AnyOf):
            return any_of(lambda option: read(response, option, *args, **kwargs), reference)
        if isinstance(response, AnyOf):
            return any_of(lambda option: check(option, reference, *args, **kwargs), response)
        return check(response, reference, *args, **kwargs)

    read.reads_alternatives = True
    return read


def canonical_number(value: Fraction) -> str:
    """One spelling per number: ``1000``, ``0.75``, ``-3.5``; ``1/3`` when no finite decimal."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return format(exact.normalize(), "f")


def _canon_token(m: re.Match[str]) -> str:
    return canonical_number(Fraction(m.group(0).replace(",", "")))


def normalize(text: str) -> str:
    """Case-, punctuation- and article-insensitive form (SQuAD-style) with numbers in
    one spelling (``1,000.0`` -> ``1000``; a whole-text ``3/4`` -> ``0.75``)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    number = parse_number(text)
    if number is not None:
        return canonical_number(number)
    text = _NUMBER_TOKEN.sub(_canon_token, text)
    text = _ARTICLES.sub(" ", text.translate(_PUNCT))
    return _SPACES.sub(" ", _TRAIL_DOT.sub(" ", text)).strip()


def _candidate(response: str) -> str:
    """The response's explicit final answer, or the whole response when it marks none."""
    answer = extract_answer(response, last_number=False)
    return answer.text if answer is not None else response.strip()


def _word_match(reference: str, text: str) -> bool:
    ref = normalize(reference)
    if not ref:
        return False
    pattern = r"(?<![\w.])" + re.escape(ref) + r"(?![\w]|\.\d)"
    return re.search(pattern, normalize(text)) is not None


@verifier(
    "ref.match",
    version="1",
    isolate=False,  # pure, fast and total: in-process
    params=("response: text", "reference: text", 'mode: text = "normalized"'),
    doc="""The response's final answer matches the reference.

    mode 'exact': identical after trimming whitespace; 'normalized': equal ignoring case,
    punctuation, articles and number spelling (1,000 = 1000); 'word': the normalized
    reference occurs in the answer on word boundaries ('12' does not match '120').
    The final answer is the text after \\boxed{}, '####' or 'the answer is'/'Answer:' when the
    response has one, else the whole response.""",
)
@alternatives
def match(response: object, reference: object, mode: str = "normalized") -> Verdict:
    """See the registered doc."""
    if mode not in MODES:
        return Verdict.error(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    ref = clean_text(reference).strip()
    if not ref:
        return Verdict.na("the reference is empty")
    text = clean_text(response)
    answer = _candidate(tail(text, TAIL_CHARS) if mode != "word" else text)
    if mode == "exact":
        return Verdict.ok(answer.strip() == ref, answer=answer[:200])
    if mode == "normalized":
        return Verdict.ok(normalize(answer) == normalize(ref), answer=answer[:200])
    return Verdict.ok(_word_match(ref, answer), answer=answer[:200])


# ---- multiple choice -------------------------------------------------------------------------

_L = f"[{LETTERS}]"
_CHOICE_RULES = (
    # "the answer is (C)", "Answer: C", "**Answer: C**", "correct option is C", "\boxed{C}"
    re.compile(
        r"(?:answer|option|choice)(?:\s+(?:is|would\s+be|will\s+be))?\s*(?:is\s*)?[:=]?\s*\**\s*"
        rf"(?:\(({_L})\)|\[({_L})\]|({_L})(?![\w']))",
        re.IGNORECASE,
    ),
    re.compile(rf"\\boxed\{{\s*(?:\\text\{{)?\(?({_L})\)?\}}"),
    re.compile(rf"(?<![\w])({_L})\1{{4}}(?!\w)"),  # MMLU-Pro/JudgeBench: "KKKKK"
)
_LEADING = re.compile(rf"^\W{{0,3}}\(?({_L})(?:[).:\]]|\s*$)(?!\w)")
_LONE_PAREN = re.compile(rf"\(({_L})\)")


def extract_choice(response: object) -> str | None:
    """The option letter (A-J) a response chooses, or None when it states none clearly."""
    text = tail(clean_text(response), TAIL_CHARS)
    stated = [
        (m.end(), letter.upper())
        for rule in _CHOICE_RULES
        for m in rule.finditer(text)
        for letter in [next(g for g in m.groups() if g)]
        if _plausible(letter, m.group(0))
    ]
    if stated:  # the last statement wins: "(E) looks right ... my answer is: AAAAA"
        return max(stated)[1]
    lead = _LEADING.match(text.strip())
    if lead:
        return lead.group(1)
    alone = set(_LONE_PAREN.findall(text))
    return alone.pop() if len(alone) == 1 else None


def _plausible(letter: str, matched: str) -> bool:
    """A lower-case letter counts only in brackets ("answer is (c)"), not "the answer is a dog"."""
    return letter.isupper() or f"({letter})" in matched or f"[{letter}]" in matched


def _reference_letter(reference: object) -> str | None:
    ref = clean_text(reference).strip().strip("()[]. *").upper()
    return ref if len(ref) == 1 and ref.isalpha() else None


@verifier(
    "ref.choice",
    version="1",
    isolate=False,  # pure, fast and total: in-process
    params=("response: text", "reference: text"),
    doc="""The multiple-choice letter the response chooses equals the reference letter.

    Recognises 'The answer is (C)', 'Answer: C', '**Answer: C**', '\\boxed{C}', 'CCCCC', and a
    response that starts with the option ('C) ...', '(C)', 'C.'). na when no choice is found.""",
)
@alternatives
def choice(response: object, reference: object) -> Verdict:
    """See the registered doc."""
    ref = _reference_letter(reference)
    if ref is None:
        return Verdict.na(f"the reference {clean_text(reference)[:40]!r} is not an option letter")
    chosen = extract_choice(response)
    if chosen is None:
        return Verdict.na("no option letter found in the response")
    return Verdict.ok(chosen == ref, chosen=chosen, reference=ref)
