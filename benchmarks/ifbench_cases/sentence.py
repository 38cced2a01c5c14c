"""Candidate responses for IFBench's ``sentence:*`` ids (differential run against the official checker).

Pure standard library. Each entry maps (kwargs, prompt) to responses that follow, that narrowly
violate, and edge cases of the id (abbreviations, punctuation-only words, unicode, markdown, large).
"""
from __future__ import annotations

from collections.abc import Callable

_EDGE = ["", "  \n", "**", "\u00e9t\u00e9 \U0001F600.", "# Title\n\n- item one\n- item two"]
_FILLER = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]


def _sentence(n_words: int, offset: int = 0, word: "str | None" = None) -> str:
    """A sentence of ``n_words`` words (at least one), ``word`` in the middle if given."""
    words = [_FILLER[(offset + i) % len(_FILLER)] for i in range(max(n_words, 1))]
    if word is not None:
        words[len(words) // 2] = word
    return " ".join(words).capitalize() + "."


def _keyword(kwargs: dict, prompt: str) -> "list[str]":
    word, n = str(kwargs["word"]), int(kwargs["N"])
    before = [_sentence(5, i) for i in range(n - 1)]
    honest = " ".join([*before, _sentence(6, n, word), _sentence(4)])
    return [
        honest, " ".join([*before, _sentence(6, n, word)]), " ".join([*before, _sentence(6, n, word.upper())]),
        " ".join([*before, _sentence(6, n, word + ",")]), " ".join([*before, _sentence(6, n, f'"{word}"')]),
        " ".join([*before[:-1], _sentence(6, n, word), _sentence(4)]) if before else _sentence(6, 0, word),
        " ".join([*before, _sentence(6, n, "x" + word + "x")]), " ".join([*before, _sentence(6, n, word + "s")]),
        " ".join([*before, _sentence(6, n, word + "_")]), " ".join(before), " ".join([*before, _sentence(4), word]),
        "\n".join([*before, _sentence(6, n, word)]), " ".join([*before, _sentence(6, n, f"**{word}**")]),
        " ".join(["Dr. Smith came.", *before[1:], _sentence(6, n, word)]) if before else "Dr. " + word + " came.",
        " ".join([*before, _sentence(6, n, word + "-like")]), " ".join([*before, _sentence(6, n, word)]) * 20,
        *_EDGE,
    ]


def _increment(kwargs: dict, prompt: str) -> "list[str]":
    step = int(kwargs["small_n"])
    counts = [2 + step * i for i in range(5)]
    honest = " ".join(_sentence(c, i) for i, c in enumerate(counts))
    off_by_one = counts[:]
    off_by_one[-1] += 1
    return [
        honest, "\n".join(_sentence(c, i) for i, c in enumerate(counts)), _sentence(7),
        " ".join(_sentence(c, i) for i, c in enumerate(off_by_one)), " ".join(_sentence(c) for c in reversed(counts)),
        " ".join(_sentence(3) for _ in counts), honest.replace("Alpha", "Alpha \u2014").replace("alpha", "alpha -"),
        honest.replace("bravo", "well-known"), honest.replace("bravo", "don't"), honest.replace("charlie", "caf\u00e9"),
        honest.replace(".", "!"), "**" + honest + "**", "- " + honest.replace(". ", ".\n- "),
        honest.replace("Delta", "Mr. Delta"), honest + " " + _sentence(counts[-1] + step), honest.replace(" ", "\u00a0"),
        " ".join(_sentence(2 + step * i) for i in range(60)), *_EDGE,
    ]


def _alliteration_increment(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "The cat sat. Big bad bears bite. Sally sells seashells swiftly, surely.",
        "Hello there. Peter picked peppers. Some silly snakes slither slowly.", "Big bad bears bite.",
        "Big bad bears bite. Sally sells seashells.", "The dog ran. The cat sat.",
        "Red roses. Big bad bears. Few fine foxes fled fast.", "Red roses. Big bad bears. Few foxes. Cold cats can climb.",
        '"Big" "bad" bears. Sally sells seashells, so surely.', "Peter picked. Peter Piper picked.",
        "1 11 111. Big bad bears bite.", "\u00c9l\u00e9phant \u00e9norme. Big bad bears bite.",
        "**Big** **bad** bears. Sally sells seashells swiftly.", "Dr. Dre drove. Big bad bears bite blue berries.",
        "a a. b b b. c c c c. d d d d d. " * 100, "-- dash. Big bad bears bite.", *_EDGE,
    ]


RESPONSES: "dict[str, Callable[[dict, str], list[str]]]" = {
    "sentence:keyword": _keyword,
    "sentence:increment": _increment,
    "sentence:alliteration_increment": _alliteration_increment,
}

EXTRA_KWARGS: "dict[str, list[dict]]" = {
    "sentence:keyword": [
        {"word": "eagle", "N": 1}, {"word": "eagle", "N": 40}, {"word": "don't", "N": 2}, {"word": "#tag", "N": 1},
        {"word": "bald eagle", "N": 2}, {"word": "caf\u00e9", "N": 3}, {"word": "C++", "N": 1}, {"word": "a.b", "N": 2},
    ],
    "sentence:increment": [{"small_n": 0}, {"small_n": 1}, {"small_n": 10}],
}
