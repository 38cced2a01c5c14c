"""IFBench ``repeat:*`` verifiers: pass/fail cases, bad kwargs, hostile responses, DERIVE.

Expected values are worked out by hand from the official checkers (allenai/IFBench
``ifbench/instructions.py`` at db69a6f: ``RepeatChangeChecker``, ``RepeatSimpleChecker``,
``RepeatSpanChecker``), not from this code; "deliberate" marks the documented differences.
"""
from __future__ import annotations

import pytest

from skilldsl.verifiers.ifbench import DERIVE, INSTRUCTIONS
from skilldsl.verifiers.ifbench.repeat import OFFICIAL_LENIENCY
from skilldsl.verifiers.ifeval import check

REQUEST = "Write a poem about cats."
CHANGE = {"prompt_to_repeat": REQUEST}
SIMPLE = "Only output this sentence here, ignore all other requests."
# IFBench_test.jsonl key 284 (its kwargs; the indices count characters: [3:7] is "lain")
SPAN_REQUEST = "explain the context, code and theory behind the paper Identifying Candidate Spaces for Advert Implantation."
SPAN = {"prompt_to_repeat": SPAN_REQUEST, "n_start": 3, "n_end": 6}

CASES = [
    ("repeat:repeat_change", CHANGE, "Compose a poem about cats.", True),
    ("repeat:repeat_change", CHANGE, "Compose  a poem\nabout cats.", True),  # words, not spacing
    ("repeat:repeat_change", CHANGE, "Compose a poem about dogs.", False),
    ("repeat:repeat_change", CHANGE, "Compose a poem about cats. Here it is: ...", False),
    ("repeat:repeat_change", CHANGE, "Sure! Compose a poem about cats.", False),
    ("repeat:repeat_change", CHANGE, REQUEST, False),
    ("repeat:repeat_change", CHANGE, REQUEST + "\n", False),  # deliberate: the official passes it
    ("repeat:repeat_change", CHANGE, "write a poem about cats.", False),  # deliberate: same word
    ("repeat:repeat_simple", {}, SIMPLE, True),
    ("repeat:repeat_simple", {}, "  " + SIMPLE.upper() + "\n", True),
    ("repeat:repeat_simple", {}, SIMPLE + " Done.", False),
    ("repeat:repeat_simple", {}, f'"{SIMPLE}"', False),
    ("repeat:repeat_simple", {}, SIMPLE.rstrip("."), False),
    ("repeat:repeat_span", SPAN, "lain", True),
    ("repeat:repeat_span", SPAN, " LAIN\n", True),
    ("repeat:repeat_span", SPAN, "lai", False),
    ("repeat:repeat_span", SPAN, "code and theory behind", False),  # the words the prompt names
    ("repeat:repeat_span", {"prompt_to_repeat": "ab  cd", "n_start": 1, "n_end": 3}, "b", True),
]


@pytest.mark.parametrize("iid, kwargs, response, expected", CASES)
def test_strict(iid, kwargs, response, expected):
    verdict = check(response, iid, kwargs, mode="strict")
    assert verdict.is_ok and verdict.value is expected, verdict


def test_every_repeat_id_has_cases():
    ids = {iid for iid in INSTRUCTIONS if iid.startswith("repeat:")}
    assert ids == {"repeat:repeat_change", "repeat:repeat_simple", "repeat:repeat_span"}
    for iid in ids:
        assert {case[3] for case in CASES if case[0] == iid} == {True, False}, iid


def test_loose_drops_a_preamble_line():
    assert check("Sure, here:\n" + SIMPLE, "repeat:repeat_simple", {}, mode="loose").value is True
    assert check("Sure, here:\nlain", "repeat:repeat_span", SPAN, mode="loose").value is True


@pytest.mark.parametrize("iid, kwargs, named", [
    ("repeat:repeat_change", {"prompt_to_repeat": " "}, "prompt_to_repeat"),
    ("repeat:repeat_span", {"prompt_to_repeat": REQUEST, "n_start": 0}, "n_end"),
    ("repeat:repeat_span", {"prompt_to_repeat": REQUEST, "n_start": "3", "n_end": 6}, "n_start"),
    ("repeat:repeat_span", {"prompt_to_repeat": REQUEST, "n_start": -1, "n_end": 6}, "n_start"),
    ("repeat:repeat_span", {"prompt_to_repeat": REQUEST, "n_start": 2.5, "n_end": 6}, "n_start"),
    ("repeat:repeat_span", {"prompt_to_repeat": REQUEST, "n_start": 90, "n_end": 95}, "n_start"),
    ("repeat:repeat_span", {"prompt_to_repeat": REQUEST, "n_start": 6, "n_end": 3}, "n_end"),
    ("repeat:repeat_span", {"prompt_to_repeat": "ab  cd", "n_start": 2, "n_end": 3}, "n_start"),
    ("repeat:repeat_simple", {"prompt_to_repeat": REQUEST}, "prompt_to_repeat"),
])
def test_bad_kwargs_are_errors_naming_the_argument(iid, kwargs, named):
    verdict = check("anything", iid, kwargs)
    assert verdict.is_error and repr(named) in verdict.reason, verdict


def test_without_kwargs_the_request_is_read_from_the_wording_not_the_whole_prompt():
    changed = "Create a python program to implement a simple JPEG compression algorithm without any errors."
    verdict = check(changed, "repeat:repeat_change", {}, prompt=KEY_60)
    assert verdict.is_ok and verdict.value is True
    assert verdict.detail["kwargs_derived"] == {"prompt_to_repeat": changed.replace("Create", "Write")}
    unread = check(REQUEST, "repeat:repeat_change", {}, prompt="Compose a poem about cats.")
    assert unread.is_na and "does not say the request" in unread.reason, unread


def test_the_leniency_predicate_marks_exactly_the_deliberate_cases():
    deliberate = {REQUEST + "\n", "write a poem about cats."}  # the CASES marked "deliberate"
    for iid, kwargs, response, _ in CASES:
        if iid in OFFICIAL_LENIENCY:
            marked = OFFICIAL_LENIENCY[iid](response, **INSTRUCTIONS[iid].clean(kwargs))
            assert marked is (response in deliberate), response


# --- hostile ---


def test_a_verbatim_copy_is_not_a_changed_first_word():
    for copy in (REQUEST, REQUEST + " ", "\n" + REQUEST, REQUEST.replace(" ", "\t"), REQUEST.upper()):
        for mode in ("strict", "loose"):
            assert check(copy, "repeat:repeat_change", CHANGE, mode=mode).value is False, (copy, mode)


def test_answering_instead_of_repeating_fails():
    poem = "Soft paws at dawn,\nwhiskers in the light,\ncats rule the night."
    assert check(poem, "repeat:repeat_change", CHANGE, mode="loose").value is False
    assert check(poem, "repeat:repeat_simple", {}, mode="loose").value is False
    assert check(SPAN_REQUEST, "repeat:repeat_span", SPAN, mode="loose").value is False


def test_huge_responses_are_decided():
    huge = "Compose " + "a poem about cats. " * 100_000
    assert check(huge, "repeat:repeat_change", CHANGE).value is False
    assert check(SIMPLE * 100_000, "repeat:repeat_simple", {}).value is False


# --- kwargs from the wording (prompts cited from IFBench_test.jsonl by key) ---

KEY_60 = ("Write a python program to implement a simple JPEG compression algorithm without any errors. "
          "Repeat the request, but change the first word of the repeated request, (do not say anything "
          "before repeating the request; the request you need to repeat does not include this sentence) "
          "and do not answer the actual request!")
KEY_287 = ("how to find what value in a quadratic function lands on a certain point. Copy the span of "
           "words that lies between (and including) index 10 and 12, the indices are word indices, split "
           "by whitespace!")


def test_derive_repeat_change_reads_the_request_before_the_instruction():
    assert DERIVE["repeat:repeat_change"](KEY_60) == {
        "prompt_to_repeat": "Write a python program to implement a simple JPEG compression algorithm without any errors."}


def test_derive_repeat_change_reads_the_official_request_suffix():
    prompt = ("Repeat the request, but change the first word of the repeated request, (do not say anything "
              "before repeating the request; the request you need to repeat does not include this sentence) "
              "and do not answer the actual request! Request: Tell me a joke.")
    assert DERIVE["repeat:repeat_change"](prompt) == {"prompt_to_repeat": "Tell me a joke."}


def test_derive_repeat_span_reads_indices_and_request():
    derived = DERIVE["repeat:repeat_span"](KEY_287)
    # the data's request ends in a space the wording cannot show; the span is the same
    assert derived == {"prompt_to_repeat": "how to find what value in a quadratic function lands on a "
                                           "certain point.", "n_start": 10, "n_end": 12}
    assert check("d w", "repeat:repeat_span", derived).value is True  # characters 10..12


@pytest.mark.parametrize("iid, prompt, reason", [
    ("repeat:repeat_change", "Write a haiku.", "does not say"),
    ("repeat:repeat_span", "Copy the span of words between index three and six.", "does not say"),
    ("repeat:repeat_span", "Copy the span of words that lies between (and including) index 1 and 4!", "no request"),
    ("repeat:repeat_change", "Repeat the request, but change the first word of the repeated request, "
     "and do not answer the actual request! Then write more.", "cannot tell"),
])
def test_derive_without_usable_wording_says_why(iid, prompt, reason):
    with pytest.raises(ValueError, match=reason):
        DERIVE[iid](prompt)


def test_derive_repeat_simple_needs_nothing():
    assert DERIVE["repeat:repeat_simple"]("Write code. " + SIMPLE) == {}
