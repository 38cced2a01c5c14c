"""IFBench's ``words:*`` instructions: constraints on the words a response uses and where.

Semantics follow the official checkers (allenai/IFBench ``instructions.py`` at db69a6f05689).
"Words" are what each official checker takes them to be, and that differs by instruction:
- most split the response on whitespace after deleting ASCII punctuation (``string.punctuation``),
  so ``don't`` is the word ``dont`` and ``--`` disappears (``alphabet``, ``palindrome``,
  ``prime_lengths``, ``repeats``, ``odd_even_syllables``, ``no_consecutive``);
- ``consonants`` splits on whitespace and keeps punctuation (``it's`` has no cluster: ``'`` parts t, s);
- ``last_first`` and ``paragraph_last_first`` strip punctuation at a sentence's or line's ends
  only; ``keywords_specific_position`` and ``words_position`` use nltk's ``word_tokenize``
  tokens (via :mod:`.text`), the former skipping tokens with no letter or digit.
Sentences are nltk's ``sent_tokenize`` (:func:`.text.sentences`); paragraphs are lines (``\\n``).
Syllables are ``syllapy.count`` (the official's library). Limits kept as the official has them:
``prime_lengths`` knows the primes below 100 (a 101-letter word fails); ``palindrome`` counts a
repeated palindrome again and does not ask that it be a dictionary word.

Deliberate differences from the official checker:
- missing or malformed kwargs are errors naming the argument (the official draws random values
  for a missing ``small_n``, ``keyword``, ``n`` or ``m``, and also for ``n=0`` or ``m=0``);
  ``small_n`` must be a whole number >= 0, ``n`` and ``m`` positions >= 1, ``keyword`` one
  whitespace-free word (a keyword with a space could never equal a single token: the official
  would silently fail every response).
- ``words:start_verb``: the official tags the response with nltk's averaged-perceptron tagger
  (``nltk.pos_tag``) and asks whether the first token's tag contains ``VB``. That model is not
  distributed on PyPI, so it cannot ship here. Instead the first ``word_tokenize`` token counts as
  a verb when its most frequent tag in Brill's tagger lexicon (``data/verbs_brill.txt``; source
  and licence in its header) is a verb tag (VB, VBD, VBG, VBN, VBP, VBZ), in lower case or
  capitalised (sentence-initial) form. ``Write``, ``Use``, ``Imagine``, ``Based``, ``Is`` are
  verbs; ``The``, ``Water``, ``Sure``, ``Can`` (a modal, MD) and anything not a word are not.
  The perceptron tags the first token in context (its next two tokens) and, trained on news
  text, often tags a sentence-initial imperative as a proper noun (textblob-aptagger's model, the
  ancestor of nltk's, gives NNP to "Consider x.", "Go home.", "Provide details.", "Take care."),
  so the official fails many responses that do start with a verb. The lexicon decides by the
  word alone, which is what the instruction asks of an honest response; verdicts differ on such
  imperatives and on ambiguous first words (``Open``, ``Light``: lexicon adjective/noun).

Otherwise the checkers agree with the official on every generated case (benchmarks/ifbench_cases/
words.py). For speed, ``start_verb``, ``words_position`` and ``keywords_specific_position`` tokenise
only the response's first / last thousand characters (or first ``n`` sentences): the same tokens as
the whole text gives, since Punkt and the Treebank rules decide each boundary from nearby text.
:func:`first_sentences` is that for the other families too (``custom:sentence_alphabet``,
``ratio:sentence_words``, ``sentence:keyword``, ``format:no_bullets_bullets`` need a few sentences).

``DERIVE`` reads ``small_n`` (``repeats``), ``keyword``/``n``/``m``
(``keywords_specific_position``, ordinals written ``22-nd``, ``22nd`` or ``22``) and ``keyword``
(``words_position``) from the official wording; the other ids take no kwargs and derive ``{}``
whatever the wording (nothing in it changes the check).
"""
from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import syllapy

from ..ifeval import Instruction
from . import text
from .count import DELETE_PUNCTUATION, ORDINAL, PUNCTUATION_AND_SPACE, as_keyword, derive_from, no_kwargs

__all__ = ["DERIVE", "INSTRUCTIONS", "first_sentences"]

_CONSONANT_PAIR = re.compile(r"[bcdfghj-np-tv-z]{2}")  # ASCII consonants, y included
_PRIMES_BELOW_100 = frozenset((2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71,
                               73, 79, 83, 89, 97))
_SPACE = re.compile(r"\s")


def _load_verbs() -> "frozenset[str]":
    path = Path(__file__).with_name("data") / "verbs_brill.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


_VERBS = _load_verbs()


def _bare_words(response: str) -> "list[str]":
    """Whitespace-separated words after deleting every ASCII punctuation mark."""
    return response.translate(DELETE_PUNCTUATION).split()


# --- the checkers: (response, **clean kwargs) -> bool ---


def _alphabet(response: str) -> bool:
    words = _bare_words(response)
    if not words:
        return False
    first = words[0][0].lower()
    if len(first) != 1 or first not in string.ascii_lowercase:  # a digit or other script fails
        return False
    index = string.ascii_lowercase.index(first)
    for word in words[1:]:
        index = (index + 1) % 26
        if word.lower()[0] != string.ascii_lowercase[index]:
            return False
    return True


def _vowel(response: str) -> bool:
    paragraph = response.strip()
    if "\n" in paragraph:  # one paragraph: no line break inside
        return False
    return len(set(paragraph.lower()) & set("aeiou")) <= 3


def _consonants(response: str) -> bool:
    return all(_CONSONANT_PAIR.search(word) for word in response.lower().split())


def _palindrome(response: str) -> bool:
    words = _bare_words(response.lower())
    return sum(1 for word in words if len(word) >= 5 and word == word[::-1]) >= 10


def _prime_lengths(response: str) -> bool:
    return all(len(word) in _PRIMES_BELOW_100 for word in _bare_words(response))


def _head(response: str, size: int) -> str:
    """The first ``size`` characters of ``response``, extended to the next whitespace."""
    cut = _SPACE.search(response, size)
    return response if cut is None else response[:cut.start()]


def _tail(response: str, size: int) -> str:
    """The last ``size`` characters of ``response``, extended back to a whitespace."""
    end = max(0, len(response) - size)
    start = max(response.rfind(space, 0, end) for space in " \n\t\r")
    return response if start < 0 else response[start + 1:]


# Sentence and token boundaries are decided locally (Punkt looks at the words around a candidate
# end, the Treebank rules at a few characters), so the first or last tokens of a response are
# those of a few thousand characters at its start or end: checkers that need only those tokenise
# only those, and a megabyte response stays fast.
_EDGE_CHARS = 1024


def _first_token(response: str) -> "str | None":
    tokens = text.word_tokens(_head(response, _EDGE_CHARS))
    return tokens[0] if tokens else None


def first_sentences(response: str, count: int) -> "list[str]":
    """The response's first ``count`` sentences (fewer when it has fewer), as
    ``text.sentences(response)[:count]`` gives them but splitting only as much of the response
    as they need: a check that needs a few sentences stays fast on a megabyte."""
    size = _EDGE_CHARS
    while True:
        head = _head(response, size)
        sentences = text.sentences(head)
        if head is response or len(sentences) > count + 1:  # sentence ``count`` is complete
            return sentences[:count]
        size *= 4


def _start_verb(response: str) -> bool:
    first = _first_token(response)
    return first is not None and first.lower() in _VERBS


def _repeats(response: str, small_n: int) -> bool:
    counts = Counter(_bare_words(response.lower()))
    return max(counts.values(), default=0) <= small_n


def _odd_even_syllables(response: str) -> bool:
    parities: "dict[str, int]" = {}  # per call: a long response repeats its words
    previous = None
    for word in _bare_words(response.lower()):
        parity = parities.get(word)
        if parity is None:
            parity = parities[word] = syllapy.count(word) % 2
        if parity == previous:
            return False
        previous = parity
    return True


def _last_first(response: str) -> bool:
    sentences = text.sentences(response)
    for before, after in zip(sentences, sentences[1:]):
        last = before.rstrip(PUNCTUATION_AND_SPACE).split()
        first = after.lstrip(PUNCTUATION_AND_SPACE).split()
        if not last or not first or last[-1].lower() != first[0].lower():
            return False
    return True


def _paragraph_last_first(response: str) -> bool:
    for line in response.split("\n"):
        words = line.strip().lower().strip(PUNCTUATION_AND_SPACE).split()
        if words and words[0] != words[-1]:  # blank and punctuation-only lines are skipped
            return False
    return True


def _no_consecutive(response: str) -> bool:
    words = _bare_words(response.lower())
    return all(a[0] != b[0] for a, b in zip(words, words[1:]))


def _keywords_specific_position(response: str, keyword: str, n: int, m: int) -> bool:
    sentences = first_sentences(response, n)
    if len(sentences) < n:
        return False
    tokens = [t for t in text.word_tokens(sentences[n - 1]) if any(c.isalnum() for c in t)]
    return len(tokens) >= m and tokens[m - 1].lower() == keyword.lower()


def _words_position(response: str, keyword: str) -> bool:
    head = text.word_tokens(_head(response, _EDGE_CHARS))
    tail = text.word_tokens(_tail(response, _EDGE_CHARS))
    if len(head) < 2 or len(tail) < 3 or len(response) < 4 * _EDGE_CHARS:
        head = tail = text.word_tokens(response)  # short, or too few tokens to tell apart
    # a final token that is a run of string.punctuation (substring test, as the official) is
    # skipped when counting "second to last"
    skip = 1 if tail and tail[-1] in string.punctuation else 0
    if len(tail) < 2 + skip:
        return False
    wanted = keyword.lower()
    return head[1].lower() == wanted and tail[-2 - skip].lower() == wanted


# --- kwargs kinds (callables: raw value -> clean value, or ValueError) ---


def _as_keyword(value: Any) -> str:
    keyword = as_keyword(value)
    if any(c.isspace() for c in keyword):
        raise ValueError(f"expected one word (no spaces: it must equal a single token), got {value!r}")
    return keyword


_TABLE: "tuple[tuple[str, Callable[..., bool], dict[str, Any]], ...]" = (  # id, checker, kwargs
    ("words:alphabet", _alphabet, {}),
    ("words:vowel", _vowel, {}),
    ("words:consonants", _consonants, {}),
    ("words:palindrome", _palindrome, {}),
    ("words:prime_lengths", _prime_lengths, {}),
    ("words:start_verb", _start_verb, {}),
    ("words:repeats", _repeats, {"small_n": "count"}),
    ("words:odd_even_syllables", _odd_even_syllables, {}),
    ("words:last_first", _last_first, {}),
    ("words:paragraph_last_first", _paragraph_last_first, {}),
    ("words:no_consecutive", _no_consecutive, {}),
    ("words:keywords_specific_position", _keywords_specific_position,
     {"keyword": _as_keyword, "n": "position", "m": "position"}),
    ("words:words_position", _words_position, {"keyword": _as_keyword}),
)

INSTRUCTIONS: "dict[str, Instruction]" = {iid: Instruction(iid, check, params) for iid, check, params in _TABLE}


# --- DERIVE: kwargs from the instruction's wording ---

_DERIVERS = {
    "words:repeats": derive_from(
        r"not repeat any word more than (\d+) times?", "small_n",
        what="should not repeat any word more than N times"),
    "words:keywords_specific_position": derive_from(
        rf"Include keyword [\"'“‘*]*([^\s\"'“”‘’*]+)[\"'”’*]* in the {ORDINAL} sentence, "
        rf"as the {ORDINAL} word of that sentence", "keyword", "n", "m",
        what="Include keyword K in the N-th sentence, as the M-th word of that sentence", texts=("keyword",)),
    "words:words_position": derive_from(
        r"second to last word in your response should be the word [\"'“‘*]*([^\s.,;:!?\"'“”‘’*]+)", "keyword",
        what="... second to last word in your response should be the word K", texts=("keyword",)),
}

DERIVE: "dict[str, Callable[[str], dict[str, Any]]]" = {iid: _DERIVERS.get(iid, no_kwargs) for iid, _, _ in _TABLE}
