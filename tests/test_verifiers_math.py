"""math.equivalent / math.answer_found: extraction, exact and CAS equivalence, bad input."""
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skilldsl.verifiers import get
from skilldsl.verifiers.answers import extract_answer, extract_boxed, parse_number, reference_answer
from skilldsl.verifiers.math import equivalent, equivalent_fast

EQ = get("math.equivalent")
FOUND = get("math.answer_found")

# Two rows of GSM8K (openai/grade-school-math @ 3101c7d50724, test.jsonl and
# example_model_solutions.jsonl), shortened: the reference ends in "#### N", the graded
# solutions end in "A: N".
GSM8K_REFERENCE = (
    "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n"
    "She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer\u2019s market.\n#### 18"
)
GSM8K_WRONG = "She has 13 ducks eggs and she sells 2 each day so she makes 13 * 2 = $<<13*2=26>>26\nA: 26"
GSM8K_RIGHT = "She sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs for 9 * 2 = $<<9*2=18>>18\nA: 18"
JOSH_REFERENCE = "So he made a profit of 200000-130000=$<<200000-130000=70000>>70,000\n#### 70000"


@pytest.mark.parametrize(
    "text, answer, source",
    [
        (r"so $x = \boxed{\frac{1}{2}}$.", r"\frac{1}{2}", "boxed"),
        (r"\boxed{1} first, then \boxed{\{1, \{2\}\}}", r"\{1, \{2\}\}", "boxed"),
        (r"\fbox{7}", "7", "boxed"),
        ("work\n#### 1,000", "1,000", "hashes"),
        ("So the answer is 42.", "42", "phrase"),
        ("**Answer:** 17", "17", "label"),
        ("The final answer is $\\frac{3}{4}$.", "\\frac{3}{4}", "phrase"),
        ("3 apples and 4 pears make 7 fruits", "7", "last_number"),
    ],
)
def test_extracts_the_final_answer(text, answer, source):
    found = extract_answer(text)
    assert found is not None and (found.text, found.source) == (answer, source)


def test_no_answer_and_truncated_box_are_none():
    assert extract_answer("I am not sure how to solve this.") is None
    assert extract_answer(r"the result is 3 so \boxed{\frac{1}{2") is None  # cut off, not "2"
    assert extract_boxed("no box here") is None


@pytest.mark.parametrize(
    "text, value",
    [("1,000", 1000), ("$18.00", 18), ("-3", -3), ("3/4", 0.75), ("50%", 50), ("18 dollars", 18), (".5", 0.5)],
)
def test_parse_number_plain(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["x+1", r"\frac{1}{2}", "1/0", "", "1,2,3", "abc", "3x"])
def test_parse_number_rejects_non_plain(text):
    assert parse_number(text) is None


def test_reference_answer_reads_gsm8k_and_boxed():
    assert reference_answer(GSM8K_REFERENCE) == "18"
    assert reference_answer(r"We get \boxed{\sqrt{2}}.") == r"\sqrt{2}"
    assert reference_answer(" 42 ") == "42"


def test_gsm8k_rows():
    assert EQ.call(GSM8K_RIGHT, GSM8K_REFERENCE).value is True
    assert EQ.call(GSM8K_WRONG, GSM8K_REFERENCE).value is False
    assert EQ.call("He made $70,000 in profit.\nA: 70,000", JOSH_REFERENCE).value is True


@pytest.mark.parametrize(
    "response, reference",
    [
        ("The answer is 12.", "120"),  # no substring match
        (r"\boxed{(0,1)}", "(0,1]"),  # open vs half-open interval
        (r"\boxed{x^2+2x}", "x^2+2x+1"),
        (r"\boxed{\{1,2\}}", r"\{1,2,3\}"),
        ("The answer is -3", "3"),
        (r"\boxed{3x}", "3"),  # an expression, not "3" with a unit
    ],
)
def test_not_equivalent(response, reference):
    verdict = EQ.call(response, reference)
    assert verdict.status == "ok" and verdict.value is False, verdict


@pytest.mark.parametrize(
    "response, reference",
    [
        ("It costs $1,250.50 in total", "1250.5"),
        (r"\boxed{\frac{1}{2}}", "0.5"),
        (r"\boxed{\dfrac{1}{2}}", "1/2"),
        (r"\boxed{50\%}", "0.5"),
        ("The answer is 50%.", "50"),
        (r"\boxed{5\text{ cm}}", "5"),
        (r"\boxed{\{3,2,1\}}", r"\{1,2,3\}"),
        (r"\boxed{[0, 1)}", "[0,1)"),
        (r"\boxed{(x+1)^2}", "x^2+2x+1"),
        (r"\boxed{\frac{\sqrt{2}}{2}}", r"\sqrt{2}/2"),
    ],
)
def test_equivalent(response, reference):
    verdict = EQ.call(response, reference)
    assert verdict.status == "ok" and verdict.value is True, verdict


def test_fast_path_decides_plain_numbers_and_defers_the_rest():
    assert equivalent_fast("#### 1,000", "1000.0").detail["method"] == "exact"
    assert equivalent_fast(r"\boxed{\frac{1}{2}}", "0.5") is None
    assert equivalent_fast(r"\boxed{50\%}", "0.5") is None  # percent semantics: the CAS decides


def test_na_with_reasons():
    assert EQ.call("I cannot solve this.", "5").reason == "no final answer found in the response"
    for bad_reference in (r"\frac{", "%%%"):
        verdict = EQ.call(r"\boxed{2}", bad_reference)
        assert verdict.status == "na" and "cannot be parsed" in verdict.reason
    assert EQ.call("#### 3", "   ").status == "na"


def test_a_stated_answer_the_parser_cannot_read_is_no_match_not_na(monkeypatch):
    # a policy that makes math-verify give up on its answer (a parse that times out returns
    # nothing) must not escape the reference: na would hand the row to the judge
    import math_verify

    real = math_verify.parse
    monkeypatch.setattr(math_verify, "parse", lambda text, **kw: [] if "unreadable" in text else real(text, **kw))
    verdict = equivalent(r"So 42. \boxed{\mathrm{unreadable}}", r"\frac{84}{2}")
    assert verdict.status == "ok" and verdict.value is False and verdict.detail["unparsed"] is True


def test_bad_input_never_raises():
    surrogate = "The answer is \udcff 7"  # what surrogateescape-decoded bytes look like
    assert EQ.call(surrogate, "7").value is True
    assert equivalent(b"#### 7", "7").value is True  # the function is total ...
    assert equivalent(None, "7").status == "na"
    assert equivalent("#### 18", 18).value is True
    for args in ((b"#### 7", "7"), (None, "7"), ("#### 18", 18)):  # ... a registered call checks types
        verdict = EQ.call(*args)
        assert verdict.status == "error" and verdict.reason.startswith("math.equivalent: '"), args


def test_megabyte_response_reads_only_the_tail():
    huge = "word 1 " * 300_000 + "\n#### 42"
    start = time.perf_counter()
    assert EQ.call(huge, "42").value is True
    assert time.perf_counter() - start < 0.5


def test_answer_found():
    assert FOUND.call("#### 5").value is True
    assert FOUND.call("no idea").value is False


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_any_integer_matches_itself_with_commas_and_not_its_neighbour(n):
    with_commas = f"{n:,}"
    assert equivalent_fast(f"The answer is {with_commas}.", f"#### {n}").value is True
    assert equivalent_fast(f"The answer is {with_commas}.", f"#### {n + 1}").value is False


def test_the_last_statement_wins():
    text = "Answer: let me think step by step.\n6 * 7 = 42, so the answer is 42."
    assert extract_answer(text).text == "42"
    assert EQ.call(text, "42").value is True


def test_option_letter_reference_uses_the_chosen_option():
    # LiveBench/AMC-style math in JudgeBench (Qwen-Applications/OpenRS @ 4c7f22b57075): the
    # ground truth is a letter and the response ends by repeating its option five times
    response = "The total probability is 7/22, which matches option (A) 7/22.\n\nTherefore, my answer is AAAAA."
    assert EQ.call(response, "A").detail["method"] == "choice"
    assert EQ.call(response, "A").value is True
    assert EQ.call(response, "B").value is False
    assert EQ.call("I give up.", "B").status == "na"


BALANCED = st.recursive(
    st.text(alphabet="x1+ ^_\\", max_size=5),
    lambda inner: st.builds(lambda a, b: a + "{" + b + "}", inner, inner),
    max_leaves=8,
)


@given(BALANCED)
def test_boxed_extraction_keeps_nested_braces(content):
    assert extract_boxed("we get \\boxed{" + content + "} in the end") == content.strip()
