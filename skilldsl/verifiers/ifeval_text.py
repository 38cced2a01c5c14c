"""Text measures IFEval's checkers need: words, sentences, capitalised words, language.

IFEval's reference counts words with nltk's ``RegexpTokenizer(r"\\w+")``, sentences with nltk's
pre-trained Punkt model and capitalised words with ``nltk.word_tokenize``; the Punkt model is not
on PyPI, so :func:`count_sentences` re-implements the parts of Punkt's decision procedure that
matter for counting (candidate contexts, abbreviations, numbers, initials, ellipses) with a
small built-in abbreviation list. Language detection uses ``langdetect`` (as the reference does),
imported on first use and seeded for determinism.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Iterator

__all__ = ["count_words", "count_sentences", "count_capital_words", "detect_language"]

_WORD = re.compile(r"\w+")

# Punkt's candidate contexts (nltk PunktLanguageVars._period_context_fmt): a token ending in
# . ? or ! followed by closing punctuation (a "non-word" char) or by whitespace and a token.
_NON_WORD = set(")\";}]*:@'({[!?")
_SPLIT_NON_WORD = re.compile(r"[)\";}\]*:@'({\[!?]")
_NOT_WORD_START = set("(\"`{[:;&#*@)}]-,")
_NUMBER = re.compile(r"^-?[.,]?\d[\d,.-]*\.?$")
_INITIAL = re.compile(r"^[^\W\d]\.$")
_NOT_STARTERS = frozenset(";:,.!?")  # Punkt: sentences never start with these
# nltk's own regex starts at every non-space char, which is quadratic on a long run without
# spaces; starting only at the beginning of a run finds the same matches (the greedy \S*
# always reaches the run's last qualifying end char) in linear time.
_CONTEXT = re.compile(
    r"(?<!\S)\S*[.?!](?=(?P<after>[)\";}\]*:@'({\[!?])|\s+(?P<next>\S+))"
)
# What Punkt moves from the start of a sentence onto the previous one (closing quotes etc.).
_REALIGN = re.compile(r"[\"')\]}]+\s*$")

# Common entries of Punkt's English abbreviation list (lower case, without the final period).
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e u.s u.k u.n a.m p.m inc ltd co corp
    no nos vol pp ca cf gen gov sen rep rev col lt sgt capt jan feb mar apr jun jul aug sep sept
    oct nov dec mon tue wed thu fri sat sun dept est approx fig al ph.d b.c a.d d.c n.y l.a
    messrs mme mlle u.s.a""".split()
)
# Capitalised words Punkt takes as sentence starters after an abbreviation or an ellipsis.
_STARTERS = frozenset(
    """the a an it this that these those he she they we i you in on at for but and or so if
    however there then when while as after before also his her their our its my what how why
    each every some many most all one no not""".split()
)


def count_words(text: str) -> int:
    """Number of ``\\w+`` runs, as IFEval's ``count_words``."""
    return sum(1 for _ in _WORD.finditer(text))


def _candidates(text: str) -> "Iterator[tuple[str, str, int]]":
    """Punkt's candidate contexts as (word material, next token, where the next sentence starts)."""
    for match in _CONTEXT.finditer(text):
        nxt = match.group("next")
        if nxt is None:
            yield match.group(), match.group("after"), match.end()
        else:
            yield match.group(), nxt, match.start("next")


def _next_token(following: str) -> str:
    """The first Punkt word token of the text after a candidate (punctuation stands alone)."""
    if following[0] in _NOT_WORD_START or following[0] in _NON_WORD:
        return following[0]
    return _SPLIT_NON_WORD.split(following, maxsplit=1)[0]


def _ends_sentence(candidate: str, following: str) -> bool:
    """Punkt's verdict on one candidate context: does a sentence end here?"""
    if "?" in candidate or "!" in candidate:
        return True  # ? and ! are tokens of their own and always break
    token = _SPLIT_NON_WORD.split(candidate)[-1]
    if token in ("", "."):
        return True  # a period standing alone
    nxt = _next_token(following)
    if token.endswith("..") or _is_abbreviation(token):
        return _starts_sentence(nxt)  # ellipses and abbreviations break only before a starter
    if _INITIAL.match(token) or _NUMBER.match(token):
        # Punkt's orthographic heuristic: no break before a lower-case word or ; : , . ! ?
        if nxt[:1].islower() or nxt in _NOT_STARTERS:
            return False
        # a capital initial before a name is an abbreviation ("J. Bach"); "in o. Let's" breaks
        return not (token[0].isupper() and nxt[:1].isupper() and not _starts_sentence(nxt))
    return True


def _is_abbreviation(token: str) -> bool:
    stem = token[:-1].lower()
    return stem in _ABBREVIATIONS or stem.split("-")[-1] in _ABBREVIATIONS


def _starts_sentence(token: str) -> bool:
    return token[:1].isupper() and token.lower() in _STARTERS


def count_sentences(text: str, limit: "int | None" = None) -> int:
    """Number of sentences as Punkt (nltk ``english.pickle``) splits ``text``.

    Counting stops at ``limit`` (enough to compare with a threshold), which keeps a megabyte of
    one-word sentences cheap.
    """
    if not text:
        return 0
    count, last = 0, 0
    for candidate, following, start in _candidates(text):
        if limit is not None and count >= limit:
            return count
        if _ends_sentence(candidate, following):
            count, last = count + 1, start
    tail = text[last:]
    return count + (0 if count and _REALIGN.match(tail) else 1)


# nltk.word_tokenize splits these off words; contractions become their own tokens.
_TOKEN_SPLIT = re.compile(r"[\s,;:@#$%&?!()\[\]{}<>\"`*]+")
_CONTRACTION = re.compile(r"(?i)^(.+?)('s|'m|'d|'ll|'re|'ve|n't)$")


def _contraction_tokens(chunk: str) -> "tuple[str, ...]":
    """nltk's tokens for one chunk: quotes stripped, a contraction split off (``DON'T`` -> 2)."""
    chunk = chunk.strip("'")
    parts = _CONTRACTION.match(chunk)
    return parts.groups() if parts else (chunk,)


def count_capital_words(text: str) -> int:
    """Number of all-capital tokens (``str.isupper``), as IFEval's ``capital_word_frequency``.

    Tokens approximate ``nltk.word_tokenize``: split at spaces and the punctuation it splits
    off, contractions as tokens of their own.
    """
    if text.lower() == text:
        return 0  # no upper-case letter at all: skip tokenising a megabyte of lower case
    chunks = _TOKEN_SPLIT.split(text)
    count = sum(map(str.isupper, chunks))
    for chunk in chunks:
        if "'" in chunk:  # only these tokenise differently from the plain split
            count += sum(map(str.isupper, _contraction_tokens(chunk))) - chunk.isupper()
    return count


# langdetect reads at most 10,000 characters (after dropping URLs and e-mail addresses); its
# clean-up regexes run over the whole text, so very long responses are cut first.
_LANGDETECT_CHARS = 100_000


@functools.lru_cache(maxsize=1)
def _detector():  # type: ignore[no-untyped-def]
    import langdetect  # heavy-ish (loads profiles): only when a language check runs

    langdetect.DetectorFactory.seed = 0  # langdetect is random without a seed
    return langdetect


def detect_language(text: str) -> "str | None":
    """ISO 639-1 code ``langdetect`` gives ``text`` (``zh-cn`` style for Chinese); None if unsure.

    None means langdetect found no features (digits, symbols only); IFEval counts that as
    following the instruction.
    """
    return _detect(text[:_LANGDETECT_CHARS])  # the cut also bounds the cache's memory


@functools.lru_cache(maxsize=128)  # loose mode and ifeval.all ask about the same texts
def _detect(text: str) -> "str | None":
    langdetect = _detector()
    try:
        return langdetect.detect(text)
    except langdetect.LangDetectException:
        return None
