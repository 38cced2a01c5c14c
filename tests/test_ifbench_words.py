"""IFBench ``words:*`` verifiers: pass/fail cases, bad kwargs, hostile responses, DERIVE.

Expected values are worked out by hand from the official checkers (allenai/IFBench
``ifbench/instructions.py`` at db69a6f: ``AlphabetLoopChecker``, ``SingleVowelParagraphChecker``,
``ConsonantClusterChecker``, ``PalindromeChecker``, ``PrimeLengthsChecker``,
``StartWithVerbChecker``, ``LimitedWordRepeatChecker``, ``AlternateParitySyllablesChecker``,
``LastWordFirstNextChecker``, ``ParagraphLastFirstWordMatchChecker``,
``NoConsecutiveFirstLetterChecker``, ``KeywordSpecificPositionChecker``,
``WordsPositionChecker``), not from this code; "deliberate" marks the documented differences.
"""
from __future__ import annotations

import pytest

from skilldsl.verifiers.ifbench import DERIVE, INSTRUCTIONS
from skilldsl.verifiers.ifeval import check

KELVIN = "\u212a"  # KELVIN SIGN: lower() gives the ASCII "k"


def _position_text(keyword: str, n: int, m: int) -> str:
    """``n - 1`` plain sentences, then one whose ``m``-th word is ``keyword``."""
    before = " ".join(f"Filler sentence number {i} is here." for i in range(1, n))
    target = " ".join(["word"] * (m - 1) + [keyword, "ends"]) + "."
    return (before + " " + target[0].upper() + target[1:] + " Last one.").strip()


CASES = [
    # alphabet: punctuation deleted, then each word starts one letter later, z loops to a
    ("words:alphabet", {}, "Apples bloom cheerfully during every fall.", True),
    ("words:alphabet", {}, "Xylophones yield zesty acoustic beats.", True),
    ("words:alphabet", {}, "**Apples** bloom, (cheerfully) during.", True),
    ("words:alphabet", {}, "Apples bloom during.", False),
    ("words:alphabet", {}, "3 apples bloom.", False),  # a digit is no letter
    ("words:alphabet", {}, "Apples bloom \u2014 cheerfully.", False),  # an em dash is a word
    ("words:alphabet", {}, "Apples-bloom cheerfully.", False),  # hyphen deleted: "Applesbloom"
    ("words:alphabet", {}, f"{KELVIN}ites lift my.", True),
    # vowel: one line, at most three of a e i o u (case-folded)
    ("words:vowel", {}, "I can sit on a big mat.", True),
    ("words:vowel", {}, "A cat sat.\n", True),  # the response is stripped first
    ("words:vowel", {}, "The cat is on a mat.", False),  # e a i o
    ("words:vowel", {}, "A cat sat.\nA rat sat.", False),  # two paragraphs
    ("words:vowel", {}, "A CAT SAT. EUOI", False),
    ("words:vowel", {}, "A caf\u00e9 sat on a mat.", True),  # \u00e9 is not e
    # consonants: every whitespace word has two adjacent ASCII consonants (y included)
    ("words:consonants", {}, "Strong crafts stand by my wall.", True),
    ("words:consonants", {}, "Strong cat stands.", False),
    ("words:consonants", {}, "It's strong.", False),  # t ' s: the apostrophe breaks the pair
    ("words:consonants", {}, "Strong, crafts; stand!", True),
    ("words:consonants", {}, "Strong 2024 crafts.", False),
    # palindrome: at least 10 words (punctuation deleted, case-folded) of 5+ letters reading the same back
    ("words:palindrome", {}, "Level radar kayak civic refer madam rotor stats tenet racecar.", True),
    ("words:palindrome", {}, "Level, radar! Kayak civic refer madam rotor stats tenet race-car", True),
    ("words:palindrome", {}, "Level radar kayak civic refer madam rotor stats tenet noon.", False),
    ("words:palindrome", {}, "Level radar kayak civic refer madam rotor stats tenet.", False),
    # prime_lengths: every word (punctuation deleted) has a prime length below 100
    ("words:prime_lengths", {}, "We can do it.", True),
    ("words:prime_lengths", {}, "It's not far.", True),  # its: 3
    ("words:prime_lengths", {}, "The cats ran.", False),
    ("words:prime_lengths", {}, "I can go.", False),  # 1 is not prime
    ("words:prime_lengths", {}, "The " + "a" * 101 + " cat.", False),  # 101: beyond the official's table
    ("words:prime_lengths", {}, "The " + "a" * 97 + " cat.", True),
    # start_verb (deliberate: lexicon, not nltk's perceptron): the first token is a verb form
    ("words:start_verb", {}, "Write the answer down.", True),
    ("words:start_verb", {}, "Consider the following.", True),
    ("words:start_verb", {}, "Use the formula.", True),  # Brill: "Use" VB (though "use" NN)
    ("words:start_verb", {}, "Based on the data, yes.", True),
    ("words:start_verb", {}, "Let's begin.", True),
    ("words:start_verb", {}, "The answer is yes.", False),
    ("words:start_verb", {}, "Sure, write it down.", False),
    ("words:start_verb", {}, "Can you see it?", False),  # a modal is tagged MD, not VB
    ("words:start_verb", {}, "**Write** the answer.", False),  # the first token is "*"
    ("words:start_verb", {}, "123 apples.", False),
    # repeats: no word (lower-cased, punctuation deleted) more than small_n times
    ("words:repeats", {"small_n": 2}, "The cat saw the dog.", True),
    ("words:repeats", {"small_n": 2}, "The cat saw the dog, THE end.", False),
    ("words:repeats", {"small_n": 2}, "Don't stop, dont stop, DONT.", False),  # don't is dont
    ("words:repeats", {"small_n": 0}, "Hi.", False),
    ("words:repeats", {"small_n": 4.0}, "go go go go", True),  # the data writes 4.0
    # odd_even_syllables: syllapy counts alternate in parity
    ("words:odd_even_syllables", {}, "Cat apple dog water.", True),
    ("words:odd_even_syllables", {}, "Cat dog apple.", False),
    ("words:odd_even_syllables", {}, "Cat 42 dog.", True),  # a number has 0 syllables: even
    ("words:odd_even_syllables", {}, "Cat", True),
    # last_first: each sentence's last word (end punctuation stripped) opens the next
    ("words:last_first", {}, "I love cats. Cats love fish. Fish swim fast.", True),
    ("words:last_first", {}, "I love cats! Cats love fish?", True),
    ("words:last_first", {}, "I love cats! Cats? Cats love fish.", False),  # first word "Cats?" keeps its ?
    ("words:last_first", {}, "I love cats. Dogs love fish.", False),
    ("words:last_first", {}, 'He said "run." Run fast.', False),  # the quote stays: "run vs run
    ("words:last_first", {}, "One sentence only.", True),
    # paragraph_last_first: each non-blank line starts and ends with the same word
    ("words:paragraph_last_first", {}, "Time flies when you have a good time.\nLove is all, love.", True),
    ("words:paragraph_last_first", {}, "Time flies time.\n\n\nLove is love.", True),
    ("words:paragraph_last_first", {}, "Time flies fast.\nLove is love.", False),
    ("words:paragraph_last_first", {}, "Time, flies, time.", False),  # "time," != "time"
    ("words:paragraph_last_first", {}, "- Time flies time\n- Love is love", True),
    # no_consecutive: no two neighbouring words (punctuation deleted) share a first letter
    ("words:no_consecutive", {}, "The cat sat on a mat.", True),
    ("words:no_consecutive", {}, "The tiny cat.", False),
    ("words:no_consecutive", {}, "The Tiny cat.", False),
    ("words:no_consecutive", {}, "'Tis the night.", False),
    ("words:no_consecutive", {}, "A-apple cat.", True),  # one word: aapple
    # keywords_specific_position: sentence n, m-th token with a letter or digit, case-folded
    ("words:keywords_specific_position", {"keyword": "giggle", "n": 3, "m": 4},
     _position_text("giggle", 3, 4), True),
    ("words:keywords_specific_position", {"keyword": "giggle", "n": 3, "m": 4},
     _position_text("GIGGLE", 3, 4), True),
    ("words:keywords_specific_position", {"keyword": "giggle", "n": 3, "m": 4},
     _position_text("giggle", 3, 5), False),
    ("words:keywords_specific_position", {"keyword": "giggle", "n": 3, "m": 4},
     _position_text("giggle", 4, 4), False),
    ("words:keywords_specific_position", {"keyword": "giggle", "n": 1, "m": 3},
     "Word, word, giggle here.", True),  # commas are no words
    ("words:keywords_specific_position", {"keyword": "giggle", "n": 1, "m": 3},
     "Don't giggle here.", True),  # Do, n't, giggle: giggle is the third
    ("words:keywords_specific_position", {"keyword": "giggle", "n": 1, "m": 2},
     "Don't giggle here.", False),
    # words_position: tokens[1] and the second to last (a final punctuation token skipped)
    ("words:words_position", {"keyword": "vibrant"}, "I vibrant like this vibrant ok.", True),
    ("words:words_position", {"keyword": "vibrant"}, "I vibrant like this vibrant ok", True),
    ("words:words_position", {"keyword": "vibrant"}, "I VIBRANT like Vibrant ok.", True),
    ("words:words_position", {"keyword": "vibrant"}, "I vibrant like this ok vibrant.", False),
    ("words:words_position", {"keyword": "vibrant"}, "I vibrant like this vibrant ok...", False),  # ... is
    # not within string.punctuation, so it is the last token and "ok" the second to last
    ("words:words_position", {"keyword": "vibrant"}, "I vibrant like this vibrant ok?!", False),  # ? and !
    # are two tokens: only the last is skipped
    ("words:words_position", {"keyword": "vibrant"}, "I vibrant.", False),
]


@pytest.mark.parametrize("iid, kwargs, response, expected", CASES)
def test_strict(iid, kwargs, response, expected):
    verdict = check(response, iid, kwargs, mode="strict")
    assert verdict.is_ok and verdict.value is expected, verdict


def test_every_words_id_has_passing_and_failing_cases():
    ids = {iid for iid in INSTRUCTIONS if iid.startswith("words:")}
    assert len(ids) == 13
    for iid in ids:
        assert {case[3] for case in CASES if case[0] == iid} == {True, False}, iid


def test_loose_drops_a_chatty_line_and_stars():
    # the strict reading fails on the preamble; IFEval's loose variants drop it
    response = "Sure! Here it is:\nApples bloom cheerfully."
    assert check(response, "words:alphabet", {}, mode="strict").value is False
    assert check(response, "words:alphabet", {}, mode="loose").value is True
    bold = "**Write** the answer."
    assert check(bold, "words:start_verb", {}, mode="loose").value is True


@pytest.mark.parametrize("iid, kwargs, named", [
    ("words:repeats", {"small_n": -1}, "small_n"),
    ("words:repeats", {"small_n": 2.5}, "small_n"),
    ("words:repeats", {"small_n": "3"}, "small_n"),
    ("words:repeats", {"small_n": True}, "small_n"),
    ("words:repeats", {"small_n": 3, "N": 3}, "N"),
    ("words:keywords_specific_position", {"keyword": "cat", "n": 0, "m": 2}, "n"),
    ("words:keywords_specific_position", {"keyword": "cat", "n": 2, "m": 0}, "m"),
    ("words:keywords_specific_position", {"keyword": "cat", "n": 2}, "m"),
    ("words:keywords_specific_position", {"keyword": "ice cream", "n": 2, "m": 2}, "keyword"),
    ("words:keywords_specific_position", {"keyword": "  ", "n": 2, "m": 2}, "keyword"),
    ("words:words_position", {"keyword": 5}, "keyword"),
    ("words:words_position", {"keyword": ["cat"]}, "keyword"),
    ("words:alphabet", {"N": 2}, "N"),
])
def test_bad_kwargs_are_errors_naming_the_argument(iid, kwargs, named):
    verdict = check("Apples bloom.", iid, kwargs)
    assert verdict.is_error and repr(named) in verdict.reason, verdict


def test_null_kwargs_are_unused_and_the_keyword_is_stripped():
    kwargs = {"keyword": " vibrant ", "N": None, "small_n": None}
    assert check("I vibrant like vibrant ok.", "words:words_position", kwargs).value is True


# --- hostile: what a policy would try to pass a check without following the instruction ---


@pytest.mark.parametrize("iid, kwargs, response", [
    ("words:alphabet", {}, "!!! ... ???"),  # no words at all
    ("words:consonants", {}, "!!!"),  # a punctuation "word" has no cluster
    ("words:palindrome", {}, "Level " * 9 + "noon"),  # nine, then one too short
    ("words:repeats", {"small_n": 3}, "Cat cat CAT cat."),  # case or punctuation hide nothing
    ("words:repeats", {"small_n": 3}, "cat, cat; cat! cat?"),
    ("words:start_verb", {}, '"Write" it.'),  # a quote first: the first token is ``
    ("words:start_verb", {}, "Writeee it."),  # not a word
    ("words:no_consecutive", {}, "The\u00a0tiny cat."),  # NBSP is whitespace to split()
    ("words:keywords_specific_position", {"keyword": "giggle", "n": 2, "m": 2},
     "giggle giggle giggle. giggle, ha giggle."),  # stuffing misses the exact slot
    ("words:words_position", {"keyword": "vibrant"}, "I vibrant vibrant vibrant ok vibrant."),
])
def test_hostile_responses_fail(iid, kwargs, response):
    assert check(response, iid, kwargs, mode="loose").value is False


@pytest.mark.parametrize("iid, kwargs", [(iid, {}) for iid in sorted(INSTRUCTIONS) if iid.startswith("words:")
                                         and not INSTRUCTIONS[iid].params]
                         + [("words:repeats", {"small_n": 3}),
                            ("words:keywords_specific_position", {"keyword": "a", "n": 1, "m": 1}),
                            ("words:words_position", {"keyword": "a"})])
@pytest.mark.parametrize("response", ["", " \n\t", "\x00\u200b", "\U0001f600" * 3, "*" * 50, "\n" * 30,
                                      "a" * 20_000, "\u0130" * 5, "( [ { \" ' `", "x" + " " * 5000 + "y"])
def test_any_text_gets_a_verdict(iid, kwargs, response):
    verdict = check(response, iid, kwargs, mode="loose")
    assert verdict.is_ok, verdict
    if not response.strip():
        assert verdict.value is False  # empty follows nothing


def test_long_response_edges_are_those_of_the_whole_text():
    # first/last tokens and the first sentences are read from the edges of a long response
    middle = "Filler words go here. " * 3000
    follows = "I vibrant said. " + middle + "Then vibrant ok."
    assert check(follows, "words:words_position", {"keyword": "vibrant"}).value is True
    assert check(follows + " Not", "words:words_position", {"keyword": "vibrant"}).value is False
    assert check("Write. " + middle, "words:start_verb", {}).value is True
    kwargs = {"keyword": "words", "n": 3001, "m": 2}  # the last sentence
    assert check("Start. " + middle, "words:keywords_specific_position", kwargs).value is True
    assert check("Start " + middle, "words:keywords_specific_position", kwargs).value is False


# --- DERIVE: kwargs from the wording (IFBench_test.jsonl keys 10, 16, 254 and variants) ---


@pytest.mark.parametrize("iid, prompt, expected", [
    ("words:repeats", "create me a description. The response should not repeat any word more than 2 times.",
     {"small_n": 2}),
    ("words:keywords_specific_position",
     "Include keyword giggle in the 22-nd sentence, as the 33-rd word of that sentence. Reference Text: ...",
     {"keyword": "giggle", "n": 22, "m": 33}),
    ("words:keywords_specific_position",
     "Include keyword beneath in the 3rd sentence, as the 1st word of that sentence.",
     {"keyword": "beneath", "n": 3, "m": 1}),
    ("words:words_position",
     "The second word in your response and the second to last word in your response should be the word "
     "despite. Reference Text: Developments in new types of architecture.",
     {"keyword": "despite"}),
    ("words:words_position", "... second to last word in your response should be the word \"vibrant\".",
     {"keyword": "vibrant"}),
    ("words:alphabet", "Each word in your response must start with the next letter of the alphabet.", {}),
    ("words:start_verb", "Anything at all", {}),
])
def test_derive_reads_the_wording(iid, prompt, expected):
    assert DERIVE[iid](prompt) == expected


@pytest.mark.parametrize("iid", ["words:repeats", "words:keywords_specific_position", "words:words_position"])
def test_derive_without_the_wording_says_why(iid):
    with pytest.raises(ValueError, match="does not say"):
        DERIVE[iid]("Write a poem about cats. The response should be short.")


@pytest.mark.parametrize("iid, prompt", [
    ("words:repeats", "Do not repeat any word more than 2 times. Then: do not repeat any word more than 9 times."),
    ("words:words_position", "The second to last word in your response should be the word cat. "
                             "No: the second to last word in your response should be the word dog."),
])
def test_derive_refuses_a_prompt_that_says_two_different_things(iid, prompt):
    # the first wording used to win silently; a guess is no evidence: na saying why
    with pytest.raises(ValueError, match="different values"):
        DERIVE[iid](prompt)
    verdict = check("Apples bloom.", iid, None, prompt)
    assert verdict.status == "na" and "different values" in verdict.reason


def test_every_words_id_can_derive():
    assert {iid for iid in INSTRUCTIONS if iid.startswith("words:")} <= set(DERIVE)


@pytest.mark.parametrize("iid", ["words:repeats", "words:words_position"])
def test_no_kwargs_and_no_wording_is_na_saying_why(iid):
    # no kwargs at all are read from the prompt (RewardBench 2 rows); none to read: na, not a guess
    verdict = check("Apples bloom.", iid, {})
    assert verdict.status == "na" and "none could be read from the prompt" in verdict.reason
