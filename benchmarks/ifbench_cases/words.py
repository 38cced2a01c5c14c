"""Candidate responses for IFBench's ``words:*`` instructions (the differential run).

``RESPONSES[id](kwargs, prompt)`` -> responses that follow, that narrowly violate, and edge
cases for that id (punctuation, case, markdown, unicode, numbers, size); ``EXTRA_KWARGS[id]`` ->
kwargs beyond the data's, at the boundaries. Pure standard library (it also runs in the
reference venv); deterministic.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

from .count import FILLER, huge

_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
# one word per letter, for alphabet runs
_BY_LETTER = (
    "apples bloom cheerfully during every fall gardens hold ivy jasmine kindly lingers "
    "mostly near old ponds quietly reflecting soft twilight under violet willows xeric yellow zinnias"
).split()
_FILLER = FILLER[:12]
_huge = functools.partial(huge, size=50_000)


def _alphabet_run(start: int, count: int) -> str:
    return " ".join(_BY_LETTER[(start + i) % 26] for i in range(count))


def alphabet(kwargs: dict, prompt: str) -> "list[str]":
    run = _alphabet_run(0, 9).capitalize() + "."
    return [
        run,
        _alphabet_run(23, 6).capitalize() + ".",                      # x y z a b c: loops after z
        "Apples bloom cheerfully during every fall. Gardens hold ivy!",
        "**Apples** bloom, cheerfully - during (every) fall.",        # markdown and punctuation vanish
        "Apples bloom during every fall.",                            # skips c
        "3 apples bloom cheerfully.",                                 # starts with a digit
        "Apples bloom \u2014 cheerfully during.",                     # an em dash is a word (not ASCII)
        "Apples-bloom cheerfully.",                                   # hyphen deleted: one word
        "\u00c5pples bloom cheerfully.",                              # non-ASCII first letter
        "\u212aites lift my noses.",                                  # KELVIN SIGN lower-cases to k
        "Hazel \u0130vy jasmine.",                                    # dotted capital I inside
        "\u0130vy jasmine kindly.",                                   # ... and first
        "Sure!\n" + run + "\nDone.",
        "apples",
        _huge(_alphabet_run(0, 26) + " "),
    ]


def vowel(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "A cat sat on a mat.",                                        # a, o
        "I can sit on a big mat and nap.",                            # a, i, o
        "The cat is on a mat.",                                       # e, a, i, o
        "A cat sat.\nA rat sat.",                                     # two paragraphs
        "A cat sat.\n",                                               # trailing newline is stripped
        "A CAT SAT ON A MAT. EUOI",                                   # upper-case vowels count
        "A cat sat\r on a mat.",                                      # a carriage return is no newline
        "A caf\u00e9 \u00fcber na\u00efve cat sat on a mat.",         # accented vowels are not aeiou
        "\u0130 sat on a mat.",                                       # dotted I lower-cases to i + dot
        "# A cat\n\nA mat.",
        "Bcd fgh jkl mnp.",                                           # no vowel at all
        _huge("A cat sat on a mat. "),
    ]


def consonants(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "Strong crafts stand firm.",
        "Strong crafts stand by my wall.",                            # by, my: y is a consonant
        "Strong cat stands.",                                         # cat has no cluster
        "Strong art stands.",                                         # art: rt
        "Strong a stand.",
        "It's strong.",                                               # it's: t's is no pair
        "Strong, crafts; stand!",                                     # punctuation kept, still pairs
        "Strong 2024 crafts.",
        "Stra\u00dfe cr\u00e8me brl\u00e9e.",                         # non-ASCII letters break pairs
        "\u212ant strong.",                                           # KELVIN SIGN lower-cases to k
        "**Strong** crafts.",
        "Strong\ncrafts\n\nstand",
        _huge("strong crafts stand "),
    ]


_PALINDROMES = "level radar kayak civic refer madam rotor stats tenet racecar".split()


def palindrome(kwargs: dict, prompt: str) -> "list[str]":
    ten = " ".join(_PALINDROMES)
    return [
        "We saw " + ten + " today.",
        "Level, radar! Kayak? Civic; refer: madam (rotor) stats tenet Racecar.",
        "We saw " + " ".join(_PALINDROMES[:9]) + " today.",           # nine
        "We saw " + " ".join(_PALINDROMES[:9]) + " noon.",            # noon is only four letters
        "We saw " + " ".join(_PALINDROMES[:9]) + " race-car.",        # hyphen deleted: racecar
        "level " * 10,                                                # the same one ten times
        "aaaaa " * 10,
        "R\u00e9der " * 10,                                           # accents are kept
        "\u65e5\u672c\u672c\u65e5\u65e5 " * 10,                       # not a palindrome
        "\u4e0a\u6d77\u81ea\u6d77\u4e0a " * 10,                       # a CJK palindrome
        "We saw " + ten.replace("level", "lev\u00a0el") + ".",        # NBSP splits a word
        _huge(ten + " "),
    ]


def prime_lengths(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "We can do it.",
        "The cat ran far, and slept.",
        "The cats ran.",                                              # cats: 4
        "I can go.",                                                  # I: 1
        "It's not hard.",                                             # its: 3; hard: 4
        "Don't go.",                                                  # dont: 4
        "A caf\u00e9 was there.",                                     # A: 1; caf\u00e9: 4
        "We saw naïve owls.",                                         # na\u00efve: 5
        "The " + "a" * 101 + " cat.",                                 # 101 is prime but >= 100
        "The " + "a" * 97 + " cat.",
        "**The** cat ran.",
        "The - cat ran.",                                             # a lone dash disappears
        "The \u2014 cat ran.",                                        # an em dash is a word of 1
        _huge("The cat ran far. "),
    ]


def start_verb(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "Write the answer down.",
        "Consider the following proof.",
        "Imagine a world without friction.",
        "Use the formula below.",
        "Based on the data, yes.",
        "Is it true? Yes.",
        "The answer is yes.",
        "Sure, write it down.",
        "**Write** the answer.",
        "\"Write\" the answer.",
        "123 apples.",
        "Water the plants daily.",
        "Can you see it?",
        "Let's begin.",
        "write the answer down.",
        _huge("Write the answer down. "),
    ]


def repeats(kwargs: dict, prompt: str) -> "list[str]":
    n = int(kwargs["small_n"])
    block = " ".join(_FILLER)
    follows = " ".join([block] * n) if n else ""
    over = (follows + " river").strip()
    return [
        follows or "Ok.",
        over,                                                         # river once too often
        (follows + " River.").strip(),                                # case folds
        (follows + " river,").strip(),                                # punctuation deleted
        " ".join(["cat"] * n + ["Cat!"]),
        " ".join(["don't"] * n + ["dont"]),                           # don't is dont
        "**" + (follows or "Ok") + "**",
        "\u00e9t\u00e9 " * (n + 1),
        "The quick brown fox.",
        _huge(block + " "),
    ]


def odd_even_syllables(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "Cat apple dog water.",                                       # 1 2 1 2
        "Apple cat water dog banana.",                                # 2 1 2 1 3
        "Cat dog apple.",                                             # 1 1
        "Cat, apple! Dog; water?",
        "Cat 42 dog.",                                                # a number has 0 syllables
        "Cat self-care dog.",                                         # hyphen deleted: selfcare
        "Cat \u65e5\u672c dog.",
        "**Cat** apple dog water.",
        "Cat apple\n\ndog water.",
        "Cat",
        _huge("cat apple "),
        _huge("cat apple ") + "dog",
    ]


def last_first(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "I love cats. Cats love fish. Fish swim fast.",
        "I love cats! Cats? Cats love fish.",
        "I love cats. Dogs love fish.",
        "I love cats. cats love fish.",                               # case folds
        "He said \"run.\" Run fast.",                                 # the quote stays on the word
        "Dr. Smith met Ms. Jones. Jones smiled.",
        "One sentence only.",
        "I love cats.\n\nCats love fish.",
        "**I love cats.** Cats love fish.",
        "I love cats... Cats love fish.",
        "I love cats. ... Cats love fish.",                           # a punctuation-only sentence
        _huge("Cats love cats. "),
        _huge("Cats love cats. ") + "Dogs bark.",
    ]


def paragraph_last_first(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "Time flies when you have a good time.\nLove is all you need, love.",
        "Time flies fast.\nLove is love.",
        "Time flies fast time.\n\n\nLove is love.",                  # blank lines are skipped
        "Time, flies, time.",                                         # time, != time
        "- Time flies time\n- Love is love",                          # leading dash stripped
        "Time flies time.\r\nLove is love.\r\n",
        "**Time** flies **time**.",
        "Time",
        "...\nTime flies time.",                                      # a punctuation-only line
        "\u00c9t\u00e9 flies \u00e9t\u00e9.",
        "TIME flies time.",
        _huge("Time flies time.\n"),
    ]


def no_consecutive(kwargs: dict, prompt: str) -> "list[str]":
    return [
        "The cat sat on a mat.",
        "The tiny cat sat.",
        "The Tiny cat.",
        "Big, bold claims.",
        "'tis the night.",                                            # tis the: t t
        "A-apple cat.",                                               # one word: aapple
        "The 1st 2nd cat.",
        "The \u00e9t\u00e9 \u00c9t\u00e9 cat.",
        "**The** cat **sat**.",
        "The cat\nsat on\n\na mat.",
        _huge("the cat "),
        _huge("the cat ") + "cow",
    ]


def _sentences_with(keyword: str, n: int, m: int, shift: int = 0, sentence_shift: int = 0) -> str:
    filler = [f"Filler sentence number {i} is here." for i in range(1, n + sentence_shift)]
    words = [_FILLER[i % len(_FILLER)] for i in range(m - 1 + shift)]
    target = " ".join(words + [keyword, "ends", "here"]) + "."
    return " ".join(filler + [target[0].upper() + target[1:], "A last sentence follows."])


def keywords_specific_position(kwargs: dict, prompt: str) -> "list[str]":
    keyword, n, m = str(kwargs["keyword"]).strip(), int(kwargs["n"]), int(kwargs["m"])
    follows = _sentences_with(keyword, n, m)
    return [
        follows,
        _sentences_with(keyword.upper(), n, m),                       # case folds
        _sentences_with(keyword, n, m, shift=1),                      # one word late
        _sentences_with(keyword, n, m, shift=-1) if m > 1 else "",
        _sentences_with(keyword, n, m, sentence_shift=1),             # one sentence late
        follows.replace(" river ", " river, ", 1),                    # commas are not words
        follows.replace(" river ", " don't ", 1),                     # do + n't: one more token
        follows.replace(keyword, keyword + "s", 1),
        follows.replace(keyword, f"*{keyword}*", 1),
        follows.replace(". ", ".\n\n"),
        " ".join(f"Filler sentence number {i} is here." for i in range(1, n)),
    ]


def words_position(kwargs: dict, prompt: str) -> "list[str]":
    k = str(kwargs["keyword"]).strip()
    return [
        f"I {k} like this {k} ok.",
        f"I {k} like this {k} ok",
        f"I {k.upper()} like this {k.capitalize()} ok.",
        f"I {k} like this ok {k}.",                                   # second to last is ok
        f"I {k} like this {k} ok!!",
        f"I {k} like this {k} ok...",                                 # ... is no single mark
        f"I {k} like this {k} ok?!",
        f"I {k} like this {k} ok .)",
        f"**I** {k} like this {k} ok.",
        f"\"I {k} like this {k} ok.\"",
        f"I {k} {k}",
        f"I {k}.",
        k,
        f"Sure!\nI {k} like this {k} ok.\nHope this helps.",
        _huge("Filler words go here. ") + f"I {k} like this {k} ok.",
    ]


RESPONSES: "dict[str, Callable[[dict, str], list[str]]]" = {
    "words:alphabet": alphabet,
    "words:vowel": vowel,
    "words:consonants": consonants,
    "words:palindrome": palindrome,
    "words:prime_lengths": prime_lengths,
    "words:start_verb": start_verb,
    "words:repeats": repeats,
    "words:odd_even_syllables": odd_even_syllables,
    "words:last_first": last_first,
    "words:paragraph_last_first": paragraph_last_first,
    "words:no_consecutive": no_consecutive,
    "words:keywords_specific_position": keywords_specific_position,
    "words:words_position": words_position,
}

EXTRA_KWARGS: "dict[str, list[dict]]" = {
    "words:repeats": [{"small_n": 0}, {"small_n": 1}, {"small_n": 12}],
    "words:keywords_specific_position": [
        {"keyword": "the", "n": 1, "m": 1}, {"keyword": "Cat", "n": 2, "m": 3},
        {"keyword": "caf\u00e9", "n": 1, "m": 2}, {"keyword": "slowly", "n": 40, "m": 50},
        {"keyword": " padded ", "n": 3, "m": 2},
    ],
    "words:words_position": [
        {"keyword": "a"}, {"keyword": "Vibrant"}, {"keyword": "caf\u00e9"}, {"keyword": " padded "},
        {"keyword": "."},
    ],
}
