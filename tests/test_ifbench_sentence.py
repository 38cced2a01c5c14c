"""IFBench ``sentence:*`` checkers and the reading of their kwargs from a prompt's wording.

Expected values are worked out by hand from the official checkers (allenai/IFBench
``ifbench/instructions.py`` at commit db69a6f: IncludeKeywordChecker, IncrementingWordCountChecker,
IncrementingAlliterationChecker), not from this code. Sentences are nltk Punkt's.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from skilldsl.verifiers.ifbench import DERIVE, sentence
from skilldsl.verifiers.ifeval import check

# (id, kwargs, response, followed?)
CASES = [
    # keyword: the N-th sentence holds the word, whole, any case
    ("sentence:keyword", {"word": "eagle", "N": 2}, "It flies. The Eagle lands. It rests.", True),
    ("sentence:keyword", {"word": "eagle", "N": 2.0}, "It flies. An eagle, proud, lands.", True),  # data stores 2.0
    ("sentence:keyword", {"word": "eagle", "N": 3}, "It flies. The eagle lands. It rests.", False),
    ("sentence:keyword", {"word": "eagle", "N": 4}, "It flies. The eagle lands. It rests eagle.", False),  # 3 only
    ("sentence:keyword", {"word": "eagle", "N": 2}, "It flies. Eagles land.", False),  # not the whole word
    ("sentence:keyword", {"word": "eagle", "N": 2}, "It flies. The_eagle lands.", False),  # _ is a word character
    ("sentence:keyword", {"word": "eagle", "N": 2}, "Dr. Smith saw it. The eagle lands.", True),  # Punkt: 'Dr.' ends nothing
    ("sentence:keyword", {"word": "bald eagle", "N": 1}, "A bald eagle flew.", True),
    # increment: words (ASCII punctuation removed, split on white space) grow by exactly small_n
    ("sentence:increment", {"small_n": 2}, "One two. One two three four. A b c d e f.", True),
    ("sentence:increment", {"small_n": 2.0}, "One two. One two three four.", True),
    ("sentence:increment", {"small_n": 1}, "One two. One two three four.", False),
    ("sentence:increment", {"small_n": 0}, "Hi there. Bye now.", True),
    ("sentence:increment", {"small_n": 5}, "Just one sentence here.", True),  # nothing to compare, as the official
    ("sentence:increment", {"small_n": 1}, "Well-known. It's fact.", True),  # 'Wellknown' 1, 'Its fact' 2
    ("sentence:increment", {"small_n": 1}, "Well-known. It's a fact.", False),  # 1, then 'Its a fact' 3
    ("sentence:increment", {"small_n": 2}, "Yes - no. A \u2014 b c.", True),  # '-' goes, the em dash is a word: 2, 4
    # alliteration_increment: runs of >= 2 words sharing a first character add their length
    ("sentence:alliteration_increment", {}, "The cat sat. Big bad bears bite. Sally sells seashells swiftly, surely.", True),
    ("sentence:alliteration_increment", {}, "Big bad. Sally sells.", False),  # 2 then 2
    ("sentence:alliteration_increment", {}, "Big bad bears. Big bad cats can.", True),  # 3 then 2 + 2
    ("sentence:alliteration_increment", {}, "Big bad cats can. Sally sells seashells swiftly.", False),  # 4 then 4
    ("sentence:alliteration_increment", {}, 'Hello. "Big" (bad) bears.', True),  # leading quotes are stripped: 0, 3
    ("sentence:alliteration_increment", {}, "Hello. Big, bad.", True),  # trailing punctuation kept; first letters match
    ("sentence:alliteration_increment", {}, "Single sentence only.", True),
]


@pytest.mark.parametrize(("iid", "kwargs", "response", "followed"), CASES)
def test_sentence_checker(iid, kwargs, response, followed):
    verdict = check(response, iid, kwargs)
    assert verdict.status == "ok", verdict
    assert verdict.value is followed


def test_every_sentence_id_has_a_case():
    assert {iid for iid, _, _, _ in CASES} == set(sentence.INSTRUCTIONS)
    assert len(sentence.INSTRUCTIONS) == 3


@pytest.mark.parametrize(("iid", "kwargs", "argument"), [
    ("sentence:keyword", {"N": 2}, "word"),
    ("sentence:keyword", {"word": "eagle"}, "N"),
    ("sentence:keyword", {"word": "eagle", "N": None}, "N"),  # null is unused, so missing
    ("sentence:keyword", {"word": "", "N": 2}, "word"),
    ("sentence:keyword", {"word": "eagle", "N": 0}, "N"),  # the official reads 0 as the last sentence
    ("sentence:keyword", {"word": "eagle", "N": -1}, "N"),  # the official draws a random one
    ("sentence:keyword", {"word": "eagle", "N": 2.5}, "N"),
    ("sentence:keyword", {"word": "eagle", "N": "2"}, "N"),
    ("sentence:keyword", {"word": "eagle", "N": True}, "N"),
    ("sentence:keyword", {"word": "eagle", "N": 2, "n": 3}, "n"),
    ("sentence:increment", {"N": 1}, "N"),  # given kwargs are never topped up from the wording
    ("sentence:increment", {"small_n": -1}, "small_n"),
    ("sentence:increment", {"small_n": 1.5}, "small_n"),
    ("sentence:increment", {"small_n": float("nan")}, "small_n"),
    ("sentence:alliteration_increment", {"small_n": 1}, "small_n"),
])
def test_bad_kwargs_are_errors_naming_the_argument(iid, kwargs, argument):
    verdict = check("One. Two.", iid, kwargs)
    assert verdict.status == "error"
    assert f"'{argument}'" in verdict.reason


# --- hostile: passing without following, or crashing the check ---


def test_keyword_in_another_sentence_or_glued_to_a_word_does_not_count():
    kwargs = {"word": "eagle", "N": 2}
    assert check("Eagle eagle eagle. Nothing here. Eagle.", "sentence:keyword", kwargs).value is False
    assert check("One. eagleeagle eagles.", "sentence:keyword", kwargs).value is False


def test_keyword_is_literal_not_a_pattern():
    assert check("One. Then a.b c.", "sentence:keyword", {"word": "a.b", "N": 2}).value is True
    assert check("One. Then axb c.", "sentence:keyword", {"word": "a.b", "N": 2}).value is False
    assert check("One. Two (.", "sentence:keyword", {"word": "(", "N": 2}).status == "ok"


def test_increment_is_not_fooled_by_punctuation_words():
    # ASCII punctuation goes before counting: '- - -' adds no words
    assert check("One two. One two - - -.", "sentence:increment", {"small_n": 3}).value is False


def test_alliteration_cannot_be_padded_by_repeating_a_sentence():
    assert check("Big bad bears. Big bad bears.", "sentence:alliteration_increment", {}).value is False


@pytest.mark.parametrize(("iid", "kwargs"), [
    ("sentence:keyword", {"word": "x", "N": 3}), ("sentence:increment", {"small_n": 1}),
    ("sentence:alliteration_increment", {}),
])
@pytest.mark.parametrize("response", ["\u3002\u3002\u3002", "...", "\U0001F985 \U0001F985.", "' \" ( [", "a" * 100_000])
def test_odd_text_is_decided(iid, kwargs, response):
    assert check(response, iid, kwargs, mode="loose").status == "ok"


# --- kwargs from the wording (RewardBench 2 Precise IF rows carry none) ---


@pytest.mark.parametrize(("iid", "prompt", "kwargs"), [
    # the official _description_pattern, filled in
    ("sentence:keyword", 'Write a story. The response must include keyword "eagle" in the 3-th sentence.',
     {"word": "eagle", "N": 3}),
    ("sentence:increment", "Each sentence must contain exactly 4 more words than the previous one. Go.", {"small_n": 4}),
    # the published data's wording (IFBench_test.jsonl keys 150, 193, 183, 187)
    ("sentence:keyword", "... with the provided reference text. The response must include keyword metricism in the "
     "3-rd sentence.", {"word": "metricism", "N": 3}),
    ("sentence:keyword", "Describe neuronal intelligence without thalamus, limbic, brain stem The response must include "
     "keyword angora in the 3-th sentence.", {"word": "angora", "N": 3}),
    ("sentence:increment", "... we live in now in all fronts, from politics, memes, quality of life, weather,  events, "
     "etc... Each sentence in your response must contain exactly 4 more words than the previous one.", {"small_n": 4}),
    ("sentence:increment", "Each sentence in your response must contain exactly 1 more words than the previous one. "
     "could you write an a theatrical short film before Ralph Bakshi's Cool World", {"small_n": 1}),
    # the same wording twice agrees with itself
    ("sentence:increment", "Each sentence must contain exactly 2 more words than the previous one. Again: each "
     "sentence must contain exactly 2 more words than the previous one.", {"small_n": 2}),
])
def test_derive_reads_the_wording(iid, prompt, kwargs):
    derived = DERIVE[iid](prompt)
    assert derived == kwargs
    assert sentence.INSTRUCTIONS[iid].clean(derived) == kwargs


@pytest.mark.parametrize(("iid", "prompt"), [
    ("sentence:keyword", "Write a story about an eagle in 3 sentences."),
    ("sentence:keyword", "The response must include keyword eagle in the last sentence."),
    ("sentence:keyword", "The response must include keyword eagle in the 2-nd sentence. The response must include "
     "keyword hawk in the 4-th sentence."),
    ("sentence:increment", "Each sentence must be longer than the previous one."),
    ("sentence:increment", "Each sentence must contain exactly 2 more words than the previous one. No: each sentence "
     "must contain exactly 3 more words than the previous one."),
])
def test_derive_refuses_missing_or_conflicting_wording(iid, prompt):
    with pytest.raises(ValueError):
        DERIVE[iid](prompt)


def test_no_kwargs_reads_the_wording_or_is_na_with_why():
    prompt = "Write about owls. Each sentence must contain exactly 1 more words than the previous one."
    derived = check("Owls hunt. Owls hunt mice.", "sentence:increment", {}, prompt)
    assert derived.status == "ok" and derived.value is True
    assert derived.detail["kwargs_derived"] == {"small_n": 1}
    unreadable = check("Owls hunt. Owls hunt mice.", "sentence:increment", None, "Write about owls.")
    assert unreadable.status == "na" and "sentence:increment" in unreadable.reason


def test_only_ids_with_kwargs_are_derived():
    assert set(DERIVE) >= {"sentence:keyword", "sentence:increment"}
    assert "sentence:alliteration_increment" not in DERIVE


DATA = Path(__file__).resolve().parents[2] / "shared" / "bench" / "ifbench" / "IFBench_test.jsonl"


@pytest.mark.skipif(not DATA.exists(), reason="IFBench data not on this machine (CI has it)")
def test_derive_agrees_with_every_data_prompt():
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    checked = 0
    for row in rows:
        for iid, kwargs in zip(row["instruction_id_list"], row["kwargs"]):
            if iid in sentence.DERIVE:
                given = {k: v for k, v in kwargs.items() if v is not None}
                assert DERIVE[iid](row["prompt"]) == given, (row["key"], iid)
                checked += 1
    assert checked == 23  # 15 sentence:keyword + 8 sentence:increment rows


def test_keyword_sentence_is_found_far_beyond_the_first_kilobytes():
    # the checker splits only as far as the N-th sentence needs; it must still find it there
    filler = " ".join(f"word{i}" for i in range(30_000))
    response = f"{filler}. Second {filler}. Third has cobalt {filler}. Fourth has nothing."
    assert check(response, "sentence:keyword", {"word": "cobalt", "N": 3}).value is True
    assert check(response, "sentence:keyword", {"word": "nothing", "N": 3}).value is False
    assert check(response, "sentence:keyword", {"word": "nothing", "N": 4}).value is True
    assert check(response, "sentence:keyword", {"word": "nothing", "N": 5}).value is False
