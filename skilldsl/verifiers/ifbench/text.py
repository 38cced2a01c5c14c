"""Text measures IFBench's checkers share: sentences, word tokens, ``\\w+`` words, stop words.

IFBench's reference (allenai/IFBench ``instructions_util``, run with the nltk 3.9.2 its lock file
pins) splits sentences with nltk's ``sent_tokenize`` (English Punkt), tokenises with
``nltk.word_tokenize``, counts words with ``RegexpTokenizer(r"\\w+")`` and stop words with
nltk's English list. These give the same results with no nltk and no data download: Punkt and the
Treebank rules are ported (``_punkt``, ``_treebank``), and the English Punkt model and stop-word
list ship with the package (``data/``; sources and licences in ``data/README.md``). Every
function is linear in the text's length.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from . import _punkt, _treebank
from ..ifeval_text import count_words  # noqa: F401  (re-exported: len(words(text)) without the list)

__all__ = ["STOPWORDS", "count_words", "sentences", "word_tokens", "words"]

_DATA = Path(__file__).with_name("data")
_WORD = re.compile(r"\w+")  # nltk 3.9.2's RegexpTokenizer compiles with the standard re


def _stopwords() -> "frozenset[str]":
    # nltk's word-list reader drops blank lines and keeps the rest as they are
    lines = (_DATA / "stopwords_english.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line.strip())


STOPWORDS: "frozenset[str]" = _stopwords()
"""nltk's English stop words (``stopwords.words("english")``, 198 lower-case words); IFBench
counts a ``\\w+`` word as a stop word when its lower-cased form is in this set."""


@functools.cache
def _model() -> _punkt.PunktModel:
    return _punkt.PunktModel.load(_DATA / "punkt_english")


def words(text: str) -> "list[str]":
    """The ``\\w+`` runs of ``text`` (nltk ``RegexpTokenizer(r"\\w+").tokenize``)."""
    return _WORD.findall(text)


@functools.lru_cache(maxsize=16)
def _sentences(text: str) -> "tuple[str, ...]":
    # cached (as _word_tokens): the checks of one response and its loose variants split the
    # same texts again; 16 entries bound the memory a batch of huge responses can hold
    return tuple(text[start:stop] for start, stop in _punkt.split_spans(_model(), text))


def sentences(text: str) -> "list[str]":
    """``text`` split into sentences as nltk's ``sent_tokenize(text)`` (English) splits it."""
    return list(_sentences(text))


@functools.lru_cache(maxsize=16)
def _word_tokens(text: str) -> "tuple[str, ...]":
    return tuple(token for sentence in _sentences(text) for token in _treebank.tokenize(sentence))


def word_tokens(text: str) -> "list[str]":
    """``text`` tokenised as ``nltk.word_tokenize(text)``: Treebank rules within each sentence."""
    return list(_word_tokens(text))
