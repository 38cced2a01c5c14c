"""ref.match and ref.choice: word boundaries, normalisation, option-letter extraction."""
import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skilldsl.verifiers import get
from skilldsl.verifiers.reference import canonical_number, extract_choice, normalize

MATCH = get("ref.match")
CHOICE = get("ref.choice")


@pytest.mark.parametrize(
    "response, reference, mode, expected",
    [
        ("The answer is 120", "12", "word", False),  # no substring false positive
        ("The answer is 12.", "12", "word", True),
        ("It was just fine", "J", "word", False),
        ("The capital is Paris.", "paris", "word", True),
        ("the length is 3.5 meters which is long", "3.50", "word", True),
        ("The answer is 3.", "3.5", "word", False),
        ("The answer is 3.5", "3", "word", False),
        ("Paris", "paris", "normalized", True),
        ("The Eiffel Tower!", "eiffel tower", "normalized", True),
        ("Eiffel", "eiffel tower", "normalized", False),
        ("1,000", "1000", "normalized", True),
        ("3/4", "0.75", "normalized", True),
        ("Café", "cafe", "normalized", False),  # accents are letters, not noise
        ("Paris ", "Paris", "exact", True),
        ("paris", "Paris", "exact", False),
        ("Reasoning... so the final answer is: Lyon.", "Lyon", "exact", True),
    ],
)
def test_match_modes(response, reference, mode, expected):
    verdict = MATCH.call(response, reference, mode=mode)
    assert verdict.status == "ok" and verdict.value is expected, verdict


def test_match_uses_the_final_answer_not_the_whole_reasoning():
    response = "Paris is a tempting guess, but the answer is Lyon."
    assert MATCH.call(response, "Lyon").value is True
    assert MATCH.call(response, "Paris").value is False


def test_match_bad_arguments():
    assert MATCH.call("x", "x", mode="fuzzy").status == "error"
    assert MATCH.call("x", "  ").status == "na"
    assert MATCH.call("the answer is \udcff 7", "7").value is True  # surrogates do not crash


def test_word_mode_searches_a_megabyte_response():
    response = "lorem ipsum " * 100_000 + "the word is Paris and more " + "x " * 1000
    assert MATCH.call(response, "Paris", mode="word").value is True
    assert MATCH.call(response, "Pari", mode="word").value is False


def test_normalize_and_canonical_numbers():
    assert normalize("The length is 3.50 meters, or 1,000.0 mm.") == "length is 3.5 meters or 1000 mm"
    assert canonical_number(Fraction(1, 3)) == "1/3"
    assert canonical_number(Fraction(-7, 2)) == "-3.5"


@pytest.mark.parametrize(
    "response, letter",
    [
        ("The answer is (C)", "C"),
        ("**Answer: C**", "C"),
        ("C) Paris is the capital", "C"),
        ("(B)", "B"),
        ("B.", "B"),
        ("A", "A"),
        ("Answer: (c)", "C"),
        ("The answer is: **J**", "J"),
        (r"\boxed{D}", "D"),
        (r"\boxed{\text{(E)}}", "E"),
        ("Option A is wrong. Option B is also wrong. The correct answer is D.", "D"),
        # JudgeBench/MMLU-Pro ask to repeat the letter five times
        ("... so it must be (C).\n\nCCCCC", "C"),
    ],
)
def test_extract_choice(response, letter):
    assert extract_choice(response) == letter


@pytest.mark.parametrize(
    "response",
    [
        "the answer is a dog",  # lower-case article, not option (a)
        "I think it's just fine",
        "I'd pick (A) over (B)",  # two bare options: ambiguous
        "",
    ],
)
def test_extract_choice_none(response):
    assert extract_choice(response) is None


def test_choice_verdicts():
    assert CHOICE.call("The answer is (C)", "C").value is True
    assert CHOICE.call("The answer is (C)", "(b)").value is False
    assert CHOICE.call("no idea", "C").status == "na"
    assert CHOICE.call("The answer is (C)", "Paris").status == "na"


@given(st.sampled_from("ABCDEFGHIJ"), st.sampled_from(["The answer is ({})", "Answer: {}", "**Answer: {}**", "{}) because"]))
def test_choice_templates_round_trip(letter, template):
    assert extract_choice(template.format(letter)) == letter


def test_the_last_stated_choice_wins():
    response = "Option (E) looks tempting at first.\n\nTherefore, my answer is:\n\nAAAAA"
    assert extract_choice(response) == "A"


JUDGEBENCH = Path(__file__).resolve().parents[2] / "shared" / "bench" / "judgebench" / "openrs_judgebench_claude.jsonl"


@pytest.mark.skipif(not JUDGEBENCH.exists(), reason="optional cross-check: ../shared/bench not present")
def test_cross_check_judgebench_mmlu_pro():
    """Chosen responses should mostly pick the ground-truth letter, rejected ones mostly not."""
    rows = [json.loads(line) for line in JUDGEBENCH.read_text(encoding="utf-8").splitlines()]
    mmlu = [r for r in rows if r["query_type"].startswith("mmlu")]
    found = sum(extract_choice(r["chosen"]) is not None and extract_choice(r["rejected"]) is not None for r in mmlu)
    chosen_right = sum(CHOICE.call(r["chosen"], r["ground_truth"]).value is True for r in mmlu)
    assert found == len(mmlu)  # every response states a letter
    assert chosen_right / len(mmlu) > 0.9
