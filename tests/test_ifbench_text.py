"""IFBench's shared text measures: nltk 3.9.2's sent_tokenize / word_tokenize / \\w+ / stop words.

Expected values are worked by hand from Punkt's rules (Kiss & Strunk 2006, nltk's punkt.py) and
the Treebank substitutions, and were confirmed against nltk 3.9.2 with the real NLTK data (the
version IFBench's reference pins). The tests use only the data files shipped in the package.
"""
from __future__ import annotations

import random
import re

import pytest

from skilldsl.verifiers.ifbench import _treebank, text
from skilldsl.verifiers.ifbench._punkt import PunktModel, split_spans


@pytest.mark.parametrize("given, expected", [
    ("", []),
    ("   ", []),
    ("Hello world", ["Hello world"]),
    # "mr" is a known abbreviation; "p.m" too, and "on" after it is lower case: no break
    ("Mr. Smith went to Washington. He arrived at 5 p.m. on Monday.",
     ["Mr. Smith went to Washington.", "He arrived at 5 p.m. on Monday."]),
    ("The U.S. economy grew. Exports rose.", ["The U.S. economy grew.", "Exports rose."]),
    # an initial followed by a word never seen in lower case is an abbreviation (J. Bach)
    ("J. Bach wrote music. It is good.", ["J. Bach wrote music.", "It is good."]),
    # an ellipsis followed by a lower-case word does not end the sentence
    ("Wait... what? Yes!", ["Wait... what?", "Yes!"]),
    # closing quotes and brackets after the period move onto the sentence they close
    ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
    ("(He left.) She stayed.", ["(He left.)", "She stayed."]),
    # nltk 3.9.2 knows only ASCII closing quotes: a period before a curly quote is no candidate
    ("She said \u201cGo.\u201d Then left.", ["She said \u201cGo.\u201d Then left."]),
    ("I paid $3.50 for it. Cheap!", ["I paid $3.50 for it.", "Cheap!"]),
    # "no" is not in the English model's abbreviations, and "5" is no lower-case word
    ("See item no. 5 below. It is ok.", ["See item no.", "5 below.", "It is ok."]),
    ("It ends here.   \n\n  ", ["It ends here."]),
    ("first line\nsecond line. third", ["first line\nsecond line.", "third"]),
])
def test_sentences_split_as_punkt_does(given, expected):
    assert text.sentences(given) == expected


def test_cached_results_come_back_as_fresh_lists():
    first, tokens = text.sentences("One. Two."), text.word_tokens("One. Two.")
    first.append("tampered")
    tokens.append("tampered")
    assert text.sentences("One. Two.") == ["One.", "Two."]
    assert text.word_tokens("One. Two.") == ["One", ".", "Two", "."]


@pytest.mark.parametrize("given, expected", [
    ("I can't do it.", ["I", "ca", "n't", "do", "it", "."]),
    ('He said "hi" (twice) -- ok.', ["He", "said", "``", "hi", "''", "(", "twice", ")", "--", "ok", "."]),
    # tokenised per sentence: a sentence-internal period stays on its word, the final one splits
    ("Good muffins cost $3.88\nin New York.  Please buy me\ntwo of them.\nThanks.",
     ["Good", "muffins", "cost", "$", "3.88", "in", "New", "York", ".", "Please", "buy", "me", "two",
      "of", "them", ".", "Thanks", "."]),
    ("'Tis 'twas gonna work.", ["'T", "is", "'t", "was", "gon", "na", "work", "."]),
    # nltk 3.9.2 does not split at an em dash (later releases do)
    ("normal\u2014homeschooling", ["normal\u2014homeschooling"]),
    ("", []),
])
def test_word_tokens_follow_the_treebank_rules(given, expected):
    assert text.word_tokens(given) == expected


@pytest.mark.parametrize("given, expected", [
    # (?i) matches İ ı to i, ſ to s, K (Kelvin) to k: the contractions split them as nltk does
    ("Gİmme that, gımme THIS.", ["Gİm", "me", "that", ",", "gım", "me", "THIS", "."]),
    ("WANNA go? 'Tiſ late. CaNNot stop", ["WAN", "NA", "go", "?", "'T", "iſ", "late.", "CaN", "Not", "stop"]),
    ("x -- y--z...w and 'twas more'n D'YE gotta",
     ["x", "--", "y", "--", "z", "...", "w", "and", "'t", "was", "more", "'n", "D", "'YE", "got", "ta"]),
    # '' becomes `` (a character the sentence did not have), and quotes of every kind
    ("He said ''no'' twice", ["He", "said", "``", "no", "''", "twice"]),
    ('"Quote" and ``tick`` \u00abfr\u00bb \u201ccurly\u201d \u2018s\u2019',
     ["``", "Quote", "''", "and", "``", "tick", "``", "\u00ab", "fr", "\u00bb", "\u201c", "curly", "\u201d",
      "\u2018", "s", "\u2019"]),
    ("a 'x and ' y' z'", ["a", "'", "x", "and", "'", "y", "'", "z", "'"]),
    ("Tab\tsep\u2028line\u00a0nbsp  end.", ["Tab", "sep", "line", "nbsp", "end", "."]),
    ('Ends with a quote." ', ["Ends", "with", "a", "quote", ".", "''"]),
    ("(a) [b] {c} <d> 5% @home #tag $3 & ; *",
     ["(", "a", ")", "[", "b", "]", "{", "c", "}", "<", "d", ">", "5", "%", "@", "home", "#", "tag", "$", "3",
      "&", ";", "*"]),
])
def test_treebank_rules_on_one_sentence_as_nltk(given, expected):
    # expected: nltk 3.9.2's NLTKWordTokenizer().tokenize(given)
    assert _treebank.tokenize(given) == expected


def _every_rule(sentence: str) -> "list[str]":
    """The Treebank port with every rule run, none skipped by its trigger (nltk's own order)."""
    text = sentence
    for pattern, substitution, _, _ in _treebank._STARTING:
        text = pattern.sub(substitution, text)
    text = " " + text + " "
    for pattern, substitution, _, _ in _treebank._ENDING_QUOTES:
        text = pattern.sub(substitution, text)
    text = re.sub(r"\s+", " ", text)
    for pattern, substitution, _, _ in _treebank._ENDING_CLITICS:
        text = pattern.sub(substitution, text)
    for pattern, _ in _treebank._CONTRACTIONS:
        text = pattern.sub(r" \1 \2 ", text)
    return text.split()


_PIECES = (list("aAtTsSnNdDeEiImMgGoOwWyYrRcClL'\"`.,:;!?()[]{}<>-*@#$%&  \n\t")
           + list("\u00ab\u00bb\u201c\u201d\u2018\u2019\u201e\u0130\u0131\u017f\u212a\u00a0\u2028\u00e93")
           + ["n't", "'s", "'ll", "'re", "cannot", "gonna", "gimme", "gotta", "lemme", "wanna ", "more'n", "d'ye",
              " 'tis", " 'twas", "...", "--", "''", "``", "Mr.", "U.S.",
              "g\u0130mme", "G\u0131MME", " 'ti\u017f", " 'TWA\u017f", " 'T\u0130S"])


def test_skipping_rules_by_trigger_changes_no_token():
    # each rule is skipped only when its trigger proves it cannot match: on hostile strings built
    # from every trigger (and re's case-insensitive letters) the tokens equal every rule's
    rng = random.Random(14)
    for _ in range(3000):
        sentence = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 40)))
        assert _treebank.tokenize(sentence) == _every_rule(sentence), sentence


def test_words_are_standard_library_word_runs():
    # the standard re's \w does not take Kannada's combining vowel signs, so the word breaks
    assert text.words("\u0cb9\u0ccc\u0ca6\u0cc1, it's 3.5 km_2!") == ["\u0cb9", "\u0ca6", "it", "s", "3", "5", "km_2"]
    assert text.count_words("it's 3.5 km_2!") == 5


def test_stopwords_are_nltks_english_list():
    assert len(text.STOPWORDS) == 198
    assert {"i", "the", "you're", "wouldn't", "ourselves"} <= text.STOPWORDS
    assert not {"apple", "The", ""} & text.STOPWORDS
    assert all(word == word.lower() for word in text.STOPWORDS)


def test_the_orthographic_context_decides_a_split():
    # after the initial "J.", "A" starts a sentence because the model saw "a" in lower case and
    # never capitalised inside a sentence; without that evidence an initial before a capital
    # is taken as a name ("J. Bach") and the text stays one sentence
    model = text._model()
    bare = PunktModel(model.abbrev_types, model.collocations, model.sent_starters, {})
    sample = "I met J. A friend came."
    assert [sample[a:b] for a, b in split_spans(model, sample)] == ["I met J.", "A friend came."]
    assert [sample[a:b] for a, b in split_spans(bare, sample)] == [sample]


def test_hostile_long_runs_finish_and_stay_correct():
    # each would be quadratic in a naive port (nltk 3.9.2's Treebank period rule re-splits a
    # run of spaces at every length); a quadratic run would not finish at these sizes
    spaces = "Mr." + " " * 200_000 + "x"
    assert text.sentences(spaces) == [spaces]
    assert text.word_tokens(spaces) == ["Mr.", "x"]
    assert text.word_tokens("a" * 200_000) == ["a" * 200_000]
    assert len(text.sentences("J. " * 50_000)) == 1
    assert text.words("\u00e9" * 100_000 + " x") == ["\u00e9" * 100_000, "x"]


def test_no_nltk_needed_at_run_time(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "nltk", None)  # importing nltk would now fail
    assert text.sentences("No nltk here. None at all.") == ["No nltk here.", "None at all."]
