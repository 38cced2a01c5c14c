"""IFBench's ``ratio:*`` instructions: proportions of stop words, trigrams and sentence types.

Semantics follow allenai/IFBench ``instructions.py`` (commit db69a6f05689):

- ``ratio:stop_words`` (``percentage``): stop words (nltk's English list, ``text.STOPWORDS``)
  are at most ``percentage`` % of the ``\\w+`` words; a response without words does not follow.
- ``ratio:overlap`` (``reference_text``, ``percentage``): of the response's distinct character
  trigrams, ``percentage`` % ± 2 also occur in ``reference_text``.
- ``ratio:sentence_type``: sentences (nltk's ``sent_tokenize``) ending in ``.`` are twice those
  ending in ``?``.
- ``ratio:sentence_balance``: as many sentences end in ``.`` as in ``?`` and in ``!``.
- ``ratio:sentence_words``: exactly three sentences, of the same length once stripped.

Deliberate differences from the reference (it would guess, round, or be gamed):
- a missing, mistyped or unknown kwarg is an error naming it (the reference draws a random
  percentage); a percentage must be a number from 0 to 100.
- percentages are compared exactly: the reference's floating point puts 7 stop words of 25
  above 28 % (7 / 25 * 100 = 28.000000000000004) and so can fail a response exactly at the limit.
- ``ratio:sentence_type`` needs at least one question and ``ratio:sentence_balance`` at least
  one sentence of each type: the reference counts 0 = 2 x 0 as a 2:1 ratio and 0 = 0 = 0 as
  balanced, so a response with no ``.``, ``?`` or ``!`` at a sentence end followed both.
- ``ratio:sentence_words`` also checks the instruction's "using all different words" (no
  ``\\w+`` word, case-folded, twice in the response); the reference checks only the lengths,
  so three copies of one sentence followed it.
- deriving ``ratio:overlap``'s kwargs from a prompt takes the prompt without the instruction's
  sentence as the reference text ("the provided reference text" is the prompt itself); IFBench's
  own data keeps the prompt's original line breaks in ``reference_text``, so whitespace may differ.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from ..ifeval import Instruction
from . import text
from .count import NUMBER, no_kwargs, derive_from, number_from_wording
from .words import first_sentences

__all__ = ["DERIVE", "INSTRUCTIONS"]

_INVISIBLE = "\u200b\ufeff"  # zero-width space, byte-order mark: not whitespace to str.strip
_OVERLAP_TOLERANCE = 2  # percentage points either side, as the instruction says ("±2%")


# --- kwargs kinds beyond ifeval's ---


def _as_percentage(value: Any) -> Fraction:
    """A percentage from 0 to 100, kept exact (Fraction) so comparisons do not round."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueError(f"expected a percentage from 0 to 100, got {value!r}")
    return Fraction(value)


def _as_reference(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty reference text, got {value!r}")
    return value  # used as given: its whitespace makes trigrams too


# --- checkers: (response, **clean kwargs) -> bool ---


def _stop_words(response: str, percentage: Fraction) -> bool:
    words = text.words(response)
    if not words:
        return False
    stop = sum(word.lower() in text.STOPWORDS for word in words)
    return 100 * stop <= percentage * len(words)


def _trigrams(value: str) -> "set[tuple[str, str, str]]":
    """The distinct character trigrams of ``value`` (nltk ``ngrams(value, 3)``)."""
    return set(zip(value, value[1:], value[2:]))


def _overlap(response: str, reference_text: str, percentage: Fraction) -> bool:
    own = _trigrams(response)
    if not own:
        return False
    shared = len(own.intersection(_trigrams(reference_text)))
    low, high = percentage - _OVERLAP_TOLERANCE, percentage + _OVERLAP_TOLERANCE
    return low * len(own) <= 100 * shared <= high * len(own)


def _ending_counts(response: str) -> "dict[str, int]":
    """How many sentences end in ``.``, ``?`` and ``!``."""
    counts = {".": 0, "?": 0, "!": 0}
    for sentence in text.sentences(response):
        if sentence[-1:] in counts:
            counts[sentence[-1]] += 1
    return counts


def _sentence_type(response: str) -> bool:
    counts = _ending_counts(response)
    return counts["?"] > 0 and counts["."] == 2 * counts["?"]  # 0:0 is no 2:1 ratio


def _sentence_balance(response: str) -> bool:
    counts = _ending_counts(response)
    return counts["."] > 0 and counts["."] == counts["?"] == counts["!"]  # 0:0:0 is no balance


def _sentence_words(response: str) -> bool:
    sentences = first_sentences(response, 4)  # a 4th is enough to fail: split no further
    if len(sentences) != 3 or len({len(s.strip()) for s in sentences}) != 1:
        return False
    words = [word.casefold() for word in text.words(response)]
    return len(set(words)) == len(words)  # "using all different words"


# --- kwargs from the instruction's wording ---

_OVERLAP_WORDING = re.compile(
    rf"Maintain a trigram overlap of {NUMBER}\s*% \(±\s*2\s*%\) with the provided reference text\.?",
    re.IGNORECASE)


def _derive_overlap(prompt: str) -> "dict[str, Any]":
    """The percentage from the wording; the reference text is the prompt without the wording."""
    percentages = {match.group(1) for match in _OVERLAP_WORDING.finditer(prompt)}
    if len(percentages) != 1:
        what = "no wording" if not percentages else "different percentages in the wording"
        raise ValueError(f"the prompt has {what} 'Maintain a trigram overlap of N% (±2%) ...'")
    reference = _OVERLAP_WORDING.sub("", prompt).strip().strip(_INVISIBLE).strip()
    if not reference:
        raise ValueError("the prompt has no reference text besides the overlap instruction")
    return {"reference_text": reference, "percentage": number_from_wording(percentages.pop())}


DERIVE: "dict[str, Callable[[str], dict[str, Any]]]" = {
    "ratio:stop_words": derive_from(
        rf"stop words constitute no more than {NUMBER}\s*% of the total words", "percentage",
        what="Ensure that stop words constitute no more than N% of the total words"),
    "ratio:overlap": _derive_overlap,
    "ratio:sentence_type": no_kwargs,
    "ratio:sentence_balance": no_kwargs,
    "ratio:sentence_words": no_kwargs,
}
"""IFBench ``ratio:*`` id -> its kwargs read from the prompt's wording."""

_TABLE: "tuple[tuple[str, Callable[..., bool], dict[str, Any]], ...]" = (  # id, checker, kwargs
    ("ratio:stop_words", _stop_words, {"percentage": _as_percentage}),
    ("ratio:overlap", _overlap, {"reference_text": _as_reference, "percentage": _as_percentage}),
    ("ratio:sentence_type", _sentence_type, {}),
    ("ratio:sentence_balance", _sentence_balance, {}),
    ("ratio:sentence_words", _sentence_words, {}),
)

INSTRUCTIONS: "dict[str, Instruction]" = {iid: Instruction(iid, check, params) for iid, check, params in _TABLE}
"""IFBench ``ratio:*`` id -> its :class:`Instruction`."""
