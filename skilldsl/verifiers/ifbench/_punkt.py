"""English sentence splitting exactly as nltk 3.9.2's ``sent_tokenize`` (Punkt) does it.

A port of the run-time half of ``nltk/tokenize/punkt.py`` from NLTK 3.9.2 (Copyright NLTK
Project, Apache-2.0), the algorithm of Kiss & Strunk (2006), "Unsupervised Multilingual Sentence
Boundary Detection", Computational Linguistics 32(4). Training is left out: the English
parameters are the pre-trained ``punkt_tab/english`` model, shipped in ``data/`` (see its
README). nltk 3.9.2 is the version IFBench's reference pins (its ``uv.lock``); later nltk releases
changed the rules (curly quotes, the regex engine), so the port, not the installed nltk, is what
makes the sentences agree with the official checker. Decisions, names and regular expressions
follow the original; only the structure is flattened into functions over one token class.
"""
from __future__ import annotations

import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PunktModel", "split_spans"]

# Orthographic context flags (punkt.py _ORTHO_*): the case a word type was seen with, by position.
_ORTHO_BEG_UC, _ORTHO_MID_UC, _ORTHO_UNK_UC = 1 << 1, 1 << 2, 1 << 3
_ORTHO_BEG_LC, _ORTHO_MID_LC, _ORTHO_UNK_LC = 1 << 4, 1 << 5, 1 << 6
_ORTHO_UC = _ORTHO_BEG_UC | _ORTHO_MID_UC | _ORTHO_UNK_UC
_ORTHO_LC = _ORTHO_BEG_LC | _ORTHO_MID_LC | _ORTHO_UNK_LC

_SENT_END_CHARS = (".", "?", "!")
_PUNCTUATION = tuple(";:,.!?")  # sentences never start with these
_NON_WORD = r"(?:[)\";}\]\*:@\'\({\[?!])"  # characters that cannot appear within words
_MULTI_CHAR = r"(?:\-{2,}|\.{2,}|(?:\.\s){2,}\.)"  # hyphen runs and ellipses
_WORD_START = r"[^\(\"\`{\[:;&\#\*@\)}\]\-,]"

_WORD_TOKENIZER = re.compile(
    r"""(
        %(MultiChar)s
        |
        (?=%(WordStart)s)\S+?  # Accept word characters until end is found
        (?= # Sequences marking a word's end
            \s|                                 # White-space
            $|                                  # End-of-string
            %(NonWord)s|%(MultiChar)s|          # Punctuation
            ,(?=$|\s|%(NonWord)s|%(MultiChar)s) # Comma if at end of word
        )
        |
        \S
    )"""
    % {"NonWord": _NON_WORD, "MultiChar": _MULTI_CHAR, "WordStart": _WORD_START},
    re.UNICODE | re.VERBOSE,
)
_PERIOD_CONTEXT = re.compile(
    r"""
        [\.\?!]                      # a potential sentence ending
        (?=(?P<after_tok>
            %(NonWord)s              # either other punctuation
            |
            \s+(?P<next_tok>\S+)     # or whitespace and some other token
        ))"""
    % {"NonWord": _NON_WORD},
    re.UNICODE | re.VERBOSE,
)
_BOUNDARY_REALIGNMENT = re.compile(r'["\')\]}]+?(?:\s+|(?=--)|$)', re.MULTILINE)
_ELLIPSIS = re.compile(r"\.\.+$")
_NUMERIC = re.compile(r"^-?[\.,]?\d[\d,\.-]*\.?$")
_INITIAL = re.compile(r"[^\W\d]\.$", re.UNICODE)
_NON_PUNCT = re.compile(r"[^\W\d]", re.UNICODE)


@dataclass(frozen=True)
class PunktModel:
    """Pre-trained Punkt parameters: abbreviations, collocations, sentence starters, and each word
    type's orthographic context (the cases it was seen with at and inside sentences)."""

    abbrev_types: "frozenset[str]"
    collocations: "frozenset[tuple[str, str]]"
    sent_starters: "frozenset[str]"
    ortho_context: "dict[str, int]" = field(hash=False)

    @classmethod
    def load(cls, folder: Path) -> "PunktModel":
        """Read nltk's ``punkt_tab`` files (one entry per line, tab-separated fields)."""
        def lines(name: str) -> "list[str]":
            return (folder / name).read_text(encoding="utf-8").splitlines()

        ortho = {}
        for line in lines("ortho_context.tab"):
            word_type, flags = line.split("\t")
            ortho[word_type] = int(flags)
        return cls(frozenset(lines("abbrev_types.txt")),
                   frozenset(tuple(line.split("\t")) for line in lines("collocations.tab")),
                   frozenset(lines("sent_starters.txt")), ortho)


class _Token:
    """A word token with Punkt's annotations (punkt.py ``PunktToken``)."""

    __slots__ = ("tok", "type", "period_final", "sentbreak", "abbr", "ellipsis")

    def __init__(self, tok: str) -> None:
        self.tok = tok
        self.type = _NUMERIC.sub("##number##", tok.lower())
        self.period_final = tok.endswith(".")
        self.sentbreak = self.abbr = self.ellipsis = False

    @property
    def type_no_period(self) -> str:
        return self.type[:-1] if len(self.type) > 1 and self.type[-1] == "." else self.type

    @property
    def type_no_sentperiod(self) -> str:
        return self.type_no_period if self.sentbreak else self.type

    @property
    def first_upper(self) -> bool:
        return self.tok[0].isupper()

    @property
    def first_lower(self) -> bool:
        return self.tok[0].islower()

    @property
    def is_initial(self) -> bool:
        return _INITIAL.match(self.tok) is not None


def _tokenize_words(text: str) -> "Iterator[_Token]":
    # nltk also marks line and paragraph starts; only training reads them
    for line in text.split("\n"):
        if line.strip():
            for match in _WORD_TOKENIZER.finditer(line):
                yield _Token(match.group())


def _first_pass(model: PunktModel, token: _Token) -> None:
    """Type-based annotation: end marks break, ``..`` is an ellipsis, a known ``abbr.`` is an
    abbreviation, any other word ending in a period breaks."""
    tok = token.tok
    if tok in _SENT_END_CHARS:
        token.sentbreak = True
    elif _ELLIPSIS.match(tok):
        token.ellipsis = True
    elif token.period_final and not tok.endswith(".."):
        stem = tok[:-1].lower()
        if stem in model.abbrev_types or stem.split("-")[-1] in model.abbrev_types:
            token.abbr = True
        else:
            token.sentbreak = True


def _ortho_heuristic(model: PunktModel, token: _Token) -> "bool | str":
    """Whether ``token`` starts a sentence by the cases its type was seen with (True, False or
    "unknown")."""
    if token.tok in _PUNCTUATION:
        return False
    context = model.ortho_context.get(token.type_no_sentperiod, 0)
    if token.first_upper and context & _ORTHO_LC and not context & _ORTHO_MID_UC:
        return True
    if token.first_lower and (context & _ORTHO_UC or not context & _ORTHO_BEG_LC):
        return False
    return "unknown"


def _second_pass(model: PunktModel, token: _Token, following: _Token) -> None:
    """Token-context reclassification of a period-final ``token`` (Kiss & Strunk section 4)."""
    if not token.period_final:
        return
    typ, next_typ = token.type_no_period, following.type_no_sentperiod
    initial = token.is_initial
    if (typ, next_typ) in model.collocations:
        token.sentbreak, token.abbr = False, True
        return
    if (token.abbr or token.ellipsis) and not initial:
        if _ortho_heuristic(model, following) is True:
            token.sentbreak = True
            return
        if following.first_upper and next_typ in model.sent_starters:
            token.sentbreak = True
            return
    if initial or typ == "##number##":
        starts = _ortho_heuristic(model, following)
        if starts is False:
            token.sentbreak, token.abbr = False, True
            return
        if (starts == "unknown" and initial and following.first_upper
                and not model.ortho_context.get(next_typ, 0) & _ORTHO_LC):
            token.sentbreak, token.abbr = False, True


def _contains_sentbreak(model: PunktModel, text: str) -> bool:
    """Whether any token of ``text`` but the last ends a sentence (stops at the first)."""
    previous = None
    for token in _tokenize_words(text):
        _first_pass(model, token)
        if previous is not None:
            _second_pass(model, previous, token)  # reads ``token`` after its first pass only
            if previous.sentbreak:
                return True
        previous = token
    return False


def _last_whitespace(text: str) -> int:
    """Index of the last ASCII whitespace character in ``text``; 0 when there is none (sic)."""
    return max(0, max(text.rfind(char) for char in string.whitespace))


def _end_contexts(text: str) -> "Iterator[tuple[re.Match[str], str]]":
    """Each candidate end mark with its context (the word before, the mark, the token after);
    a candidate whose preceding word overlaps the next candidate's is dropped, as in nltk."""
    previous_slice, previous_match = slice(0, 0), None
    for match in _PERIOD_CONTEXT.finditer(text):
        after_space = _last_whitespace(text[previous_slice.stop:match.start()])
        start = after_space + previous_slice.stop + 1 if after_space else previous_slice.start
        word_slice = slice(start, match.start())
        if previous_match and previous_slice.stop <= word_slice.start:
            yield previous_match, text[previous_slice] + previous_match.group() + previous_match.group("after_tok")
        previous_match, previous_slice = match, word_slice
    if previous_match:
        yield previous_match, text[previous_slice] + previous_match.group() + previous_match.group("after_tok")


def _slices(model: PunktModel, text: str) -> "Iterator[tuple[int, int]]":
    last_break = 0
    for match, context in _end_contexts(text):
        if _contains_sentbreak(model, context):
            yield last_break, match.end()
            last_break = match.start("next_tok") if match.group("next_tok") else match.end()
    yield last_break, len(text.rstrip())


def split_spans(model: PunktModel, text: str) -> "Iterator[tuple[int, int]]":
    """(start, end) of each sentence of ``text``, closing quotes and brackets after an end mark
    moved onto the sentence they close (nltk ``span_tokenize`` with ``realign_boundaries``)."""
    realign = 0
    spans = list(_slices(model, text))
    for (start, stop), following in zip(spans, spans[1:] + [None]):
        start += realign
        if following is None:
            if stop > start:
                yield start, stop
            continue
        moved = _BOUNDARY_REALIGNMENT.match(text, following[0], following[1])
        if moved:
            yield start, following[0] + len(moved.group(0).rstrip())
            realign = moved.end() - following[0]
        else:
            realign = 0
            if stop > start:
                yield start, stop
