"""IFBench's ``custom:*`` instructions: fixed tasks whose answer has a checkable shape.

Each id is one fixed prompt (its wording is the official ``_description_pattern``); none takes
kwargs and none reads the prompt: the facts it compares with are embedded, as in the official
``instructions.py`` (allenai/IFBench, commit db69a6f):

- ``character_reverse``: the lower-cased response contains ``elgae dlab``.
- ``csv_city``: the response parses (Python ``csv``, comma) to exactly 8 rows, the first
  ``ID,Country,City,Year,Count``, every other one 5 fields.
- ``csv_quotes``: the first line (stripped) is the 5 column names, tab separated, each bare or
  in double quotes; with every ``"`` tripled (so a quoted field keeps its quotes) it parses
  (tab) to exactly 4 rows of 5 fields, each field starting and ending with ``"`` once stripped.
- ``csv_special_character``: the same header test for ``ProductID,Category,Brand,Price,Stock``
  (comma); 15 rows; the first data row that holds a field ``"…x…"`` (``x`` neither a word
  character nor space, before the first newline) passes, if every row before it and it has 5
  fields.
- ``date_format_list``: every comma-separated item is ``YYYY-MM-DD`` (any Unicode digits, as
  ``\\d``), year 1769-1821, month at most 12, day at most the month's length (29 for February;
  month 00 and day 00 pass, as in the official).
- ``european_capitals_sort``: accents folded to ASCII, the non-blank comma-separated items are
  exactly the official 27 capitals north of 45°, highest latitude first.
- ``mcq_count_length``: the response starts with ``Question``; split at ``Question <n>`` labels
  into exactly 4 questions, each with exactly 5 option lines (``A.``/``b)``/``C|`` then a word)
  and question texts (the lines before the first option) strictly longer each time.
- ``multiples``: the digit runs of the response are exactly 14, 21, 28, 35, 42, 49.
- ``reverse_newline``: from the first line containing ``Zimbabwe`` on, at least 52 non-blank
  lines (ASCII punctuation and spaces stripped), accents folded, in non-increasing order.
- ``sentence_alphabet``: exactly 26 sentences (nltk Punkt), the i-th starting with the i-th
  letter.
- ``word_reverse``: lower-cased, ASCII punctuation removed, words in reverse order, the text
  contains ``bald eagle`` and is one sentence.

These are the official checks, faithfully: they test the answer's shape, not its truth (52 lines
``Zimbabwe`` pass ``reverse_newline``; any dates in range pass ``date_format_list``).

Deliberate differences from the official checker (each where it would crash or go quadratic):
- a response the ``csv`` module refuses (a field over its size limit, a bare ``\\r`` inside an
  unquoted field) and, in ``csv_quotes``, a blank field: the official raises; here it is not
  followed.
- ``mcq_count_length`` splits questions and matches ``csv_special_character``'s quoted field in
  one pass (the official regexes backtrack quadratically on long runs of newlines or of
  characters without a closing quote); the result is the same.
"""
from __future__ import annotations

import csv
import io
import re
import string
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

from ..ifeval import Instruction
from . import text
from .count import DELETE_PUNCTUATION, PUNCTUATION_AND_SPACE
from .words import first_sentences

# --- shared helpers ---


def _fold_ascii(value: str) -> str:
    """Accents removed, the rest of non-ASCII dropped (NFKD, then ASCII ignoring errors)."""
    return unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")


def _csv_rows(value: str, delimiter: str, most: int) -> "list[list[str]] | None":
    """The first ``most`` rows ``csv`` reads from ``value`` (``most + 1`` if there are more), or
    None where ``csv`` refuses the text."""
    rows: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(value), delimiter=delimiter):
            rows.append(row)
            if len(rows) > most:  # already too many: the rest cannot make it pass
                break
    except csv.Error:  # the official raises here
        return None
    return rows


def _header_pattern(names: "tuple[str, ...]", separator: str) -> "re.Pattern[str]":
    """A header line of ``names``, each bare or in double quotes, joined by ``separator`` and
    optional spaces."""
    return re.compile(separator.join(f'(?:{name}|"{name}")' for name in names))


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"  # what the re module's \w matches


# --- the checkers ---


def _character_reverse(response: str) -> bool:
    return "elgae dlab" in response.lower()


_CITY_HEADER = ["ID", "Country", "City", "Year", "Count"]


def _csv_city(response: str) -> bool:
    rows = _csv_rows(response, ",", 8)
    return rows is not None and len(rows) == 8 and rows[0] == _CITY_HEADER and all(len(r) == 5 for r in rows[1:])


_QUOTES_HEADER = _header_pattern(("StudentID", "Subject", "Grade", "Semester", "Score"), "\t *")


def _fully_quoted(field: str) -> bool:
    body = field.strip()
    return bool(body) and body[0] == '"' and body[-1] == '"'  # blank: the official raises


def _csv_quotes(response: str) -> bool:
    if not _QUOTES_HEADER.fullmatch(response.partition("\n")[0].strip()):
        return False
    rows = _csv_rows(response.replace('"', '"""'), "\t", 4)
    return (rows is not None and len(rows) == 4
            and all(len(row) == 5 and all(_fully_quoted(f) for f in row) for row in rows))


_PRODUCT_HEADER = _header_pattern(("ProductID", "Category", "Brand", "Price", "Stock"), ",[ \t]*")


def _quoted_with_special(field: str) -> bool:
    """Whether ``field`` starts with the official ``".*[^\\d\\w\\s].*"``: a quote, later a
    character neither word nor space, later a quote, all before the first newline."""
    line = field.partition("\n")[0]
    last_quote = line.rfind('"')
    return (line.startswith('"') and last_quote >= 2
            and any(not (_is_word_char(c) or c.isspace()) for c in line[1:last_quote]))


def _csv_special_character(response: str) -> bool:
    if not _PRODUCT_HEADER.fullmatch(response.partition("\n")[0].strip()):
        return False
    rows = _csv_rows(response.replace('"', '"""'), ",", 15)
    if rows is None or len(rows) != 15:
        return False
    for row in rows[1:]:  # the official returns at the first row with such a field
        if len(row) != 5:
            return False
        if any(_quoted_with_special(field) for field in row):
            return True
    return False


_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTH_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def _plausible_date(item: str) -> bool:
    match = _DATE.fullmatch(item.strip())
    if not match:
        return False
    year, month, day = (int(part) for part in match.groups())  # int() reads any Unicode digits
    return 1769 <= year <= 1821 and month <= 12 and day <= _MONTH_DAYS.get(month, 99)


def _date_format_list(response: str) -> bool:
    return all(_plausible_date(item) for item in response.strip().split(","))


_CAPITALS_BY_LATITUDE = (
    "Reykjavik", "Helsinki", "Oslo", "Tallinn", "Stockholm", "Riga", "Moscow", "Copenhagen", "Vilnius",
    "Minsk", "Dublin", "Berlin", "Amsterdam", "Warsaw", "London", "Brussels", "Prague", "Luxembourg",
    "Paris", "Vienna", "Bratislava", "Budapest", "Vaduz", "Chisinau", "Bern", "Ljubljana", "Zagreb",
)  # the official's list: European capitals north of 45°, highest first


def _european_capitals_sort(response: str) -> bool:
    items = [item.strip() for item in _fold_ascii(response).split(",") if item.strip()]
    return tuple(items) == _CAPITALS_BY_LATITUDE


def _question_bodies(response: str) -> "Iterator[str]":
    """The texts between ``Question <digits>`` labels, as the official's
    ``re.split(r'\\n*(?:Question \\d+[\\.|\\):;]?\\s*)', response)`` cuts them (one pass)."""
    start = search = 0
    while (found := response.find("Question ", search)) >= 0:
        end = digits = found + len("Question ")
        while end < len(response) and response[end].isdecimal():  # \d
            end += 1
        if end == digits:
            search = found + 1
            continue
        if end < len(response) and response[end] in ".|):;":
            end += 1
        while end < len(response) and response[end].isspace():  # \s*
            end += 1
        label = found
        while label > start and response[label - 1] == "\n":  # the leading \n* is the label's
            label -= 1
        yield response[start:label]
        start = search = end
    yield response[start:]


def _is_option(line: str) -> bool:
    """The official ``^[A-Ea-e][\\.|\\)]\\s*\\w+`` on the stripped line."""
    body = line.strip()
    rest = body[2:].lstrip()
    return len(body) > 2 and body[0] in "ABCDEabcde" and body[1] in ".|)" and bool(rest) and _is_word_char(rest[0])


def _question_length(question: str) -> "int | None":
    """Length of the question's text (its lines before the first option, joined by spaces), or
    None unless it has exactly 5 options."""
    stem, options = "", 0
    for line in question.split("\n"):
        if _is_option(line):
            options += 1
        elif not options:
            stem += " " + line.strip()
    return len(stem.strip()) if options == 5 else None


def _mcq_count_length(response: str) -> bool:
    if not response.startswith("Question"):  # anything before the first question is an explanation
        return False
    questions = [body.strip() for body in _question_bodies(response) if body.strip()]
    if len(questions) != 4:
        return False
    lengths = [_question_length(question) for question in questions]
    return None not in lengths and all(a < b for a, b in zip(lengths, lengths[1:]))


_MULTIPLES_OF_7 = ("14", "21", "28", "35", "42", "49")
_DIGITS = re.compile(r"\d+")


def _multiples(response: str) -> bool:
    numbers = _DIGITS.finditer(response)
    expected = iter(_MULTIPLES_OF_7)
    for number in numbers:  # stop at the first number out of place
        if number.group() != next(expected, None):
            return False
    return next(expected, None) is None


def _reverse_newline(response: str) -> bool:
    lines = [line.strip(PUNCTUATION_AND_SPACE) for line in response.split("\n")]
    lines = [line for line in lines if line]
    start = next((i for i, line in enumerate(lines) if "Zimbabwe" in line), None)
    if start is None or len(lines) - start < 52:
        return False
    folded = _fold_ascii("\n".join(lines[start:])).split("\n")  # folding never makes or takes a newline
    return all(a >= b for a, b in zip(folded, folded[1:]))


def _sentence_alphabet(response: str) -> bool:
    found = first_sentences(response, 27)  # a 27th is enough to fail: split no further
    if len(found) != 26:
        return False
    for letter, sentence in zip(string.ascii_lowercase, found):
        first = sentence.split(None, 1)
        if not first or first[0].lower()[0] != letter:
            return False
    return True


def _word_reverse(response: str) -> bool:
    reversed_words = " ".join(response.lower().strip().translate(DELETE_PUNCTUATION).split()[::-1])
    # without . ! ? Punkt keeps the text whole; asked anyway, as the official does
    return "bald eagle" in reversed_words and reversed_words in text.sentences(reversed_words)


_TABLE: "tuple[tuple[str, Callable[..., bool], dict[str, Any]], ...]" = (  # id, checker, kwargs
    ("custom:character_reverse", _character_reverse, {}),
    ("custom:csv_city", _csv_city, {}),
    ("custom:csv_quotes", _csv_quotes, {}),
    ("custom:csv_special_character", _csv_special_character, {}),
    ("custom:date_format_list", _date_format_list, {}),
    ("custom:european_capitals_sort", _european_capitals_sort, {}),
    ("custom:mcq_count_length", _mcq_count_length, {}),
    ("custom:multiples", _multiples, {}),
    ("custom:reverse_newline", _reverse_newline, {}),
    ("custom:sentence_alphabet", _sentence_alphabet, {}),
    ("custom:word_reverse", _word_reverse, {}),
)

INSTRUCTIONS: "dict[str, Instruction]" = {iid: Instruction(iid, check, params) for iid, check, params in _TABLE}

DERIVE: "dict[str, Callable[[str], dict[str, Any]]]" = {}
"""None of the ``custom:*`` ids takes kwargs: nothing to read from the wording."""
