"""IFBench ``custom:*`` checkers: each id, strict vs loose, csv and regex quirks, hostile inputs.

Expected values are worked out by hand from the official checkers (allenai/IFBench
``ifbench/instructions.py`` at commit db69a6f, the classes named in each group), not from this code.
Where a regex of the official is re-implemented in one pass, a property test compares the two.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skilldsl.verifiers.ifbench import DERIVE, custom
from skilldsl.verifiers.ifeval import check

CAPITALS = ("Reykjavik, Helsinki, Oslo, Tallinn, Stockholm, Riga, Moscow, Copenhagen, Vilnius, Minsk, Dublin, "
            "Berlin, Amsterdam, Warsaw, London, Brussels, Prague, Luxembourg, Paris, Vienna, Bratislava, Budapest, "
            "Vaduz, Chisinau, Bern, Ljubljana, Zagreb")
CITY = "ID,Country,City,Year,Count\n" + "\n".join(f"{i},Peru,Lima,2020,{i}" for i in range(1, 8))
QUOTES = "\n".join('"{}"\t"{}"\t"{}"\t"{}"\t"{}"'.format(*row) for row in [
    ("StudentID", "Subject", "Grade", "Semester", "Score"), ("1", "Math", "A", "Fall", "90"),
    ("2", "Art", "B", "Fall", "80"), ("3", "Bio", "C", "Spring", "70")])
PRODUCTS = ["ProductID,Category,Brand,Price,Stock"] + [f"P{i},Tools,Acme,9.99,{i}" for i in range(1, 15)]


def special(at: int, field: str = '"Tom\'s"', rows: "list[str] | None" = None) -> str:
    """The product csv with ``field`` as the Brand of data row ``at`` (1-based)."""
    rows = list(rows or PRODUCTS)
    rows[at] = f"P{at},Tools,{field},9.99,1"
    return "\n".join(rows)


def mcq(stems: "list[str]", options: int = 5, label: str = "Question {}: ") -> str:
    return "\n\n".join(label.format(n) + stem + "\n" + "\n".join(f"{'ABCDE'[i]}. choice{i}" for i in range(options))
                       for n, stem in enumerate(stems, 1))


STEMS = ["Who?", "Who painted it?", "Who painted Guernica?", "Who painted Guernica in 1937?"]
AFRICA_TAIL = sorted(["Zimbabwe", "Zambia", "Uganda", "Tunisia", "Togo", "Tanzania", "Sudan", "South Sudan",
                      "South Africa", "Somalia", "Sierra Leone", "Seychelles", "Senegal", "Sao Tome and Principe",
                      "Rwanda", "Nigeria", "Niger", "Namibia", "Mozambique", "Morocco", "Mauritius", "Mauritania",
                      "Mali", "Malawi", "Madagascar", "Libya", "Liberia", "Lesotho", "Kenya", "Guinea-Bissau",
                      "Guinea", "Ghana", "Gambia", "Gabon", "Ethiopia", "Eswatini", "Eritrea", "Equatorial Guinea",
                      "Egypt", "Djibouti", "Democratic Republic of the Congo", "Cote d'Ivoire", "Comoros", "Chad",
                      "Central African Republic", "Cape Verde", "Cameroon", "Burundi", "Burkina Faso", "Botswana",
                      "Benin", "Angola"], reverse=True)  # 52 lines from Zimbabwe down
STORY = " ".join(f"{chr(65 + i)}{'bcdefghijklmnopqrstuvwxyza'[i]}x went home." for i in range(26))

# (id, response, followed?)
CASES = [
    # CharacterReverseOrderChecker: 'elgae dlab' in the lower-cased response
    ("custom:character_reverse", ".Elgae Dlab eht si tI", True),
    ("custom:character_reverse", "It is the bald eagle.", False),
    ("custom:character_reverse", "elgaedlab", False),
    # CityCSVChecker: 8 csv rows, exact header, 5 fields each
    ("custom:csv_city", CITY, True),
    ("custom:csv_city", CITY + "\n", True),  # a final newline adds no row
    ("custom:csv_city", '"ID","Country","City","Year","Count"' + CITY[26:], True),  # csv drops the quotes
    ("custom:csv_city", CITY.rsplit("\n", 1)[0], False),  # 6 data rows
    ("custom:csv_city", CITY.replace("ID,Country", "ID, Country"), False),  # ' Country' != 'Country'
    ("custom:csv_city", CITY.replace("3,Peru,Lima,2020,3", '3,"Lima, Peru",x,2020,3'), True),
    ("custom:csv_city", CITY.replace("\n4,", "\n\n4,"), False),  # a blank line is an empty row
    ("custom:csv_city", CITY.replace("3,Peru", "3,Pe\rru"), False),  # csv refuses: the official raises
    # QuotesCSVChecker: tab header; every field of all 4 rows quoted, header included
    ("custom:csv_quotes", QUOTES, True),
    ("custom:csv_quotes", QUOTES.replace('"\t"', '"\t  "'), True),  # spaces after a tab are stripped
    ("custom:csv_quotes", QUOTES.replace('"StudentID"', "StudentID"), False),  # header field unquoted
    ("custom:csv_quotes", QUOTES.replace('"Art"', "Art"), False),
    ("custom:csv_quotes", QUOTES.replace('"Art"', ""), False),  # blank field: the official raises
    ("custom:csv_quotes", QUOTES.replace("\t", ","), False),
    ("custom:csv_quotes", QUOTES.rsplit("\n", 1)[0], False),  # 2 data rows
    # SpecialCharacterCSVChecker: 15 rows; a quoted field holding a non-word, non-space character
    ("custom:csv_special_character", special(3), True),
    ("custom:csv_special_character", special(3, '"a,b"'), True),  # the quoted comma is the special one
    ("custom:csv_special_character", special(3, "Tom's"), False),  # not quoted
    ("custom:csv_special_character", special(3, '"Toms"'), False),  # nothing special
    ("custom:csv_special_character", special(3, '"\u00c9lan"'), False),  # a letter, if not ASCII
    ("custom:csv_special_character", special(14, '"x!"', ["ProductID, Category,\tBrand,Price,Stock", *PRODUCTS[1:]]), True),
    ("custom:csv_special_character", "\n".join(PRODUCTS[:-1]) + "\nP14,Tools,\"a&b\",1,2", True),
    ("custom:csv_special_character", special(3, '"a&b"', PRODUCTS[:14]), False),  # 13 data rows
    # the official returns at the first row with such a field: a later bad row is never looked at
    ("custom:csv_special_character", special(1, '"a&b"', PRODUCTS[:5] + ["P5,x"] + PRODUCTS[6:]), True),
    ("custom:csv_special_character", special(9, '"a&b"', PRODUCTS[:5] + ["P5,x"] + PRODUCTS[6:]), False),
    # DateFormatListChecker: YYYY-MM-DD items, year 1769-1821, month <= 12, day within the month
    ("custom:date_format_list", "1796-04-12, 1805-12-02,1815-06-18", True),
    ("custom:date_format_list", "1800-02-29", True),
    ("custom:date_format_list", "1800-00-45", True),  # month 00 has no day rule in the official
    ("custom:date_format_list", "\u0661\u0667\u0669\u0666-\u0660\u0664-\u0661\u0662", True),  # \d and int() read these
    ("custom:date_format_list", "1800-02-30", False),
    ("custom:date_format_list", "1800-04-31", False),
    ("custom:date_format_list", "1800-13-01", False),
    ("custom:date_format_list", "1822-01-01", False),
    ("custom:date_format_list", "1796-4-12", False),
    ("custom:date_format_list", "1796-04-12,", False),  # an empty item
    ("custom:date_format_list", "Dates: 1796-04-12", False),
    # EuropeanCapitalsSortChecker: the 27 capitals in the official order, accents folded
    ("custom:european_capitals_sort", CAPITALS, True),
    ("custom:european_capitals_sort", CAPITALS.replace("Reykjavik", "Reykjav\u00edk") + ",", True),
    ("custom:european_capitals_sort", CAPITALS.replace("Oslo, Tallinn", "Tallinn, Oslo"), False),
    ("custom:european_capitals_sort", CAPITALS.replace(", Zagreb", ", and Zagreb"), False),
    ("custom:european_capitals_sort", CAPITALS + ".", False),
    ("custom:european_capitals_sort", CAPITALS.replace(", Zagreb", ""), False),
    # MultipleChoiceQuestionsChecker: starts with 'Question'; 4 questions x 5 options; longer each time
    ("custom:mcq_count_length", mcq(STEMS), True),
    ("custom:mcq_count_length", mcq(STEMS, label="Question {}.\n"), True),
    ("custom:mcq_count_length", mcq(STEMS) + "\nAnswer: A", True),  # lines after the options are not looked at
    ("custom:mcq_count_length", "Here you go:\n" + mcq(STEMS), False),  # an explanation first
    ("custom:mcq_count_length", mcq(STEMS, options=4), False),
    ("custom:mcq_count_length", mcq(STEMS[:3]), False),
    ("custom:mcq_count_length", mcq([STEMS[1], *STEMS[1:]]), False),  # two of equal length
    ("custom:mcq_count_length", mcq(STEMS, label="Question: "), False),  # unnumbered: one question
    ("custom:mcq_count_length", mcq(["abc", "abcd", "abcde", "abcdef"]), True),
    # only one of '.|):;' goes with the label: '-- abc' is 6 long, not shorter than 'abcd'
    ("custom:mcq_count_length", mcq(["abc", "abcd", "abcde", "abcdef"]).replace("1: ", "1-- "), False),
    # PrintMultiplesChecker: the digit runs are exactly 14 21 28 35 42 49
    ("custom:multiples", "14, 21, 28, 35, 42, 49", True),
    ("custom:multiples", "- 14\n- 21\n- 28\n- 35\n- 42\n- 49", True),
    ("custom:multiples", "Multiples of 7 from 10 to 50: 14, 21, 28, 35, 42, 49", False),  # 7, 10, 50 count
    ("custom:multiples", "14, 21, 28, 35, 42", False),
    ("custom:multiples", "14, 21, 28, 35, 42, 49, 56", False),
    # ReverseNewlineChecker: from the 'Zimbabwe' line, >= 52 non-blank lines in non-increasing order
    ("custom:reverse_newline", "\n".join(AFRICA_TAIL), True),
    ("custom:reverse_newline", "Countries:\n" + "\n".join(f"- {c}." for c in AFRICA_TAIL), True),
    ("custom:reverse_newline", "\n".join(AFRICA_TAIL[:51]), False),
    ("custom:reverse_newline", "\n".join(f"{i}. {c}" for i, c in enumerate(AFRICA_TAIL, 1)), False),  # '1. Z' < '2. Z'
    ("custom:reverse_newline", "\n".join(reversed(AFRICA_TAIL)), False),
    ("custom:reverse_newline", "\n".join(AFRICA_TAIL) + "\nTotal: 52", False),
    # SentenceAlphabetChecker: 26 sentences, the i-th starting with the i-th letter (any case)
    ("custom:sentence_alphabet", STORY, True),
    ("custom:sentence_alphabet", STORY.lower(), True),
    ("custom:sentence_alphabet", STORY.rsplit(" ", 3)[0], False),  # 25 sentences
    ("custom:sentence_alphabet", STORY.replace("Abx", "Bbx", 1), False),
    # WordReverseOrderChecker: punctuation removed, word order reversed, contains 'bald eagle'
    ("custom:word_reverse", "eagle bald the is US the of symbol national The.", True),
    ("custom:word_reverse", "Eagle bald. The is it!", True),  # one sentence once punctuation is gone
    ("custom:word_reverse", "The bald eagle.", False),
]


@pytest.mark.parametrize(("iid", "response", "followed"), CASES)
def test_custom_checker(iid, response, followed):
    verdict = check(response, iid, {})
    assert verdict.status == "ok", verdict
    assert verdict.value is followed


def test_every_custom_id_has_a_case():
    assert {iid for iid, _, _ in CASES} == set(custom.INSTRUCTIONS)
    assert all(iid.startswith("custom:") for iid in custom.INSTRUCTIONS) and len(custom.INSTRUCTIONS) == 11


@pytest.mark.parametrize(("iid", "response"), [
    ("custom:csv_city", "```csv\n" + CITY + "\n```"),
    ("custom:mcq_count_length", "Sure! Here are the questions.\n" + mcq(STEMS)),
    ("custom:european_capitals_sort", ", ".join(f"**{c}**" for c in CAPITALS.split(", "))),
])
def test_loose_forgives_what_strict_does_not(iid, response):
    assert check(response, iid, {}, mode="strict").value is False
    assert check(response, iid, {}, mode="loose").value is True


@pytest.mark.parametrize("iid", sorted(custom.INSTRUCTIONS))
def test_custom_ids_take_no_kwargs(iid):
    verdict = check("x", iid, {"N": 3})
    assert verdict.status == "error" and "'N'" in verdict.reason
    assert check("x", iid, {"N": None}).status == "ok"  # null = unused, as in the data
    assert iid not in DERIVE


# --- hostile: what a policy would send to pass without following, or to crash the check ---


@pytest.mark.parametrize(("iid", "response"), [
    ("custom:multiples", "The numbers are 14 21 28 35 42 49 (and 7 * 2 = 14)."),  # extra numbers fail
    ("custom:european_capitals_sort", CAPITALS + ", " + CAPITALS),  # listing everything twice
    ("custom:date_format_list", "1796-04-12 1805-12-02 1815-06-18"),  # a space is not a comma
    ("custom:csv_city", "ID,Country,City,Year,Count\n" + '"' + "x" * 200_000 + '"' + ",a,b,c,d\n" * 7),
    ("custom:csv_special_character", PRODUCTS[0] + "\n" + '"' + "x" * 200_000 + "\n"),
    ("custom:mcq_count_length", "Question 1" + "\n" * 200_000 + "A. x"),
    ("custom:mcq_count_length", "Question " * 50_000),
    ("custom:reverse_newline", "Zimbabwe\n" + "\u00c5\nB\n" * 100_000),  # Å folds to A < B
])
def test_hostile_inputs_are_decided_without_crashing(iid, response):
    verdict = check(response, iid, {}, mode="loose")
    assert verdict.status == "ok" and verdict.value is False


@pytest.mark.parametrize(("iid", "response"), [
    ("custom:reverse_newline", "\n".join(["Zimbabwe"] * 52)),
    ("custom:csv_quotes", '"StudentID"\t"Subject"\t"Grade"\t"Semester"\t"Score"\n' * 4),
    ("custom:date_format_list", "1800-01-01"),
])
def test_shape_only_checks_pass_what_the_official_passes(iid, response):
    # the official checks test the answer's shape, not its facts (documented in the module);
    # kept for agreement with IFBench's published scores
    assert check(response, iid, {}).value is True


# --- one-pass re-implementations of the official regexes agree with them ---

_OFFICIAL_SPLIT = re.compile(r"\n*(?:Question \d+[\.|\):;]?\s*)")
_OFFICIAL_SPECIAL = re.compile(r'".*[^\d\w\s].*"')


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["Question ", "Question", "1", "22", "\u0663", "\n", ":", ".", "|", " ", "x", "\t"]),
                max_size=14))
def test_question_split_matches_the_official_regex(parts):
    text = "".join(parts)
    assert list(custom._question_bodies(text)) == _OFFICIAL_SPLIT.split(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet='"a1 !_\n\u00e9\u2019\t-', max_size=12))
def test_special_field_matches_the_official_regex(field):
    assert custom._quoted_with_special(field) is bool(_OFFICIAL_SPECIAL.match(field))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="Aab.|) \t\u00e9_1-", max_size=8))
def test_option_line_matches_the_official_regex(line):
    assert custom._is_option(line) is bool(re.match(r"^[A-Ea-e][\.|\)]\s*\w+", line.strip()))


def test_sentence_alphabet_counts_sentences_far_beyond_the_first_kilobytes():
    # the checker splits only as far as 27 sentences need (a megabyte of ". " stays fast): a
    # 27th sentence or a long 26th must still be seen where it lies
    long_tail = " ".join(f"zz{i}" for i in range(40_000))
    assert check(STORY + " Zulu " + long_tail + ".", "custom:sentence_alphabet").value is False
    assert check(STORY[:-1] + " " + long_tail + ".", "custom:sentence_alphabet").value is True
    assert check(STORY + " " + long_tail + ". Another one.", "custom:sentence_alphabet").value is False
    assert check(". " * 500_000, "custom:sentence_alphabet").value is False
