"""One sentence to word tokens exactly as nltk 3.9.2's ``NLTKWordTokenizer`` (Treebank rules).

A port of ``nltk/tokenize/destructive.py`` from NLTK 3.9.2 (Copyright NLTK Project, Apache-2.0),
the version IFBench's reference pins; later nltk releases changed the rules (dashes, quotes).
The substitutions and their order are the original's. Deliberate changes, same tokens:

- the first period rule's run of closing marks is matched atomically, because the original
  re-split a period's following run of spaces at every length, quadratic in the run (a sentence
  such as ``"Mr." + " " * 10**6 + "x"``);
- a rule runs only when the sentence can hold a match: one of its characters is present and, for
  some, a literal every match contains (most sentences need few of the rules; the regex passes
  are the tokeniser's cost);
- ``\\s+`` to one space is ``str.split`` and ``join`` (``\\s`` and ``str.isspace`` agree on
  every code point).
"""
from __future__ import annotations

import re

__all__ = ["tokenize"]

# (pattern, substitution, chars, literal): a match needs one of ``chars`` and contains ``literal``
_Rule = "tuple[re.Pattern[str], str, frozenset[str], str]"


def _rule(pattern: str, substitution: str, chars: str, literal: str = "", flags: int = 0) -> _Rule:
    return re.compile(pattern, flags), substitution, frozenset(chars), literal


_CLOSING = r"\]\)}>\"\'" "»”’ "
_STARTING = (
    _rule("([«“‘„]|[`]+)", r" \1 ", "«“‘„`", flags=re.U),
    _rule(r"^\"", r"``", '"'),
    _rule(r"(``)", r" \1 ", "`", "``"),
    _rule(r"([ \(\[{<])(\"|\'{2})", r"\1 `` ", "\"'"),
    _rule(r"(?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b", r"\1 \2", "'", flags=re.U),
    # punctuation; (?=(X*))\3 is X* matched atomically (no backtracking into the run), linear time
    _rule(r"([^\.])(\.)(?=([" + _CLOSING + r"]*))\3\s*$", r"\1 \2 \3 ", ".", flags=re.U),
    _rule(r"([:,])([^\d])", r" \1 \2", ":,"),
    _rule(r"([:,])$", r" \1 ", ":,"),
    _rule(r"\.{2,}", r" \g<0> ", ".", "..", flags=re.U),
    _rule(r"[;@#$%&]", r" \g<0> ", ";@#$%&"),
    _rule(r'([^\.])(\.)([\]\)}>"\']*)\s*$', r"\1 \2\3 ", "."),  # the final period
    _rule(r"[?!]", r" \g<0> ", "?!"),
    _rule(r"([^'])' ", r"\1 ' ", "'", "' "),
    _rule(r"[*]", r" \g<0> ", "*", flags=re.U),
    # parens, brackets and double dashes
    _rule(r"[\]\[\(\)\{\}\<\>]", r" \g<0> ", "[](){}<>"),
    _rule(r"--", r" -- ", "-", "--"),
)
_ENDING_QUOTES = (  # on " " + text + " "
    _rule("([»”’])", r" \1 ", "»”’", flags=re.U),
    _rule(r"''", " '' ", "'", "''"),
    _rule(r'"', " '' ", '"'),
)
_ENDING_CLITICS = (  # after nltk's \s+ -> " ", which runs between these two groups
    _rule(r"([^' ])('[sS]|'[mM]|'[dD]|') ", r"\1 \2 ", "'"),
    _rule(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", r"\1 \2 ", "'"),
)
# Robert MacIntyre's contractions (nltk MacIntyreContractions.CONTRACTIONS2 and 3), each with
# its letters in lower case: they must be in the text with re's case folding (below)
_CONTRACTIONS = tuple((re.compile(pattern), letters) for pattern, letters in (
    (r"(?i)\b(can)(?#X)(not)\b", "cannot"),
    (r"(?i)\b(d)(?#X)('ye)\b", "d'ye"),
    (r"(?i)\b(gim)(?#X)(me)\b", "gimme"),
    (r"(?i)\b(gon)(?#X)(na)\b", "gonna"),
    (r"(?i)\b(got)(?#X)(ta)\b", "gotta"),
    (r"(?i)\b(lem)(?#X)(me)\b", "lemme"),
    (r"(?i)\b(more)(?#X)('n)\b", "more'n"),
    (r"(?i)\b(wan)(?#X)(na)(?=\s)", "wanna"),
    (r"(?i) ('t)(?#X)(is)\b", "'tis"),
    (r"(?i) ('t)(?#X)(was)\b", "'twas"),
))
# (?i) also matches these four letters to ASCII ones (the re docs, IGNORECASE); str.lower alone
# would miss them (or, for İ, add a combining dot)
_RE_CASE_FOLD = str.maketrans("İıſ\u212a", "iisk")


def _apply(text: str, rules: "tuple[_Rule, ...]", present: "set[str]") -> str:
    for pattern, substitution, chars, literal in rules:
        if not chars.isdisjoint(present) and literal in text:
            text = pattern.sub(substitution, text)
    return text


def tokenize(sentence: str) -> "list[str]":
    """The Treebank-style tokens of one sentence (nltk ``NLTKWordTokenizer().tokenize``)."""
    present = set(sentence)
    if '"' in present or "'" in present:
        present |= {"`", "'"}  # the only characters a rule adds besides spaces: `` and '' for quotes
    text = _apply(sentence, _STARTING, present)
    text = _apply(" " + text + " ", _ENDING_QUOTES, present)
    text = " " + " ".join(text.split()) + " " if text.strip() else " "
    text = _apply(text, _ENDING_CLITICS, present)
    folded = text.translate(_RE_CASE_FOLD).lower()  # the rules below insert spaces only
    for pattern, letters in _CONTRACTIONS:
        if letters in folded:
            text = pattern.sub(r" \1 \2 ", text)
    return text.split()
