"""Candidate responses for IFBench's ``count:*`` instructions (the differential run).

``RESPONSES[id](kwargs, prompt)`` -> responses that follow, that narrowly violate, and edge
cases for that id; ``EXTRA_KWARGS[id]`` -> kwargs beyond the data's, at the boundaries.
Pure standard library (it also runs in the reference venv); deterministic.
"""
from __future__ import annotations

import re
from collections.abc import Callable

# words that are no pronoun, conjunction, stop word, person name or number
FILLER = (
    "river stone garden lantern meadow copper violin harbor canyon marble orchard falcon "
    "thunder velvet compass glacier pepper saddle timber beacon quartz walnut prairie cobalt "
    "ember fossil juniper lagoon mosaic nectar oyster pebble quiver ripple summit tundra "
    "umbrella vortex willow yarrow zephyr anchor bramble cedar dune estuary fjord gravel "
    "heron island jasper kelp lichen mango nutmeg opal pumice quill reef sierra thistle"
).split()

EDGES = (
    "",
    "   \n\t ",
    "\u00e9t\u00e9 na\u00efve caf\u00e9 \u65e5\u672c\u8a9e \u2713 \U0001f600 \u0663\u0664 \u00bd",
    "# Title\n\n* **bold** item\n* _second_ item\n\n```\ncode block\n```\n\n> quoted line",
    "\u200b\u200b\u200b",
)


def words(n: int, offset: int = 0) -> "list[str]":
    """``n`` distinct-looking filler words (they repeat after 64, with a suffix to stay distinct)."""
    out = []
    for i in range(offset, offset + n):
        word = FILLER[i % len(FILLER)]
        out.append(word if i < len(FILLER) else f"{word}{i // len(FILLER)}")
    return out


def sentence(tokens: "list[str]") -> str:
    return " ".join(tokens) + "." if tokens else ""


def huge(unit: str, size: int = 200_000) -> str:
    """``unit`` repeated to about ``size`` characters."""
    return unit * max(1, size // max(1, len(unit)))


def _n(kwargs: dict, name: str = "N") -> int:
    return int(kwargs[name])


def word_count_range(kwargs: dict, prompt: str) -> "list[str]":
    low, high = int(kwargs["min_words"]), int(kwargs["max_words"])
    middle = (low + high) // 2
    return [
        sentence(words(low)), sentence(words(high)), sentence(words(middle)),
        sentence(words(max(low - 1, 0))), sentence(words(high + 1)),
        # contractions and hyphens split into more \w+ words
        "don't-stop " + sentence(words(max(low - 2, 0))),
        "**Intro**\n" + sentence(words(low)) + "\n*end*",
        "Sure! Here it is:\n" + sentence(words(high)) + "\nHope this helps.",
        huge("word "),
        *EDGES,
    ]


def unique_word_count(kwargs: dict, prompt: str) -> "list[str]":
    n = _n(kwargs)
    distinct = words(n)
    short = words(max(n - 1, 0))
    return [
        sentence(distinct), sentence(distinct + distinct[:3]),
        sentence(short), sentence(short + short[:5]),
        # case and punctuation variants are the same word
        " ".join(short + [w.upper() + "," for w in short[:3]]),
        # a token of punctuation alone: the reference counts it as one more word
        " ".join(short) + " - *",
        " ".join(short) + " \u2014",
        "\n".join("* " + w for w in distinct),
        huge(" ".join(words(40)) + " "),
        *EDGES,
    ]


CONJUNCTIONS = ("and", "but", "for", "nor", "or", "so", "yet")


def conjunctions(kwargs: dict, prompt: str) -> "list[str]":
    n = _n(kwargs, "small_n")
    used = CONJUNCTIONS[:n]
    fewer = CONJUNCTIONS[:max(n - 1, 0)]
    return [
        " ".join(f"{w} {c}" for w, c in zip(words(n), used)) + " end.",
        " ".join(f"{w} {c}" for w, c in zip(words(n), fewer)) + " end.",
        # one conjunction written many ways: the reference counts each spelling
        "river and stone And lantern AND meadow and, copper (and) violin.",
        "We came, saw, yet; and/or, but... FOR! Nor? so:",
        "band ore forest sofa yeti butter",
        " ".join(CONJUNCTIONS) + ".",
        huge("and but or "),
        *EDGES,
    ]


_NAMES_WORDING = re.compile(r"from this list of person names: ([^.]+?)\s*\.")


def listed_names(prompt: str) -> "tuple[str, ...]":
    """The names the instruction lists, read from its official wording in ``prompt`` (not copied
    from the checker, so the differential run also tests the checker's list)."""
    found = _NAMES_WORDING.search(prompt)
    if found is None:
        raise ValueError("the prompt does not list the person names")
    return tuple(name.strip() for name in found.group(1).split(","))


def person_names(kwargs: dict, prompt: str) -> "list[str]":
    n = _n(kwargs)
    NAMES = listed_names(prompt)  # noqa: N806  (the list, as the instruction gives it)
    return [
        "Today " + ", ".join(NAMES[:n]) + " met.",
        "Today " + ", ".join(NAMES[:max(n - 1, 0)]) + " met.",
        "Today " + ", ".join(NAMES[:max(n - 1, 0)] + ("Emma",) * 3) + " met.",
        # possessives count; longer words, lower case and underscores do not
        " ".join(f"{name}'s" for name in NAMES[:n]),
        " ".join(name.lower() for name in NAMES[:n]),
        " ".join(name + "x" for name in NAMES[:n]) + " Emmanuel Leon Ariana",
        " ".join("_" + name for name in NAMES[:n]),
        "**" + "**, **".join(NAMES[:n]) + "**",
        ", ".join(NAMES),
        huge("Emma and Liam went home. "),
        *EDGES,
    ]


def numbers(kwargs: dict, prompt: str) -> "list[str]":
    n = _n(kwargs)
    listed = [str(7 * i + 3) for i in range(n)]
    return [
        "Values: " + ", ".join(listed) + ".",
        "Values: " + ", ".join(listed + ["99"]) + ".",
        "Values: " + ", ".join(listed[:-1]) + "." if n else "Values: 1.",
        # decimals, thousands and ranges read as one number once punctuation is gone
        "Pi is 3.14, a crowd is 1,000 people, pages 2-3.",
        "Negative -5 and 10% and $20 and 1e5 and v2 and 3rd.",
        "one two three four five six seven eight nine ten",
        "Arabic \u0663\u0664 and fullwidth \uff11\uff12 and superscript \u00b2.",
        "\n".join(f"{i + 1}. {w}" for i, w in enumerate(words(n))),
        huge("12 "),
        *EDGES,
    ]


def punctuation(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "First, a list; then: a claim. Really?! Yes! Why?",
        "First, a list; then: a claim. Really?!",
        "First, a list; then: a claim. Really!? Yes! Why?",
        "First, a list; then: a claim. Really\u203d Yes! Why?",
        "First, a list; then: a claim. Really\u203d",
        "First, a list; then a claim. Really?! Yes! Why?",
        "First a list; then: a claim. Really?! Yes! Why?",
        "First, a list; then: a claim?! Yes!? No!",
        "?!?!,;:.",
        "!?,;:.",
        huge("Wait, what; no: fine. Ok! Sure? "),
        huge("word ") + "?!,;:.!?",
        *EDGES,
    ]


JAPANESE = ("\u732b", "\u72ac", "\u3055\u304f\u3089", "\u30ab\u30e1\u30e9", "\u5c71", "\u5ddd")


def _japanese_every(n: int, total: int, english_at: "int | None" = None, fill: str = "") -> str:
    tokens = []
    for i in range(1, total + 1):
        if i % n == 0 and i != english_at:
            tokens.append(fill or JAPANESE[i % len(JAPANESE)])
        else:
            tokens.append(FILLER[i % len(FILLER)])
    return " ".join(tokens)


def words_japanese(kwargs: dict, prompt: str) -> "list[str]":
    n = _n(kwargs)
    total = 3 * n + 1
    return [
        _japanese_every(n, total),
        _japanese_every(n, total, english_at=2 * n),
        _japanese_every(n, total, english_at=3 * n),
        _japanese_every(n, total, fill="2024"),
        _japanese_every(n, total, fill="..."),
        _japanese_every(n, total, fill="\u732b!"),
        _japanese_every(n, total, fill="\uac00\ub098"),  # Korean is not Japanese
        _japanese_every(n, total, fill="\uff71"),  # halfwidth katakana: outside the reference's ranges
        " ".join(FILLER[: max(n - 1, 1)]),  # shorter than N words
        "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0\u3067\u3059\u3002" * 3,
        huge(_japanese_every(n, n) + " "),
        *EDGES,
    ]


def pronouns(kwargs: dict, prompt: str) -> "list[str]":
    n = _n(kwargs)
    cycle = ("she", "they", "it", "we", "you", "them", "this", "everyone")
    listed = [cycle[i % len(cycle)] for i in range(n)]
    return [
        " ".join(f"{p} {w}" for p, w in zip(listed, words(n))) + ".",
        " ".join(f"{p} {w}" for p, w in zip(listed[:-1], words(n))) + ".",
        "Pronouns: " + " ".join(["she/her/hers"] * max(1, n // 3 + 1)),
        " ".join(p.upper() for p in listed) + ".",
        "It's theirs, isn't it? Who's there? Y'all'd've I'm.",
        "themself hisself thee thou ye shes",
        "\n".join(f"* {p.capitalize()} said so." for p in listed),
        huge("I think you know it. "),
        *EDGES,
    ]


def keywords_multiple(kwargs: dict, prompt: str) -> "list[str]":
    keys = [kwargs[f"keyword{i}"].strip() for i in range(1, 6)]
    times = (1, 2, 3, 5, 7)

    # filler that does not itself contain a keyword (one data row's keyword is "river")
    plain = [w for w in words(64) if not any(k.lower() in w for k in keys)]

    def build(counts: "tuple[int, ...]", spell: "Callable[[str], str]" = str) -> str:
        parts = []
        for key, count in zip(keys, counts):
            parts += [f"{spell(key)} {plain[i % len(plain)]}." for i in range(count)]
        return " ".join(parts)

    return [
        build(times),
        build(times, str.upper),
        build((1, 2, 3, 5, 8)),
        build((0, 2, 3, 5, 7)),
        build((2, 2, 3, 5, 7)),
        # the keyword inside a longer word is counted by the reference (substring count)
        build(times).replace(f"{keys[0]} ", f"{keys[0]}s ", 1),
        build(times) + f" un{keys[1]}ed",
        "**" + build(times) + "**",
        huge(build(times) + " "),
        *EDGES,
    ]


RESPONSES: "dict[str, Callable[[dict, str], list[str]]]" = {
    "count:word_count_range": word_count_range,
    "count:unique_word_count": unique_word_count,
    "count:conjunctions": conjunctions,
    "count:person_names": person_names,
    "count:numbers": numbers,
    "count:punctuation": punctuation,
    "count:words_japanese": words_japanese,
    "count:pronouns": pronouns,
    "count:keywords_multiple": keywords_multiple,
}

EXTRA_KWARGS: "dict[str, list[dict]]" = {
    "count:word_count_range": [
        {"min_words": 0, "max_words": 0}, {"min_words": 1, "max_words": 1},
        {"min_words": 0, "max_words": 5}, {"min_words": 5000, "max_words": 60000},
    ],
    "count:unique_word_count": [{"N": 0}, {"N": 1}, {"N": 2}, {"N": 300}],
    "count:conjunctions": [{"small_n": 0}, {"small_n": 1}, {"small_n": 7}, {"small_n": 8}],
    "count:person_names": [{"N": 0}, {"N": 1}, {"N": 50}, {"N": 51}],
    "count:numbers": [{"N": 0}, {"N": 1}, {"N": 40}],
    "count:punctuation": [{}],
    "count:words_japanese": [{"N": 1}, {"N": 2}, {"N": 3}, {"N": 31}],
    "count:pronouns": [{"N": 0}, {"N": 1}, {"N": 100}],
    "count:keywords_multiple": [
        {"keyword1": "a", "keyword2": "b", "keyword3": "c", "keyword4": "d", "keyword5": "e"},
        {"keyword1": "New York", "keyword2": "C++", "keyword3": "caf\u00e9", "keyword4": "(x)",
         "keyword5": "\u732b"},
        {"keyword1": " padded ", "keyword2": "Mixed", "keyword3": "cat", "keyword4": "cats",
         "keyword5": "dog"},
    ],
}
