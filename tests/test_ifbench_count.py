"""IFBench ``count:*`` checkers: each id by hand, strict vs loose, bad kwargs, hostile inputs, DERIVE.

Expected values are worked out by hand from the official checkers (allenai/IFBench
``ifbench/instructions.py`` at commit db69a6f, the class named in each group), not from this code.
Where this code deliberately differs from the official (documented in ``count.py``), the test
says what the official returns and why the verdict here differs.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from skilldsl.verifiers.ifbench import DERIVE, count
from skilldsl.verifiers.ifeval import check

KEYS = {"keyword1": "cat", "keyword2": "dog", "keyword3": "eel", "keyword4": "fox", "keyword5": "gnu"}


def keyword_text(cat: int = 1, dog: int = 2, eel: int = 3, fox: int = 5, gnu: int = 7, spell=str) -> str:
    parts = [spell(k) for k, n in (("cat", cat), ("dog", dog), ("eel", eel), ("fox", fox), ("gnu", gnu))
             for _ in range(n)]
    return " and ".join(parts) + "."


def japanese(*tokens: str) -> str:
    return " ".join(tokens)


# (id, kwargs, response, followed?)
CASES = [
    # WordCountRangeChecker: min <= len(RegexpTokenizer(r"\w+")) <= max
    ("count:word_count_range", {"min_words": 3, "max_words": 5}, "one two three", True),
    ("count:word_count_range", {"min_words": 3, "max_words": 5}, "one two three four five", True),
    ("count:word_count_range", {"min_words": 3, "max_words": 5}, "one two", False),
    ("count:word_count_range", {"min_words": 3, "max_words": 5}, "a b c d e f", False),
    ("count:word_count_range", {"min_words": 3, "max_words": 3}, "don't stop", True),  # don, t, stop
    ("count:word_count_range", {"min_words": 3, "max_words": 3}, "a . . . . . b", False),  # 2 words
    ("count:word_count_range", {"min_words": 2, "max_words": 2}, "caf\u00e9 na\u00efve", True),
    # UniqueWordCountChecker: distinct lower(split()) tokens stripped of string.punctuation
    ("count:unique_word_count", {"N": 3}, "cat dog bird", True),
    ("count:unique_word_count", {"N": 3}, "Cat cat CAT, dog.", False),  # {cat, dog}
    ("count:unique_word_count", {"N": 3}, "cat, dog; bird!", True),
    ("count:unique_word_count", {"N": 1}, "\u2014", True),  # an em dash is not ASCII punctuation
    # ConjunctionCountChecker: and but for nor or so yet among split() tokens stripped of punctuation
    ("count:conjunctions", {"small_n": 2}, "bread and butter but no jam", True),
    ("count:conjunctions", {"small_n": 2}, "bread, AND butter; (but) jam", True),
    ("count:conjunctions", {"small_n": 1}, "band ore forest sofa yeti", False),
    ("count:conjunctions", {"small_n": 1}, "cats and/or dogs", False),  # "and/or" is no conjunction
    ("count:conjunctions", {"small_n": 7}, "and but for nor or so yet", True),
    # PersonNameCountChecker: \bName\b over the 50 listed names, case-sensitive
    ("count:person_names", {"N": 2}, "Emma met Liam.", True),
    ("count:person_names", {"N": 2}, "Emma met Emma.", False),
    ("count:person_names", {"N": 2}, "Emma's friend Liam", True),
    ("count:person_names", {"N": 2}, "Emmanuel and Liam", False),
    ("count:person_names", {"N": 2}, "emma and liam", False),
    ("count:person_names", {"N": 2}, "_Emma and Liam", False),  # "_" is a word character
    ("count:person_names", {"N": 2}, "Emma-Liam", True),
    # NumbersCountChecker: \d+ runs once string.punctuation is deleted
    ("count:numbers", {"N": 2}, "I have 3 cats and 4 dogs.", True),
    ("count:numbers", {"N": 2}, "Pi is 3.14 and e is 2.71.", True),
    ("count:numbers", {"N": 2}, "1,000 and 5 and 7", False),  # three numbers
    ("count:numbers", {"N": 1}, "pages 2-3", True),  # "23"
    ("count:numbers", {"N": 2}, "two and three", False),
    ("count:numbers", {"N": 2}, "\u0663 and 4", True),  # Arabic-Indic three is a digit
    ("count:numbers", {"N": 0}, "no digits here", True),
    # PunctuationCoverChecker: an interrobang, then . , ! ? ; : with one ?! (else !?) taken out
    ("count:punctuation", {}, "Hi, a; b: c. Really?! Yes! Why?", True),
    ("count:punctuation", {}, "Hi, a; b: c. Really?!", False),  # no ! or ? left
    ("count:punctuation", {}, "Hi, a; b: c. Really!? Yes! Why?", True),
    ("count:punctuation", {}, "Hi, a; b: c. Really\u203d Yes! Why?", True),
    ("count:punctuation", {}, "Hi a; b: c. Really?! Yes! Why?", False),  # no comma
    ("count:punctuation", {}, "Hi, a; b: c. Yes! Why?", False),  # no interrobang
    ("count:punctuation", {}, "?!?!,;:.", True),
    # NthWordJapaneseChecker: every N-th split() token, stripped, not empty or digits, has a kana/kanji
    ("count:words_japanese", {"N": 2}, japanese("one", "\u732b", "two", "\u72ac"), True),
    ("count:words_japanese", {"N": 2}, japanese("one", "\u732b", "two", "dog"), False),
    ("count:words_japanese", {"N": 2}, japanese("one", "2024", "two", "\u72ac"), True),
    ("count:words_japanese", {"N": 2}, japanese("one", "...", "two", "\u72ac"), True),
    ("count:words_japanese", {"N": 2}, japanese("one", "\u732b!", "two", "\u30ab\u30e1\u30e9"), True),
    ("count:words_japanese", {"N": 2}, japanese("one", "\uac00\ub098"), False),  # Korean
    ("count:words_japanese", {"N": 5}, "one two three", True),  # no 5th word: vacuous, as the official
    ("count:words_japanese", {"N": 1}, "\u732b \u72ac x", False),
    # PronounCountChecker: nltk word_tokenize of the lowercased text, "/" as a space
    ("count:pronouns", {"N": 3}, "She said they know it.", True),
    ("count:pronouns", {"N": 3}, "Pronouns: she/her/hers", True),
    ("count:pronouns", {"N": 2}, "It's late.", False),  # it, 's
    ("count:pronouns", {"N": 3}, "IT IT IT", True),
    ("count:pronouns", {"N": 1}, "shes theirself thou", False),
    # KeywordsMultipleChecker: lower().count(keyword) == 1, 2, 3, 5, 7
    ("count:keywords_multiple", KEYS, keyword_text(), True),
    ("count:keywords_multiple", KEYS, keyword_text(spell=str.upper), True),
    ("count:keywords_multiple", KEYS, keyword_text(gnu=8), False),
    ("count:keywords_multiple", KEYS, keyword_text(cat=0), False),
    ("count:keywords_multiple", KEYS, keyword_text() + " cats", False),  # a substring counts
    ("count:keywords_multiple", {**KEYS, "keyword1": "  cat "}, keyword_text(), True),  # stripped
]


@pytest.mark.parametrize("iid, kwargs, response, followed", CASES)
def test_official_semantics(iid, kwargs, response, followed):
    verdict = check(response, iid, kwargs)
    assert verdict.status == "ok", verdict.reason
    assert verdict.value is followed


def test_loose_drops_a_preamble_line():
    kwargs = {"min_words": 3, "max_words": 3}
    response = "Here you go:\none two three"  # 6 words; 3 without the first line
    assert check(response, "count:word_count_range", kwargs, mode="strict").value is False
    assert check(response, "count:word_count_range", kwargs, mode="loose").value is True


def test_empty_response_follows_nothing():
    # the official evaluation checks only responses that are not blank
    assert check("   ", "count:words_japanese", {"N": 3}).value is False
    assert check("", "count:numbers", {"N": 0}).value is False


# --- deliberate differences (count.py docstring) ---


def test_one_conjunction_spelled_three_ways_is_one_conjunction():
    # the official sets the raw tokens: "and", "And", "and," are 3 "different conjunctions"
    attack = "river and stone And lantern and, meadow"
    assert check(attack, "count:conjunctions", {"small_n": 3}).value is False
    assert check(attack, "count:conjunctions", {"small_n": 1}).value is True


def test_punctuation_tokens_are_no_unique_words():
    # the official counts every punctuation-only token as one word: ""
    attack = "cat dog - * ..."
    assert check(attack, "count:unique_word_count", {"N": 3}).value is False
    assert check(attack, "count:unique_word_count", {"N": 2}).value is True


# --- kwargs ---


@pytest.mark.parametrize("iid, kwargs, named", [
    ("count:word_count_range", {"min_words": 3}, "max_words"),
    ("count:word_count_range", {"min_words": "three", "max_words": 5}, "min_words"),
    ("count:unique_word_count", {"N": -1}, "N"),
    ("count:unique_word_count", {"N": 2.5}, "N"),
    ("count:conjunctions", {"small_n": True}, "small_n"),
    ("count:conjunctions", {"N": 2}, "N"),  # unknown argument
    ("count:person_names", {"N": [3]}, "N"),
    ("count:numbers", {"N": "2"}, "N"),
    ("count:punctuation", {"N": 1}, "N"),
    ("count:words_japanese", {"N": 0}, "N"),  # the official divides by zero
    ("count:pronouns", {"N": float("nan")}, "N"),
    ("count:keywords_multiple", {**KEYS, "keyword3": "  "}, "keyword3"),
    ("count:keywords_multiple", {**KEYS, "keyword5": 7}, "keyword5"),
    ("count:keywords_multiple", {k: v for k, v in KEYS.items() if k != "keyword2"}, "keyword2"),
])
def test_bad_kwargs_are_errors_naming_the_argument(iid, kwargs, named):
    verdict = check("some response 1 2", iid, kwargs)
    assert verdict.status == "error"
    assert repr(named) in verdict.reason


def test_no_kwargs_are_read_from_the_prompt_wording():
    # RewardBench 2's Precise IF rows carry the id and the prompt only
    prompt = "Is hardship good for a society? Include exactly 2 numbers in the response."
    verdict = check("In 2020, 3 of us agreed.", "count:numbers", None, prompt)
    assert verdict.status == "ok" and verdict.value is True
    assert verdict.detail["kwargs_derived"] == {"N": 2}
    assert check("In 2020, 3 or 4 of us agreed.", "count:numbers", {}, prompt).value is False


def test_no_kwargs_and_no_wording_is_na_saying_why():
    verdict = check("In 2020, 3 of us agreed.", "count:numbers", None, "Write about numbers.")
    assert verdict.status == "na"
    assert "Include exactly N numbers" in verdict.reason


def test_null_kwargs_are_unused_as_in_the_data():
    assert check("a b c", "count:unique_word_count", {"N": 3.0, "small_n": None}).value is True


# --- hostile inputs: total and unfooled ---


@pytest.mark.parametrize("iid, kwargs", [
    ("count:word_count_range", {"min_words": 1, "max_words": 10**6}),
    ("count:unique_word_count", {"N": 1}), ("count:conjunctions", {"small_n": 1}),
    ("count:person_names", {"N": 1}), ("count:numbers", {"N": 1}), ("count:punctuation", {}),
    ("count:words_japanese", {"N": 3}), ("count:keywords_multiple", KEYS),
])
@pytest.mark.parametrize("response", [
    "\x00\ud800\U0010ffff", "\u200b" * 50, "?!" * 10_000, "a" * 200_000, ". " * 50_000, "\u732b" * 10_000,
])
def test_total_on_strange_text(iid, kwargs, response):
    assert check(response, iid, kwargs, mode="loose").status == "ok"


def test_names_from_the_prompt_list_need_the_exact_names():
    # writing the names in lower case or glued to other words does not count
    assert check(" ".join(n.lower() for n in count.PERSON_NAMES), "count:person_names", {"N": 1}).value is False
    assert check("".join(count.PERSON_NAMES), "count:person_names", {"N": 1}).value is False
    assert check(", ".join(count.PERSON_NAMES), "count:person_names", {"N": 50}).value is True


# --- DERIVE: the official _description_pattern filled in, as IFBench's prompts say it ---

PATTERNS = {  # allenai/IFBench instructions.py, db69a6f
    "count:word_count_range": ("The response must contain between {min_words} and {max_words} words.",
                               {"min_words": 71, "max_words": 73}),
    "count:unique_word_count": ("Use at least {N} unique words in the response.", {"N": 36}),
    "count:conjunctions": ("Use at least {small_n} different coordinating conjunctions in the response.",
                           {"small_n": 5}),
    "count:person_names": ("Mention at least {N} different person names in the response, from this list "
                           "of person names: Emma, Liam, Sophia, Jackson .", {"N": 18}),
    "count:numbers": ("Include exactly {N} numbers in the response.", {"N": 13}),
    "count:words_japanese": ("Every {N}th word of your response must be in Japanese.", {"N": 29}),
    "count:pronouns": ("The response should include at least {N} pronouns.", {"N": 39}),
    "count:keywords_multiple": (
        "Include keyword {keyword1} once in your response, keyword {keyword2} twice in your response, keyword "
        "{keyword3} three times in your response, keyword {keyword4} five times in your response, and keyword "
        "{keyword5} seven times in your response.",
        {"keyword1": "kaleidoscope", "keyword2": "nebula", "keyword3": "whisper", "keyword4": "labyrinth",
         "keyword5": "paradox"}),
}


@pytest.mark.parametrize("iid", sorted(PATTERNS))
def test_derive_reads_the_official_wording(iid):
    pattern, kwargs = PATTERNS[iid]
    prompt = "Tell me about rivers. " + pattern.format(**kwargs) + " Thanks."
    assert DERIVE[iid](prompt) == kwargs


def test_derive_covers_every_count_id():
    assert set(DERIVE) >= set(count.INSTRUCTIONS)
    assert DERIVE["count:punctuation"]("anything") == {}


@pytest.mark.parametrize("prompt, n", [
    ("Use at least 4.0 different coordinating conjunctions in the response.", 4),  # as in IFBench's data
    ("use AT LEAST 3 different coordinating conjunctions", 3),
])
def test_derive_number_spellings(prompt, n):
    assert DERIVE["count:conjunctions"](prompt) == {"small_n": n}


@pytest.mark.parametrize("wording, n", [
    # the official's ordinal wording drops "word" for 1st, 2nd, 3rd (its pattern's bug)
    ("Every 21st of your response must be in Japanese.", 21),
    ("Every 2nd of your response must be in Japanese.", 2),
    ("Every 5th word of your response must be in Japanese.", 5),
])
def test_derive_japanese_ordinals(wording, n):
    assert DERIVE["count:words_japanese"](wording) == {"N": n}


def test_derive_keywords_with_spaces():
    prompt = PATTERNS["count:keywords_multiple"][0].format(
        keyword1="New York", keyword2="C++", keyword3="caf\u00e9", keyword4="x", keyword5="y z")
    assert DERIVE["count:keywords_multiple"](prompt)["keyword1"] == "New York"


@pytest.mark.parametrize("iid, prompt", [
    ("count:numbers", "Write a poem about numbers."),
    ("count:numbers", "Include exactly 2 numbers. Include exactly 3 numbers."),  # contradictory
    ("count:pronouns", "The response should include at least many pronouns."),
])
def test_derive_refuses_what_the_wording_does_not_say(iid, prompt):
    with pytest.raises(ValueError, match="wording"):
        DERIVE[iid](prompt)


IFBENCH_DATA = Path("/work/shared/bench/ifbench/IFBench_test.jsonl")  # CI has it; users need not


def test_derive_equals_the_data_kwargs_on_every_ifbench_prompt():
    if not IFBENCH_DATA.exists():
        pytest.skip("IFBench data not present")
    checked = 0
    for line in IFBENCH_DATA.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        for iid, kwargs in zip(row["instruction_id_list"], row["kwargs"]):
            if iid.split(":")[0] not in ("count", "ratio"):
                continue
            given = {k: v for k, v in kwargs.items() if v is not None}
            derived = DERIVE[iid](row["prompt"])
            if iid == "ratio:overlap":  # the data keeps line breaks the prompt lost; see ratio.py
                assert derived["percentage"] == given["percentage"]
                assert " ".join(given["reference_text"].split()) in " ".join(derived["reference_text"].split())
            else:
                assert derived == given, (iid, row["key"])
            checked += 1
    assert checked == 109


def test_person_names_are_the_list_every_ifbench_prompt_gives():
    # the checker's copy of the instruction's list, against the official wording in the data
    if not IFBENCH_DATA.exists():
        pytest.skip("IFBench data not present")
    listed = set()
    for line in IFBENCH_DATA.read_text(encoding="utf-8").splitlines():
        found = re.search(r"from this list of person names: ([^.]+?)\s*\.", json.loads(line)["prompt"])
        if found:
            listed.add(tuple(name.strip() for name in found.group(1).split(",")))
    assert listed == {count.PERSON_NAMES}
