"""IFBench's ``sentence:*`` instructions: constraints over the response's sentences.

Sentences are nltk Punkt's (:func:`text.sentences`), as in the official ``instructions.py``
(allenai/IFBench, commit db69a6f):

- ``sentence:keyword`` (``word``, ``N``): the ``N``-th sentence contains ``word`` as a whole word
  (``\\bword\\b``, any case); fewer than ``N`` sentences fail.
- ``sentence:increment`` (``small_n``): each sentence has exactly ``small_n`` more words than the
  one before; a word is a whitespace-separated run left after ASCII punctuation is removed.
- ``sentence:alliteration_increment``: each sentence has a larger alliteration score than the one
  before. The score is the official's: the words (split on white space, lower-cased, leading
  ASCII punctuation removed, emptied ones dropped) form runs of consecutive words with the same
  first character; every run of k >= 2 words adds k.

As in the official, a single sentence follows both increment instructions (nothing to compare).

Deliberate differences from the official checker:
- ``word``, ``N`` and ``small_n`` are required: missing, null or negative ones are errors naming
  the argument (the official draws random values); ``N`` counts from 1 (the official reads
  ``N = 0`` as the last sentence); ``N`` and ``small_n`` must be whole numbers (the data stores
  them as floats such as ``8.0``, which are accepted).
- ``sentence:increment`` on a response without sentences is not followed (the official raises
  IndexError; unreachable in its evaluation, which skips blank responses).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..ifeval import Instruction
from . import text
from .count import DELETE_PUNCTUATION, ORDINAL, PUNCTUATION_AND_SPACE, derive_from
from .words import first_sentences

# --- the checkers ---


def _keyword(response: str, word: str, N: int) -> bool:  # noqa: N803  (the official's kwarg name)
    found = first_sentences(response, N)
    if len(found) < N:
        return False
    return re.search(r"\b" + re.escape(word) + r"\b", found[N - 1], re.IGNORECASE) is not None


def _word_count(sentence: str) -> int:
    return len(sentence.translate(DELETE_PUNCTUATION).split())


def _increment(response: str, small_n: int) -> bool:
    counts = [_word_count(sentence) for sentence in text.sentences(response)]
    return bool(counts) and all(b == a + small_n for a, b in zip(counts, counts[1:]))


def _alliteration_score(sentence: str) -> int:
    """Sum of the lengths of the runs (two or more) of consecutive words sharing a first character."""
    initials = [word[0] for word in (w.lstrip(PUNCTUATION_AND_SPACE) for w in sentence.lower().split()) if word]
    score = 0
    for previous, current, before in zip(initials, initials[1:], [None, *initials]):
        if previous == current:
            score += 1 if before == previous else 2  # a run's first pair counts both words
    return score


def _alliteration_increment(response: str) -> bool:
    scores = [_alliteration_score(sentence) for sentence in text.sentences(response)]
    return all(a < b for a, b in zip(scores, scores[1:]))


_TABLE: "tuple[tuple[str, Callable[..., bool], dict[str, Any]], ...]" = (  # id, checker, kwargs
    ("sentence:alliteration_increment", _alliteration_increment, {}),
    ("sentence:increment", _increment, {"small_n": "count"}),
    ("sentence:keyword", _keyword, {"word": "text", "N": "position"}),
)

INSTRUCTIONS: "dict[str, Instruction]" = {iid: Instruction(iid, check, params) for iid, check, params in _TABLE}


# --- kwargs from the wording ---

DERIVE: "dict[str, Callable[[str], dict[str, Any]]]" = {
    "sentence:keyword": derive_from(
        rf'must include (?:the )?keyword (?:"([^"\n]+)"|(\S+)) in the {ORDINAL} sentence', "word", "word", "N",
        what="must include keyword ... in the N-th sentence", texts=("word",)),
    "sentence:increment": derive_from(
        r"must contain exactly (\d+) more words? than the previous (?:one|sentence)", "small_n",
        what="must contain exactly N more words than the previous one"),
}
