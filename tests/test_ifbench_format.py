"""IFBench ``format:*`` verifiers: each id's pass/fail cases, bad kwargs, hostile responses, DERIVE.

Expected values are worked out by hand from the official checkers (allenai/IFBench
``ifbench/instructions.py`` at db69a6f, ``check_following`` of each class), not from this code;
the cases marked "deliberate" are the documented differences in ``formatting``'s docstring.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skilldsl.verifiers.ifbench import DERIVE, INSTRUCTIONS
from skilldsl.verifiers.ifbench.formatting import OFFICIAL_LENIENCY
from skilldsl.verifiers.ifeval import check

YNM = {"options": "yes/no/maybe"}
ABCD = {"options": "a), b), c), d)"}
KNOW = {"options": "I know or I don't know"}
TEMPLATE = "My Answer: [answer] My Conclusion: [conclusion] Future Outlook: [outlook]"

# (instruction id, kwargs, response, followed in strict mode?)
CASES = [
    # brackets: a matching closer once the stack has been 5 deep (a mismatched closer resets)
    ("format:parentheses", {}, "Sets (a [b {c (d [e] d) c} b] a) nest.", True),
    ("format:parentheses", {}, "Only four (a [b {c (d) c} b] a).", False),
    ("format:parentheses", {}, "((((()", True),  # lenient as the official: one close suffices
    ("format:parentheses", {}, "(((((]", False),  # mismatch resets
    ("format:parentheses", {}, "(((((]))))", False),  # after the reset the stack is empty
    ("format:parentheses", {}, "()()()()()", False),
    ("format:parentheses", {}, ")))))((((()))))", True),
    # quotes: alternate " and ', a close leaves the stack 3 below the deepest level reached
    ("format:quotes", {}, """He said "she told me 'he yelled "stop" loudly' yesterday".""", True),
    ("format:quotes", {}, """He said "she told me 'stop' yesterday".""", False),  # two levels
    ("format:quotes", {}, "It's Bob's dog.", False),
    ("format:quotes", {}, """"'"'"'\"""", False),  # never closes: every quote differs from the top
    ("format:quotes", {}, """'a "b 'c' b" a'""", True),
    # options: a)-lists exactly, others ignoring case and ASCII punctuation/spaces at the ends
    ("format:options", YNM, "Yes.", True),
    ("format:options", YNM, "**maybe**", True),
    ("format:options", YNM, "Yes, definitely.", False),
    ("format:options", YNM, "yes\n", False),  # the official strips spaces, not newlines
    ("format:options", ABCD, "a)", True),
    ("format:options", ABCD, "a", False),
    ("format:options", ABCD, "A)", False),
    ("format:options", ABCD, "b) Insertion", False),
    ("format:options", KNOW, "I don't know.", True),
    ("format:options", KNOW, "I know", True),
    ("format:options", KNOW, "Maybe", False),
    # newline: punctuation dropped, non-empty lines == whitespace-split words
    ("format:newline", {}, "Each\nword\nhere.", True),
    ("format:newline", {}, "Two words\nhere", False),
    ("format:newline", {}, "Hello, world", False),
    ("format:newline", {}, "a\n\nb", True),
    ("format:newline", {}, "don't\nstop", True),  # "dont" once the apostrophe is gone
    # emoji: each sentence ends in an emoji, or the next one starts with one
    ("format:emoji", {}, "I love summer \U0001f31e. The beach is great \U0001f3d6\ufe0f!", True),
    ("format:emoji", {}, "Hello \U0001f600. Bye.", False),
    ("format:emoji", {}, "First. \U0001f600 Second \U0001f600.", True),
    ("format:emoji", {}, "No emoji here.", False),
    ("format:emoji", {}, "Mr. Smith went home \U0001f3e0.", True),  # "Mr." ends no sentence
    # line_indent: strictly more leading spaces per line, blank lines as the official drops them
    ("format:line_indent", {}, "First\n Second\n  Third", True),
    ("format:line_indent", {}, "a\n b\n b", False),
    ("format:line_indent", {}, "a\n  b\n c", False),
    ("format:line_indent", {}, "a\n\n b\n\n  c", True),
    ("format:line_indent", {}, "a\n\n\n b", False),  # the second blank line stays, indent 0
    ("format:line_indent", {}, "a\n\t b", False),  # only spaces count
    # quote_unquote: no "" once whitespace is gone, no " ending the text
    ("format:quote_unquote", {}, 'He said "carpe diem", meaning seize the day.', True),
    ("format:quote_unquote", {}, 'The motto is "be prepared".', False),
    ("format:quote_unquote", {}, '"A" "B" explained', False),
    ("format:quote_unquote", {}, "Use the character '\"' carefully.", True),
    ("format:quote_unquote", {}, '"Quote" 42.', False),
    # list: the marker at least twice
    ("format:list", {"sep": "!?!?"}, "!?!? one\n!?!? two", True),
    ("format:list", {"sep": "!?!?"}, "!?!? one", False),
    ("format:list", {"sep": "-"}, "- a\n- b", True),
    ("format:list", {"sep": "-"}, "Items: - one - two", True),
    ("format:list", {"sep": "SEPARATOR"}, "SEPARATOR a SEPARATOR b", True),
    ("format:list", {"sep": "-"}, "A well-known long-term plan.", False),  # deliberate
    ("format:list", {"sep": "SEPARATOR"}, "aSEPARATORbSEPARATORc", False),  # deliberate
    # thesis: an <i>/<em> span with text, then more text (official offsets 3 and 4)
    ("format:thesis", {}, "<i>Cities shape people.</i>\nThey do.", True),
    ("format:thesis", {}, "<i>Thesis only</i>", False),
    ("format:thesis", {}, "<em>Thesis</em> more", True),
    ("format:thesis", {}, "<em>Thesis only</em>", True),  # the offset leaves ">" as text
    ("format:thesis", {}, "<i></i> after", False),
    ("format:thesis", {}, "*Markdown italics* then text", False),
    # sub-bullets: every * followed by a - before the next *
    ("format:sub-bullets", {}, "* Fruit\n  - apple\n* Veg\n  - leek", True),
    ("format:sub-bullets", {}, "* Fruit\n  - apple\n* Veg", False),
    ("format:sub-bullets", {}, "**Bold** - text", False),  # the piece between ** has no -
    ("format:sub-bullets", {}, "Plain prose - no bullets.", False),  # deliberate
    # no_bullets_bullets: two sentences, then only * lines (at least two)
    ("format:no_bullets_bullets", {}, "First sentence. Second sentence.\n* one\n* two", True),
    ("format:no_bullets_bullets", {}, "Only one.\n* a\n* b", False),
    ("format:no_bullets_bullets", {}, "One. Two.\n* a", False),
    ("format:no_bullets_bullets", {}, "One. Two.\n* a\n* b\n", False),  # the last line is prose
    ("format:no_bullets_bullets", {}, "One.\n\nTwo.\n* a\n* b", False),  # a blank line ends the prose
    ("format:no_bullets_bullets", {}, "One. Two.\n\n* a\n* b", True),
    ("format:no_bullets_bullets", {}, "One.\nTwo.\n* a\nmore\n* b", False),
    # title_case: no word token starting lower-case (nltk tokens: "Don't" -> "Do", "n't")
    ("format:title_case", {}, "The Quick Brown Fox", True),
    ("format:title_case", {}, "The Lord of the Rings", False),
    ("format:title_case", {}, "NASA And The USA", True),
    ("format:title_case", {}, "iPhone Sales", True),
    ("format:title_case", {}, "a Title", False),
    ("format:title_case", {}, "Don't Stop", False),
    ("format:title_case", {}, "123 Main Street", True),
    ("format:title_case", {}, "tHE End", False),
    # output_template: the three labels, each field filled
    ("format:output_template", {}, "My Answer: Yes. My Conclusion: Safe. Future Outlook: Bright.", True),
    ("format:output_template", {}, "My Answer: Yes. My Conclusion: fine.", False),
    ("format:output_template", {}, "my answer: yes my conclusion: ok future outlook: good", False),
    ("format:output_template", {}, "My Answer: [answer] yes My Conclusion: ok Future Outlook: fine", True),
    ("format:output_template", {}, TEMPLATE, False),  # deliberate
    ("format:output_template", {}, "My Answer: My Conclusion: Future Outlook:", False),  # deliberate
    # no_whitespace
    ("format:no_whitespace", {}, "Nowhitespace.", True),
    ("format:no_whitespace", {}, "one space", False),
    ("format:no_whitespace", {}, "nbsp\u00a0x", False),
    ("format:no_whitespace", {}, "zero\u200bwidth", True),  # U+200B is no whitespace
]


@pytest.mark.parametrize("iid, kwargs, response, expected", CASES)
def test_strict(iid, kwargs, response, expected):
    verdict = check(response, iid, kwargs, mode="strict")
    assert verdict.is_ok and verdict.value is expected, verdict


def test_every_format_id_has_cases():
    ids = {iid for iid in INSTRUCTIONS if iid.startswith("format:")}
    assert len(ids) == 14 and ids == {case[0] for case in CASES}
    for iid in ids:
        assert {case[3] for case in CASES if case[0] == iid} == {True, False}, iid


@pytest.mark.parametrize("iid, kwargs, response", [
    ("format:options", YNM, "yes\n"),  # the trailing line is cut
    ("format:no_bullets_bullets", {}, "One. Two.\n* a\n* b\n"),
    ("format:sub-bullets", {}, "Intro line\n* a\n - b"),
])
def test_loose_rescues_a_stray_line(iid, kwargs, response):
    assert check(response, iid, kwargs, mode="loose").value is True


def test_empty_response_follows_nothing():
    for iid in INSTRUCTIONS:
        if iid.startswith("format:"):
            kwargs = {"format:options": YNM, "format:list": {"sep": "-"}}.get(iid, {})
            assert check(" \n ", iid, kwargs).value is False, iid


@pytest.mark.parametrize("iid, kwargs, named", [
    ("format:options", {"options": 3}, "options"),
    ("format:options", {"options": "  "}, "options"),
    ("format:options", {"options": "yes//no"}, "options"),  # an empty option
    ("format:list", {"sep": ""}, "sep"),
    ("format:list", {"sep": ["-"]}, "sep"),
    ("format:emoji", {"N": 3}, "N"),
    ("format:list", {"sep": "-", "seperator": "-"}, "seperator"),
])
def test_bad_kwargs_are_errors_naming_the_argument(iid, kwargs, named):
    verdict = check("anything", iid, kwargs)
    assert verdict.is_error and repr(named) in verdict.reason, verdict


@pytest.mark.parametrize("iid, prompt, response, expected", [
    ("format:options", "Is it? Answer with one of the following options: yes/no/maybe.", "Maybe.", True),
    ("format:list", "List fruits. Answer with a list of items, instead of bullet points use !?!?.",
     "!?!? apple\n!?!? pear", True),
    ("format:list", "List fruits. Answer with a list of items, instead of bullet points use !?!?.",
     "- apple\n- pear", False),
])
def test_without_kwargs_they_are_read_from_the_wording(iid, prompt, response, expected):
    verdict = check(response, iid, {}, prompt=prompt)
    assert verdict.is_ok and verdict.value is expected and verdict.detail["kwargs_derived"], verdict


@pytest.mark.parametrize("iid", ["format:options", "format:list"])
def test_without_kwargs_or_wording_it_is_na_with_the_reason(iid):
    verdict = check("Yes", iid, {}, prompt="Write a haiku about autumn.")
    assert verdict.is_na and "does not say" in verdict.reason, verdict


def test_null_kwargs_are_unused():
    assert check("Yes", "format:options", {"options": "yes/no/maybe", "sep": None}).value is True


# the cases above marked "deliberate": the official follows them, this checker does not
DELIBERATE = {
    ("format:list", "A well-known long-term plan."), ("format:list", "aSEPARATORbSEPARATORc"),
    ("format:sub-bullets", "Plain prose - no bullets."), ("format:output_template", TEMPLATE),
    ("format:output_template", "My Answer: My Conclusion: Future Outlook:"),
}


def test_the_leniency_predicates_mark_exactly_the_deliberate_cases():
    assert DELIBERATE <= {(case[0], case[2]) for case in CASES if case[3] is False}
    for iid, kwargs, response, _ in CASES:
        if iid in OFFICIAL_LENIENCY:
            clean = INSTRUCTIONS[iid].clean(kwargs)
            assert OFFICIAL_LENIENCY[iid](response, **clean) is ((iid, response) in DELIBERATE), (iid, response)


# --- hostile: what a policy would try instead of following the instruction ---


def test_the_bare_template_is_not_an_answer():
    for mode in ("strict", "loose"):
        assert check(TEMPLATE, "format:output_template", {}, mode=mode).value is False
        assert check(TEMPLATE.replace("[", "").replace("]", ""), "format:output_template", {},
                     mode=mode).value is True  # "answer" is text, if a poor one


def test_prose_is_no_sub_bullet_list():
    prose = "Budgeting - the basics. Save first, spend later."
    assert check(prose, "format:sub-bullets", {}, mode="loose").value is False


def test_hyphenated_prose_is_no_dash_list():
    prose = "A well-known, long-term, low-risk plan."
    assert check(prose, "format:list", {"sep": "-"}, mode="loose").value is False


def test_deep_nesting_neither_crashes_nor_passes_unclosed():
    deep = 200_000
    assert check("(" * deep, "format:parentheses", {}).value is False
    assert check("(" * deep + ")", "format:parentheses", {}).value is True
    assert check("(]" * deep, "format:parentheses", {}).value is False
    assert check("\"'" * deep, "format:quotes", {}).value is False  # all pushes, never a close
    assert check("x\n" + "\n" * deep + " y", "format:line_indent", {}).value is False


def test_huge_inputs_are_decided():
    big = 300_000
    assert check("Word " * big, "format:no_whitespace", {}).value is False
    assert check("x-" * big, "format:list", {"sep": "-"}).value is False  # every dash glued
    assert check("My Answer:" * big, "format:output_template", {}).value is False
    assert check("*-" * big, "format:sub-bullets", {}).value is True
    assert check("<i>" * big, "format:thesis", {}).value is False
    assert check('"q" x ' * big, "format:quote_unquote", {}).value is True
    assert check("One. Two.\n" + "* a\n" * big + "* b", "format:no_bullets_bullets", {}).value is True


# --- the official loops, transcribed as the specification, against the linear checkers ---


def _official_parentheses(value: str) -> bool:
    levels, max_depth = [], 0
    for char in value:
        if char in "([{":
            levels.append(char)
            max_depth = max(max_depth, len(levels))
        elif char in ")]}":
            if levels and levels[-1] + char in ("()", "[]", "{}"):
                levels.pop()
                if max_depth >= 5 and len(levels) < max_depth:
                    return True
            else:
                levels, max_depth = [], 0
    return False


def _official_quotes(value: str) -> bool:
    levels, reached, current = [], 0, 0
    for char in value:
        if levels and char == levels[-1]:
            levels.pop()
            current -= 1
            if reached - current >= 3:
                return True
        elif char in "\"'":
            levels.append(char)
            current += 1
            reached = max(reached, current)
    return False


def _official_stairs(value: str) -> bool:
    lines = value.split("\n")
    for line in lines:  # sic: removing while iterating skips the line after each blank one
        if not line.strip():
            lines.remove(line)
    indents = [len(line) - len(line.lstrip(" ")) for line in lines]
    return all(b > a for a, b in zip(indents, indents[1:]))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="([{)]}x.", max_size=40))
def test_parentheses_agree_with_the_official_loop(value):
    assert INSTRUCTIONS["format:parentheses"].check(value) is _official_parentheses(value)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="\"'x", max_size=40))
def test_quotes_agree_with_the_official_loop(value):
    assert INSTRUCTIONS["format:quotes"].check(value) is _official_quotes(value)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" \nx\t", max_size=30))
def test_stairs_agree_with_the_official_loop(value):
    assert INSTRUCTIONS["format:line_indent"].check(value) is _official_stairs(value)


# --- kwargs from the wording (prompts cited from IFBench_test.jsonl by key) ---


@pytest.mark.parametrize("iid, prompt, expected", [
    ("format:options",  # key 100: no "Do not give any explanation." here
     "Answer with one of the following options: yes/no/maybe. Could sensitive historical events be "
     "better digested in game form?", YNM),
    ("format:options",  # key 101: no space before the next sentence
     "Answer with one of the following options: I know or I don't know. Do not give any "
     "explanation.Is this a good definition?", KNOW),
    ("format:options",  # key 102
     "Answer with one of the following options: a), b), c), d). Do not give any explanation. "
     "Defendant (D) is accused.", ABCD),
    ("format:list",  # key 46: the instruction ends the prompt
     "Identify the most important 20% of learnings. The response must contain between 90 and 100 "
     "words. Answer with a list of items, instead of bullet points use !?!?.", {"sep": "!?!?"}),
    ("format:list",  # key 86
     "Can Quantum Entanglement explain parallel universes? Answer with a list of items, instead of "
     "bullet points use -.", {"sep": "-"}),
    ("format:list", "Answer with a list of items, instead of bullet points use .... Then stop.",
     {"sep": "..."}),
    ("format:emoji", "Please use an emoji at the end of every sentence.", {}),
])
def test_derive_reads_the_wording(iid, prompt, expected):
    assert DERIVE[iid](prompt) == expected


@pytest.mark.parametrize("iid", ["format:options", "format:list"])
def test_derive_without_the_wording_says_why(iid):
    with pytest.raises(ValueError, match="does not say"):
        DERIVE[iid]("Write a haiku about autumn.")


def test_derive_refuses_two_different_option_lists():
    # the first list used to win silently: "yes" would follow a prompt that later asks for a/b/c
    prompt = ("Answer with one of the following options: yes/no. "
              "Then again: Answer with one of the following options: a/b/c.")
    with pytest.raises(ValueError, match="different values"):
        DERIVE["format:options"](prompt)
    verdict = check("yes", "format:options", None, prompt)
    assert verdict.status == "na" and "different values" in verdict.reason


def test_every_format_id_derives():
    assert {iid for iid in INSTRUCTIONS if iid.startswith("format:")} <= set(DERIVE)


def test_prose_sentences_are_counted_on_a_long_single_line():
    # the checker splits a prose line only as far as two sentences need; a long first sentence
    # must still be one sentence, and a second one far away must still be seen
    long = " ".join(f"word{i}" for i in range(40_000))
    bullets = "\n* one\n* two"
    assert check(f"First {long}. Second one.{bullets}", "format:no_bullets_bullets").value is True
    assert check(f"Only {long}.{bullets}", "format:no_bullets_bullets").value is False
    assert check("?! " * 300_000 + bullets, "format:no_bullets_bullets").value is True
