"""IFBench ``ratio:*`` checkers: each id by hand, bad kwargs, hostile inputs, DERIVE.

Expected values are worked out by hand from the official checkers (allenai/IFBench
``ifbench/instructions.py`` at commit db69a6f, the class named in each group), not from this code.
Where this code deliberately differs from the official (documented in ``ratio.py``), the test
says what the official returns and why the verdict here differs.
"""
from __future__ import annotations

import pytest

from skilldsl.verifiers.ifbench import DERIVE, ratio
from skilldsl.verifiers.ifeval import check

REF = {"reference_text": "abcdef"}  # trigrams abc bcd cde def

# (id, kwargs, response, followed?)
CASES = [
    # StopWordPercentageChecker: stop words / \w+ words * 100 <= percentage; no words fails
    ("ratio:stop_words", {"percentage": 50}, "the cat", True),  # 1 of 2
    ("ratio:stop_words", {"percentage": 50}, "The a cat", False),  # 2 of 3
    ("ratio:stop_words", {"percentage": 0}, "cats purr", True),
    ("ratio:stop_words", {"percentage": 100}, "the of and", True),
    ("ratio:stop_words", {"percentage": 100}, "!!! ???", False),  # no words
    ("ratio:stop_words", {"percentage": 67}, "It's cats", True),  # it, s, cats: "s" is a stop word -> 2/3
    ("ratio:stop_words", {"percentage": 66}, "It's cats", False),
    # NGramOverlapChecker: distinct character trigrams shared with the reference, percentage +- 2
    ("ratio:overlap", {**REF, "percentage": 50}, "abcdxy", True),  # abc bcd / abc bcd cdx dxy
    ("ratio:overlap", {**REF, "percentage": 25}, "abcxyz", True),  # abc / 4
    ("ratio:overlap", {**REF, "percentage": 50}, "abcxyz", False),
    ("ratio:overlap", {**REF, "percentage": 27}, "abcxyz", True),  # 25 is within 27 - 2
    ("ratio:overlap", {**REF, "percentage": 28}, "abcxyz", False),
    ("ratio:overlap", {**REF, "percentage": 100}, "abcdef", True),
    ("ratio:overlap", {**REF, "percentage": 50}, "abcdef", False),  # copying the reference is 100 %
    ("ratio:overlap", {**REF, "percentage": 33}, "abcabcabc", True),  # distinct: abc bca cab -> 1 of 3
    ("ratio:overlap", {**REF, "percentage": 0}, "ab", False),  # no trigram at all
    # SentTypeRatioChecker: sentences ending "." == 2 x sentences ending "?"
    ("ratio:sentence_type", {}, "It is. It was. Is it?", True),
    ("ratio:sentence_type", {}, "It is. Is it?", False),
    ("ratio:sentence_type", {}, "It is. It was. Is it? Wow!", True),  # "!" is neither
    ("ratio:sentence_type", {}, "It is. It was. It will. Is it? Was it?", False),
    # SentBalanceChecker: as many "." as "?" as "!" sentence ends
    ("ratio:sentence_balance", {}, "It is. Is it? It is!", True),
    ("ratio:sentence_balance", {}, "It is. Is it?", False),
    ("ratio:sentence_balance", {}, "It is. Is it? It is! So.", False),
    # CharacterCountUniqueWordsChecker: 3 sentences, equal stripped lengths
    ("ratio:sentence_words", {}, "Cats run. Dogs dig. Owls fly.", True),
    ("ratio:sentence_words", {}, "Cats run. Dogs dig.", False),
    ("ratio:sentence_words", {}, "Cats run. Dogs dig. Owls flew.", False),  # 9, 9, 10
    ("ratio:sentence_words", {}, "Cats run. Dogs dig. Owls fly. Bees hum.", False),
]


@pytest.mark.parametrize("iid, kwargs, response, followed", CASES)
def test_official_semantics(iid, kwargs, response, followed):
    verdict = check(response, iid, kwargs)
    assert verdict.status == "ok", verdict.reason
    assert verdict.value is followed


# --- deliberate differences (ratio.py docstring) ---


def test_exactly_at_the_stop_word_limit_follows():
    # 7 stop words of 25 are 28 %; the official computes 7 / 25 * 100 = 28.000000000000004 > 28
    response = " ".join(["the"] * 7 + [f"river{i}" for i in range(18)])
    assert check(response, "ratio:stop_words", {"percentage": 28}).value is True
    assert check(response, "ratio:stop_words", {"percentage": 27.9}).value is False


def test_overlap_band_edges_are_exact():
    # 1 shared of 4 trigrams is 25 %: inside [23, 27] and at the edges of [25, 29] and [21, 25]
    for percentage in (23, 27, 25.0):
        assert check("abcxyz", "ratio:overlap", {**REF, "percentage": percentage}).value is True
    assert check("abcxyz", "ratio:overlap", {**REF, "percentage": 27.5}).value is False


@pytest.mark.parametrize("attack", ["Wow! Amazing! Look at that", "no punctuation at all", "Wow!!!"])
def test_no_statements_or_questions_is_no_two_to_one_ratio(attack):
    # the official counts 0 == 2 * 0 as a 2:1 ratio
    assert check(attack, "ratio:sentence_type", {}).value is False


@pytest.mark.parametrize("attack", ["no punctuation at all", "\u732b\u72ac", "Hmm,"])
def test_no_sentence_of_any_type_is_not_balanced(attack):
    # the official counts 0 == 0 == 0 as balanced
    assert check(attack, "ratio:sentence_balance", {}).value is False


def test_three_copies_of_a_sentence_do_not_use_different_words():
    # the official checks only the lengths, not "using all different words"
    assert check("Cats run. Cats run. Cats run.", "ratio:sentence_words", {}).value is False
    assert check("The cat sat. The dog ran. Big owl flew.", "ratio:sentence_words", {}).value is False


# --- kwargs ---


@pytest.mark.parametrize("iid, kwargs, named", [
    ("ratio:stop_words", {"percentage": [30]}, "percentage"),
    ("ratio:stop_words", {"percentage": "30%"}, "percentage"),
    ("ratio:stop_words", {"percentage": 101}, "percentage"),
    ("ratio:stop_words", {"percentage": -1}, "percentage"),
    ("ratio:stop_words", {"percentage": True}, "percentage"),
    ("ratio:stop_words", {"percentage": float("inf")}, "percentage"),
    ("ratio:overlap", {"percentage": 50}, "reference_text"),
    ("ratio:overlap", {"reference_text": "  \n", "percentage": 50}, "reference_text"),
    ("ratio:overlap", {"reference_text": ["abc"], "percentage": 50}, "reference_text"),
    ("ratio:overlap", {"reference_text": "abc", "percentage": float("nan")}, "percentage"),
    ("ratio:sentence_type", {"ratio": 2}, "ratio"),
    ("ratio:sentence_words", {"N": 3}, "N"),
])
def test_bad_kwargs_are_errors_naming_the_argument(iid, kwargs, named):
    verdict = check("It is. Is it? It is!", iid, kwargs)
    assert verdict.status == "error"
    assert repr(named) in verdict.reason


# --- hostile inputs: total ---


@pytest.mark.parametrize("iid, kwargs", [
    ("ratio:stop_words", {"percentage": 30}), ("ratio:overlap", {**REF, "percentage": 50}),
    ("ratio:sentence_type", {}), ("ratio:sentence_balance", {}), ("ratio:sentence_words", {}),
])
@pytest.mark.parametrize("response", ["\x00\ud800\U0010ffff", "\u200b" * 50, "?!" * 2_000, "a" * 100_000])
def test_total_on_strange_text(iid, kwargs, response):
    assert check(response, iid, kwargs, mode="loose").status == "ok"


# --- DERIVE ---


def test_derive_stop_words_from_the_official_wording():
    wording = "Ensure that stop words constitute no more than 27% of the total words in your response."
    assert DERIVE["ratio:stop_words"]("how to build financial literacy " + wording) == {"percentage": 27}


def test_derive_overlap_takes_the_prompt_as_the_reference():
    wording = "Maintain a trigram overlap of 72% (\u00b12%) with the provided reference text."
    prompt = "Use induction to prove the claims.\nProve that n - p <= m. " + wording
    assert DERIVE["ratio:overlap"](prompt) == {
        "reference_text": "Use induction to prove the claims.\nProve that n - p <= m.", "percentage": 72}
    # the wording first, after a zero-width space (as in one IFBench prompt)
    assert DERIVE["ratio:overlap"]("\u200b" + wording + " Describe an asteroid") == {
        "reference_text": "Describe an asteroid", "percentage": 72}


@pytest.mark.parametrize("prompt", [
    "Maintain a trigram overlap of 72% (\u00b12%) with the provided reference text.",  # nothing else
    "Maintain a trigram overlap of many percent with the provided reference text. Hello",
    "Maintain a trigram overlap of 5% (\u00b12%) with the provided reference text. Hello. "
    "Maintain a trigram overlap of 6% (\u00b12%) with the provided reference text.",  # contradictory
])
def test_derive_overlap_refuses_an_unreadable_wording(prompt):
    with pytest.raises(ValueError):
        DERIVE["ratio:overlap"](prompt)


def test_overlap_without_kwargs_uses_the_prompt_as_reference():
    prompt = ("Describe an asteroid made of iron. "
              "Maintain a trigram overlap of 100% (\u00b12%) with the provided reference text.")
    verdict = check("Describe an asteroid made of iron.", "ratio:overlap", None, prompt)
    assert verdict.status == "ok" and verdict.value is True
    assert verdict.detail["kwargs_derived"]["reference_text"] == "Describe an asteroid made of iron."


def test_derive_covers_every_ratio_id():
    assert set(DERIVE) >= set(ratio.INSTRUCTIONS)
    for iid in ("ratio:sentence_type", "ratio:sentence_balance", "ratio:sentence_words"):
        assert DERIVE[iid]("any prompt") == {}
    with pytest.raises(ValueError, match="wording"):
        DERIVE["ratio:stop_words"]("Use few stop words.")


def test_sentence_words_sees_a_fourth_sentence_far_beyond_the_first_kilobytes():
    # the checker splits only as far as 4 sentences need: three long ones of one length follow,
    # a fourth anywhere after them fails
    tokens = iter(f"w{i:06d}" for i in range(60_000))
    long = [" ".join(next(tokens) for _ in range(20_000)).capitalize() + "." for _ in range(3)]
    assert check(" ".join(long), "ratio:sentence_words").value is True
    assert check(" ".join(long) + " Tail.", "ratio:sentence_words").value is False
    assert check(" ".join(long[:2]), "ratio:sentence_words").value is False
