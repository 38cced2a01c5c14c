"""IFBench's ``count:*`` instructions: how many words, names, numbers, pronouns, ... a response has.

Semantics follow allenai/IFBench ``instructions.py`` (commit db69a6f05689), measure for measure:

- ``count:word_count_range`` (``min_words``, ``max_words``): the ``\\w+`` word count is within
  ``[min_words, max_words]``.
- ``count:unique_word_count`` (``N``): at least ``N`` distinct whitespace-separated tokens,
  lowercased and stripped of ASCII punctuation at both ends.
- ``count:conjunctions`` (``small_n``): at least ``small_n`` different coordinating conjunctions
  (and, but, for, nor, or, so, yet) among the whitespace-separated tokens.
- ``count:person_names`` (``N``): at least ``N`` names of the instruction's fixed list of 50,
  each as a whole ``\\w+`` word, case-sensitive.
- ``count:numbers`` (``N``): exactly ``N`` digit runs once ASCII punctuation is deleted (so
  ``3.14`` and ``1,000`` are one number each, as in the reference).
- ``count:punctuation``: an interrobang (``?!``, ``!?`` or ``‽``) and, with one ``?!`` (else one
  ``!?``) taken out, each of ``. , ! ? ; :``.
- ``count:words_japanese`` (``N``): every ``N``-th whitespace-separated token that is not empty
  or all digits once stripped of ASCII punctuation holds a Hiragana, Katakana or CJK character
  (a response shorter than ``N`` tokens follows it vacuously, as in the reference).
- ``count:pronouns`` (``N``): at least ``N`` of nltk's word tokens of the lowercased response
  (``/`` read as a space, so ``she/her`` is two) are in the reference's pronoun list.
- ``count:keywords_multiple`` (``keyword1`` .. ``keyword5``): each keyword occurs, as a
  case-insensitive substring, exactly 1, 2, 3, 5 and 7 times.

``DERIVE`` reads each id's kwargs from the official wording (case-insensitive; ``4.0`` reads as 4,
as some IFBench prompts write it); two different values for one id are an error, not a guess.
``count:punctuation`` has no kwargs, so its derivation needs no wording.

The other families import what they share from here: the reference's punctuation tables
(``DELETE_PUNCTUATION``, ``PUNCTUATION_AND_SPACE``), ``as_keyword`` and the wording helpers
(``NUMBER``, ``ORDINAL``, ``derive_from``, ``no_kwargs``), so every family reads a prompt's wording
the same way: a prompt that says two different values is an error, never the first one.

Deliberate differences from the reference (it would crash, guess or be gamed):
- a missing, mistyped or unknown kwarg is an error naming it (the reference draws a random
  value); ``count:words_japanese`` with ``N`` = 0 is an error (the reference divides by zero).
- ``count:conjunctions`` counts different conjunctions; the reference counts different raw
  tokens, so ``and And and,`` made three "different conjunctions" out of one.
- ``count:unique_word_count`` does not count a token of punctuation alone (``-``, ``*``, ``...``)
  as a word; the reference counts them all as one extra unique word, the empty string.
"""
from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

from ..ifeval import Instruction
from . import text

__all__ = ["DELETE_PUNCTUATION", "DERIVE", "INSTRUCTIONS", "NUMBER", "ORDINAL", "PERSON_NAMES",
           "PUNCTUATION_AND_SPACE", "as_keyword", "derive_from", "no_kwargs", "number_from_wording"]

# Shared by the family modules (they import this one): the reference's two ways of dropping
# ASCII punctuation, and its wording helpers below.
DELETE_PUNCTUATION = str.maketrans("", "", string.punctuation)
"""``str.translate`` table deleting every ASCII punctuation mark (``string.punctuation``)."""
PUNCTUATION_AND_SPACE = string.punctuation + " "
"""What the reference strips from a token's or a line's ends (``str.strip`` argument)."""
_CONJUNCTIONS = frozenset(("and", "but", "for", "nor", "or", "so", "yet"))
PERSON_NAMES = (
    "Emma", "Liam", "Sophia", "Jackson", "Olivia", "Noah", "Ava", "Lucas", "Isabella", "Mason",
    "Mia", "Ethan", "Charlotte", "Alexander", "Amelia", "Benjamin", "Harper", "Leo", "Zoe", "Daniel",
    "Chloe", "Samuel", "Lily", "Matthew", "Grace", "Owen", "Abigail", "Gabriel", "Ella", "Jacob",
    "Scarlett", "Nathan", "Victoria", "Elijah", "Layla", "Nicholas", "Audrey", "David", "Hannah",
    "Christopher", "Penelope", "Thomas", "Nora", "Andrew", "Aria", "Joseph", "Claire", "Ryan",
    "Stella", "Jonathan",
)
"""The names ``count:person_names`` counts (the instruction lists them)."""
_PRONOUNS = frozenset((
    "i", "me", "we", "us", "you", "he", "him", "she", "her", "it", "they", "them",
    "my", "mine", "our", "ours", "your", "yours", "his", "hers", "its", "their", "theirs",
    "myself", "ourselves", "yourself", "yourselves", "himself", "herself", "itself", "themselves",
    "this", "that", "these", "those", "who", "whom", "whose", "which", "what",
    "whoever", "whomever", "whatever", "whichever",
    "anybody", "anyone", "anything", "everybody", "everyone", "everything",
    "nobody", "nothing", "somebody", "someone", "something",
    "each", "either", "neither", "both", "all", "some", "any", "none",
))
_KEYWORD_TIMES = (1, 2, 3, 5, 7)  # keyword1 once, keyword2 twice, ... keyword5 seven times
_INTERROBANGS = ("?!", "!?", "‽")
_COVERED_MARKS = frozenset(".,!?;:")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_DIGIT_RUN = re.compile(r"\d+")


# --- kwargs kinds beyond ifeval's ---


def as_keyword(value: Any) -> str:
    """A keyword kwarg: non-empty text, stripped (ValueError otherwise)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty keyword, got {value!r}")
    return value.strip()  # the reference strips keywords when it builds the instruction


# --- checkers: (response, **clean kwargs) -> bool ---


def _word_count_range(response: str, min_words: int, max_words: int) -> bool:
    return min_words <= len(text.words(response)) <= max_words


def _stripped_tokens(response: str) -> "list[str]":
    """Whitespace-separated tokens stripped of ASCII punctuation at both ends, as the reference
    reads words for unique words, conjunctions and Japanese words."""
    return [token.strip(PUNCTUATION_AND_SPACE) for token in response.split()]


def _unique_word_count(response: str, N: int) -> bool:
    unique = set(_stripped_tokens(response.lower()))
    unique.discard("")  # a token of punctuation alone is no word
    return len(unique) >= N


def _conjunctions(response: str, small_n: int) -> bool:
    used = {token.lower() for token in _stripped_tokens(response)} & _CONJUNCTIONS
    return len(used) >= small_n


def _person_names(response: str, N: int) -> bool:
    # ``\bName\b`` (the reference's test) matches exactly where a whole \w+ run is the name
    return len(set(text.words(response)).intersection(PERSON_NAMES)) >= N


def _numbers(response: str, N: int) -> bool:
    return len(_DIGIT_RUN.findall(response.translate(DELETE_PUNCTUATION))) == N


def _punctuation(response: str) -> bool:
    if not any(mark in response for mark in _INTERROBANGS):
        return False
    rest = response.replace("?!", "", 1)
    if len(rest) == len(response):
        rest = response.replace("!?", "", 1)
    return _COVERED_MARKS.issubset(rest)


def _words_japanese(response: str, N: int) -> bool:
    tokens = _stripped_tokens(response)
    for word in tokens[N - 1::N]:
        if word and not word.isdigit() and not _JAPANESE.search(word):
            return False
    return True


def _pronouns(response: str, N: int) -> bool:
    tokens = text.word_tokens(response.replace("/", " ").lower())
    return sum(token in _PRONOUNS for token in tokens) >= N


def _keywords_multiple(
    response: str, keyword1: str, keyword2: str, keyword3: str, keyword4: str, keyword5: str
) -> bool:
    lowered = response.lower()
    keywords = (keyword1, keyword2, keyword3, keyword4, keyword5)
    return all(lowered.count(k.lower()) == times for k, times in zip(keywords, _KEYWORD_TIMES))


# --- kwargs from the instruction's wording (RewardBench 2 rows carry none) ---

NUMBER = r"(\d+(?:\.\d+)?)"
"""A number in an instruction's wording, as a regex group."""
ORDINAL = r"(\d+)(?:-?(?:st|nd|rd|th))?"
"""An ordinal in an instruction's wording (``3``, ``3rd``, ``3-rd``), its number as a regex group."""


def number_from_wording(raw: str) -> "int | float":
    """A number as the wording writes it: ``4`` and ``4.0`` (IFBench prompts have both) -> 4."""
    value = float(raw)
    return int(value) if value.is_integer() else value


def derive_from(pattern: str, *names: str, what: str,
                texts: "tuple[str, ...]" = ()) -> "Callable[[str], dict[str, Any]]":
    """A DERIVE function: kwargs ``names`` from the groups of ``pattern`` (case-insensitive)
    found in the prompt, numbers except the ``texts`` names (stripped text); ValueError when the
    prompt does not say them or says two different things. ``what`` names the wording in that
    error. A name given for two groups takes whichever matched (alternatives: ``"a b"|word``)."""
    regex = re.compile(pattern, re.IGNORECASE)

    def derive(prompt: str) -> "dict[str, Any]":
        found = {match.groups() for match in regex.finditer(prompt)}
        if not found:
            raise ValueError(f"the prompt does not say {what!r}: no such wording")
        if len(found) > 1:
            values = "; ".join(", ".join(g for g in groups if g is not None) for groups in sorted(found, key=str))
            raise ValueError(f"the prompt's wording {what!r} gives different values: {values}")
        return {name: raw.strip() if name in texts else number_from_wording(raw)
                for name, raw in zip(names, found.pop()) if raw is not None}

    return derive


def no_kwargs(prompt: str) -> "dict[str, Any]":
    """An instruction without parameters: its kwargs are known whatever the wording."""
    return {}


_KEYWORD = r"(\S+(?: \S+)*?)"  # a keyword: words up to the next fixed phrase
_KEYWORDS_WORDING = (
    rf"Include keyword {_KEYWORD} once in your response, keyword {_KEYWORD} twice in your response, "
    rf"keyword {_KEYWORD} three times in your response, keyword {_KEYWORD} five times in your "
    rf"response, and keyword {_KEYWORD} seven times in your response"
)

DERIVE: "dict[str, Callable[[str], dict[str, Any]]]" = {
    "count:word_count_range": derive_from(
        rf"must contain between {NUMBER} and {NUMBER} words", "min_words", "max_words",
        what="must contain between X and Y words"),
    "count:unique_word_count": derive_from(
        rf"Use at least {NUMBER} unique words", "N", what="Use at least N unique words"),
    "count:conjunctions": derive_from(
        rf"Use at least {NUMBER} different coordinating conjunctions", "small_n",
        what="Use at least N different coordinating conjunctions"),
    "count:person_names": derive_from(
        rf"Mention at least {NUMBER} different person names", "N",
        what="Mention at least N different person names"),
    "count:numbers": derive_from(
        rf"Include exactly {NUMBER} numbers", "N", what="Include exactly N numbers"),
    "count:punctuation": no_kwargs,
    "count:words_japanese": derive_from(
        rf"Every {NUMBER}(?:st|nd|rd|th)(?: word)? of your response must be in Japanese", "N",
        what="Every Nth word of your response must be in Japanese"),
    "count:pronouns": derive_from(
        rf"include at least {NUMBER} pronouns", "N", what="should include at least N pronouns"),
    "count:keywords_multiple": derive_from(
        _KEYWORDS_WORDING, "keyword1", "keyword2", "keyword3", "keyword4", "keyword5",
        what="Include keyword A once in your response, keyword B twice ...",
        texts=("keyword1", "keyword2", "keyword3", "keyword4", "keyword5")),
}
"""IFBench ``count:*`` id -> its kwargs read from the prompt's wording."""

_KEYWORD_PARAMS = {f"keyword{i}": as_keyword for i in range(1, 6)}

_TABLE: "tuple[tuple[str, Callable[..., bool], dict[str, Any]], ...]" = (  # id, checker, kwargs
    ("count:word_count_range", _word_count_range, {"min_words": "count", "max_words": "count"}),
    ("count:unique_word_count", _unique_word_count, {"N": "count"}),
    ("count:conjunctions", _conjunctions, {"small_n": "count"}),
    ("count:person_names", _person_names, {"N": "count"}),
    ("count:numbers", _numbers, {"N": "count"}),
    ("count:punctuation", _punctuation, {}),
    ("count:words_japanese", _words_japanese, {"N": "position"}),
    ("count:pronouns", _pronouns, {"N": "count"}),
    ("count:keywords_multiple", _keywords_multiple, _KEYWORD_PARAMS),
)

INSTRUCTIONS: "dict[str, Instruction]" = {iid: Instruction(iid, check, params) for iid, check, params in _TABLE}
"""IFBench ``count:*`` id -> its :class:`Instruction`."""
