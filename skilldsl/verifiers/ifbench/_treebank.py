"""One sentence to word tokens exactly as nltk 3.9.2's ``NLTKWordTokenizer`` (Treebank rules).

A port of ``nltk/tokenize/destructive.py`` from NLTK 3.9.2 (Copyright NLTK Project, Apache-2.0),
the version IFBench's reference pins; later nltk releases changed the rules (dashes, quotes).
The substitutions and their order are the original's. One deliberate change, same tokens: the
first period rule's run of closing marks is matched atomically, because the original re-split a
period's following run of spaces at every length, quadratic in the run (a sentence such as
``"Mr." + " " * 10**6 + "x"``).
"""
from __future__ import annotations

import re

__all__ = ["tokenize"]

_CLOSING = r"\]\)}>\"\'" "»”’ "
_STARTING_QUOTES = (
    (re.compile("([«“‘„]|[`]+)", re.U), r" \1 "),
    (re.compile(r"^\""), r"``"),
    (re.compile(r"(``)"), r" \1 "),
    (re.compile(r"([ \(\[{<])(\"|\'{2})"), r"\1 `` "),
    (re.compile(r"(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b", re.U), r"\1 \2"),
)
_PUNCTUATION = (
    # (?=(X*))\3 is X* matched atomically (no backtracking into the run), linear time
    (re.compile(r"([^\.])(\.)(?=([" + _CLOSING + r"]*))\3\s*$", re.U), r"\1 \2 \3 "),
    (re.compile(r"([:,])([^\d])"), r" \1 \2"),
    (re.compile(r"([:,])$"), r" \1 "),
    (re.compile(r"\.{2,}", re.U), r" \g<0> "),
    (re.compile(r"[;@#$%&]"), r" \g<0> "),
    (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r"\1 \2\3 "),  # the final period
    (re.compile(r"[?!]"), r" \g<0> "),
    (re.compile(r"([^'])' "), r"\1 ' "),
    (re.compile(r"[*]", re.U), r" \g<0> "),
)
_PARENS_BRACKETS = (re.compile(r"[\]\[\(\)\{\}\<\>]"), r" \g<0> ")
_DOUBLE_DASHES = (re.compile(r"--"), r" -- ")
_ENDING_QUOTES = (
    (re.compile("([»”’])", re.U), r" \1 "),
    (re.compile(r"''"), " '' "),
    (re.compile(r'"'), " '' "),
    (re.compile(r"\s+"), " "),
    (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
    (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 "),
)
# Robert MacIntyre's contractions (nltk MacIntyreContractions.CONTRACTIONS2 and 3)
_CONTRACTIONS = tuple(re.compile(pattern) for pattern in (
    r"(?i)\b(can)(?#X)(not)\b",
    r"(?i)\b(d)(?#X)('ye)\b",
    r"(?i)\b(gim)(?#X)(me)\b",
    r"(?i)\b(gon)(?#X)(na)\b",
    r"(?i)\b(got)(?#X)(ta)\b",
    r"(?i)\b(lem)(?#X)(me)\b",
    r"(?i)\b(more)(?#X)('n)\b",
    r"(?i)\b(wan)(?#X)(na)(?=\s)",
    r"(?i) ('t)(?#X)(is)\b",
    r"(?i) ('t)(?#X)(was)\b",
))


def tokenize(sentence: str) -> "list[str]":
    """The Treebank-style tokens of one sentence (nltk ``NLTKWordTokenizer().tokenize``)."""
    text = sentence
    for pattern, substitution in _STARTING_QUOTES + _PUNCTUATION + (_PARENS_BRACKETS, _DOUBLE_DASHES):
        text = pattern.sub(substitution, text)
    text = " " + text + " "
    for pattern, substitution in _ENDING_QUOTES:
        text = pattern.sub(substitution, text)
    for pattern in _CONTRACTIONS:
        text = pattern.sub(r" \1 \2 ", text)
    return text.split()
