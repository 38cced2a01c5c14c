"""IFBench's ``format:*`` instructions: layout, markup and answer-shape constraints.

Each checker decides what the official ``check_following`` (allenai/IFBench ``instructions.py`` at
db69a6f) decides, in linear time, on the project's nltk-equivalent measures (``text.py``):

- ``format:parentheses``: some matching ``)``/``]``/``}`` closes while the bracket stack has
  reached depth 5 since the last mismatched closer (a mismatch empties the stack).
- ``format:quotes``: ``"`` and ``'`` nest as a stack (the quote on top closes, the other opens);
  followed once a close leaves the stack 3 below the deepest depth reached.
- ``format:options``: the options text splits on ``/``, else on ``or``, else on ``,``; an
  ``a) b) c)``-style list must be answered by one option exactly, others match ignoring case and
  surrounding ASCII punctuation and spaces (not newlines).
- ``format:newline``: with ASCII punctuation removed, non-empty lines == whitespace-split words.
- ``format:emoji``: each nltk sentence, ASCII punctuation removed, ends in an emoji (last or
  second-last character) or the next sentence starts with one.
- ``format:line_indent``: each line has more leading spaces than the one before, after the blank
  lines the official's remove-while-iterating loop drops (a blank line's successor is never
  looked at, so a second blank line in a row stays and breaks the stairs).
- ``format:quote_unquote``: whitespace removed, no ``""`` and no ``"`` ending the text once
  digits and punctuation other than ``"`` are stripped from its ends.
- ``format:list``: the marker occurs at least twice.
- ``format:thesis``: an ``<i>``/``<em>`` span with text, followed by more text (the official's
  fixed offsets of 3 and 4 characters are kept, so ``<em>`` spans keep a ``>``).
- ``format:sub-bullets``: every ``*`` is followed by a ``-`` before the next ``*``.
- ``format:no_bullets_bullets``: lines before the first ``*`` line hold at least two nltk
  sentences (a blank line there ends the prose: a later prose line fails), then only ``*`` lines,
  at least two.
- ``format:title_case``: no nltk word token starting with a letter is lower-case (``the``) or
  lower-then-upper (``tHE``).
- ``format:output_template``: ``My Answer:``, ``My Conclusion:`` and ``Future Outlook:`` appear.
- ``format:no_whitespace``: no character is whitespace.

Deliberate differences from the official checker (each accepts a response that ignores the
instruction, which a policy trained on this reward would learn):
- ``format:output_template``: each field must hold something besides its placeholder; the
  official passes the bare template ``My Answer: [answer] My Conclusion: [conclusion] ...``.
- ``format:sub-bullets``: at least one ``*`` is required; the official passes any response
  without one (plain prose), though its own docstring asks for at least one bullet.
- ``format:list``: an occurrence glued between two word characters (the ``-`` of
  ``well-known``) is not a bullet; the official counts it, so prose with two hyphenated words
  passes a ``-`` list.
- ``format:options``: an options text with an empty option (``yes//no``) is an error (the
  official would accept a response of bare punctuation as that empty option).

``OFFICIAL_LENIENCY`` states each of these as a predicate, so the differential test can tell a
documented difference from a new one.

Kept as lenient as the official, for agreement (not exploits worth a difference: following the
instruction honestly costs no more): ``((((()`` is nested 5 deep for ``format:parentheses``; a
one-line response has stairs; a response without quotes explains every quote; curly quotes are
not normalised by ``format:quote_unquote`` (the official's replacement is a no-op); ``format:
thesis`` accepts ``<em>x</em>`` alone (its offset leaves the ``>`` as following text).

Environment: ``emoji`` 2.16 (installed here) knows nine single-character emoji of Unicode 17
(U+1F6D9, U+1FA8B-D, U+1FACC, U+1FADD, U+1FAEB, U+1FAF9, U+1FAFA) that the reference's pinned
2.15 does not, so a sentence ending in one follows ``format:emoji`` here only.
"""
from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

import emoji

from ..ifeval import Instruction
from . import text
from .count import DELETE_PUNCTUATION, PUNCTUATION_AND_SPACE, derive_from, no_kwargs
from .words import first_sentences

__all__ = ["DERIVE", "INSTRUCTIONS", "OFFICIAL_LENIENCY"]

_NOT_QUOTE = re.compile(r"[^\"']+")


# --- kwargs kinds ---


@dataclass(frozen=True)
class Options:
    """A ``format:options`` options text, parsed as the official parses it."""

    text: str
    items: "tuple[str, ...]"
    exact: bool  # a), b), c) lists must be answered by one option verbatim


def _as_options(value: Any) -> Options:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected non-empty options text such as 'yes/no/maybe', got {value!r}")
    separator = "/" if "/" in value else "or" if "or" in value else ","
    items = tuple(item.strip() for item in value.split(separator))
    if any(not item.strip(PUNCTUATION_AND_SPACE) for item in items):
        raise ValueError(f"expected options separated by {separator!r} with none empty, got {value!r}")
    exact = re.match(r"\W*[aA]\W*[bB]\W*[cC]\W*", value) is not None
    return Options(value, items, exact)


# --- the checkers: (response, **clean kwargs) -> bool ---


_NOT_BRACKET = re.compile(r"[^()\[\]{}]+")
_ADJACENT_PAIRS = re.compile(r"(?:\(\)|\[\]|\{\})+")
_LONG_OPEN_RUN = re.compile(r"[(\[{]+([(\[{]{5})")
_LONG_CLOSE_RUN = re.compile(r"([)\]}]{5})[)\]}]+")
_OPENER = {")": "(", "]": "[", "}": "{"}


def _bracket_steps(response: str) -> str:
    """The response's brackets, shortened without changing the official's verdict: a run of
    adjacent matched pairs becomes ``.`` (push-then-pop: decisive only from depth 4 on), a run of
    more than 5 openers keeps its last 5 (depth 5 is reached either way, with the same top) and a
    run of more than 5 closers its first 5 (after 5 the stack is empty or the verdict is in)."""
    steps = _ADJACENT_PAIRS.sub(".", _NOT_BRACKET.sub("", response))
    return _LONG_CLOSE_RUN.sub(r"\1", _LONG_OPEN_RUN.sub(r"\1", steps))


def _nested_parentheses(response: str) -> bool:
    stack: "list[str]" = []
    depth = deepest = 0  # deepest since the last mismatched closer
    for step in _bracket_steps(response):
        if step == ".":
            if depth >= 4:  # the pair's opener reaches depth 5 and its closer matches
                return True
        elif step in "([{":
            stack.append(step)
            depth += 1
            deepest = max(deepest, depth)
        elif depth and stack[-1] == _OPENER[step]:
            if deepest >= 5:  # the official's "len(levels) < max_depth" always holds after a pop
                return True
            stack.pop()
            depth -= 1
        else:
            stack.clear()
            depth = deepest = 0
    return False


def _nested_quotes(response: str) -> bool:
    stack: "list[str]" = []
    deepest = 0  # never reset, as in the official
    for char in _NOT_QUOTE.sub("", response):
        if stack and stack[-1] == char:
            stack.pop()
            if deepest - len(stack) >= 3:
                return True
        else:
            stack.append(char)
            deepest = max(deepest, len(stack))
    return False


def _one_option(response: str, options: Options) -> bool:
    if options.exact:
        return response in options.items
    answer = response.strip(PUNCTUATION_AND_SPACE).lower()
    return any(item.strip(PUNCTUATION_AND_SPACE).lower() == answer for item in options.items)


def _word_per_line(response: str) -> bool:
    body = response.translate(DELETE_PUNCTUATION).strip()
    lines = sum(1 for line in body.split("\n") if line)
    return lines == len(body.split())


def _ends_in_emoji(body: str) -> bool:
    # the second-last character too: an emoji is often followed by a variation selector
    return emoji.is_emoji(body[-1]) or emoji.is_emoji(body[-2] if len(body) > 1 else body[-1])


def _emoji_sentences(response: str) -> bool:
    sentences = text.sentences(response)
    for i, sentence in enumerate(sentences):
        body = sentence.translate(DELETE_PUNCTUATION).strip()
        if not body:
            return False
        if _ends_in_emoji(body):
            continue
        following = sentences[i + 1].translate(DELETE_PUNCTUATION).strip() if i + 1 < len(sentences) else ""
        if not following or not emoji.is_emoji(following[0]):
            return False
    return True


def _after_official_blank_removal(lines: "list[str]") -> "list[str]":
    """The lines left by ``for line in lines: if not line.strip(): lines.remove(line)``.

    Removing shifts the list under the iterator, so the line after a visited blank line is
    skipped; each visit removes the first remaining line equal to the visited one. Emulated in
    linear time (the loop itself is quadratic on many blank lines).
    """
    visits: "Counter[str]" = Counter()
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            visits[lines[i]] += 1
            i += 2
        else:
            i += 1
    kept = []
    for line in lines:
        if visits[line] > 0:  # only blank lines were visited-and-removed
            visits[line] -= 1
        else:
            kept.append(line)
    return kept


def _indent_stairs(response: str) -> bool:
    lines = _after_official_blank_removal(response.split("\n"))
    indents = [len(line) - len(line.lstrip(" ")) for line in lines]
    return all(after > before for before, after in zip(indents, indents[1:]))


def _quote_explained(response: str) -> bool:
    body = "".join(response.replace("'\"'", "").split())  # '"' names the character: not a quote
    if '""' in body:
        return False
    return not body.strip(string.digits + string.punctuation.replace('"', "")).endswith('"')


def _special_bullets(response: str, sep: str) -> bool:
    # deliberate: an occurrence between two word characters ("well-known") is no bullet
    unglued = re.compile(rf"(?<!\w){re.escape(sep)}|{re.escape(sep)}(?!\w)")
    return response.count(sep) >= 2 and len(list(islice(unglued.finditer(response), 2))) == 2


def _italic_thesis(response: str) -> bool:
    start = response.find("<i>")
    if start == -1:
        start = response.find("<em>")
        if start == -1:
            return False
    rest = response[start:]
    end = rest.find("</i>")
    if end == -1:
        end = rest.find("</em>")
        if end == -1:
            return False
    return bool(rest[3:end].strip()) and bool(rest[end + 4:].strip())


def _sub_bullets(response: str) -> bool:
    bullets = response.split("*")[1:]
    return bool(bullets) and all("-" in bullet for bullet in bullets)


def _prose_then_bullets(response: str) -> bool:
    sentences = bullets = 0
    prose_open = True  # closed by the first bullet, and by a blank prose line (no sentences)
    for line in response.split("\n"):
        body = line.strip()
        if body.startswith("*"):
            if sentences < 2:
                return False
            prose_open = False
            bullets += 1
        elif not prose_open:
            return False
        elif body:
            # only "at least two" matters: split a line only as far as two sentences need
            sentences += len(first_sentences(body, 2)) if sentences < 2 else 1
        else:
            prose_open = False  # the official keeps this line's empty sentence list as its flag
    return bullets >= 2


def _title_case(response: str) -> bool:
    for word in text.word_tokens(response):
        if not word or not word[0].isalpha():
            continue
        if len(word) == 1:
            if word.islower():
                return False
        elif word[0].islower() and (word[1:].isupper() or word[1:].islower()):
            return False
    return True


_TEMPLATE = (("My Answer:", "[answer]"), ("My Conclusion:", "[conclusion]"), ("Future Outlook:", "[outlook]"))


def _template_field(response: str, label: str) -> str:
    """The text after ``label``'s first occurrence, up to the next template label."""
    start = response.find(label) + len(label)
    ends = [response.find(other, start) for other, _ in _TEMPLATE]
    return response[start:min((end for end in ends if end >= 0), default=len(response))]


def _output_template(response: str) -> bool:
    if not all(label in response for label, _ in _TEMPLATE):
        return False
    # deliberate: a field holding only its placeholder (or nothing) is not filled in
    return all(
        any(char.isalnum() for char in _template_field(response, label).lower().replace(placeholder, ""))
        for label, placeholder in _TEMPLATE
    )


def _no_whitespace(response: str) -> bool:
    return not any(map(str.isspace, response))


_TABLE: "tuple[tuple[str, Callable[..., bool], dict[str, Any]], ...]" = (  # id, checker, kwargs
    ("format:parentheses", _nested_parentheses, {}),
    ("format:quotes", _nested_quotes, {}),
    ("format:options", _one_option, {"options": _as_options}),
    ("format:newline", _word_per_line, {}),
    ("format:emoji", _emoji_sentences, {}),
    ("format:line_indent", _indent_stairs, {}),
    ("format:quote_unquote", _quote_explained, {}),
    ("format:list", _special_bullets, {"sep": "text"}),
    ("format:thesis", _italic_thesis, {}),
    ("format:sub-bullets", _sub_bullets, {}),
    ("format:no_bullets_bullets", _prose_then_bullets, {}),
    ("format:title_case", _title_case, {}),
    ("format:output_template", _output_template, {}),
    ("format:no_whitespace", _no_whitespace, {}),
)

INSTRUCTIONS: "dict[str, Instruction]" = {iid: Instruction(iid, check, params) for iid, check, params in _TABLE}


# --- the deliberate differences, as code: where the official passes and this checker does not ---

OFFICIAL_LENIENCY: "dict[str, Callable[..., bool]]" = {
    "format:output_template": lambda text: all(label in text for label, _ in _TEMPLATE) and not _output_template(text),
    "format:sub-bullets": lambda text: "*" not in text,  # the official: every piece after a * has a -
    "format:list": lambda text, sep: text.count(sep) >= 2 and not _special_bullets(text, sep),
}
"""Instruction id -> ``(text, **clean kwargs) -> bool``: the official checker follows ``text`` only
through a leniency this module drops on purpose (the docstring's deliberate differences). For the
differential test: a disagreement is documented when the official passes, this checker fails, and
this holds for the response (strict) or for a loose variant the official passed."""


# --- kwargs from the instruction's wording (RewardBench 2 rows carry none) ---


def _value_after(lead: str, name: str) -> "Callable[[str], dict[str, Any]]":
    """Kwarg ``name``: the text after ``lead`` up to the sentence's closing period (or the line's end)."""
    pattern = r"(?m)" + r"\s+".join(map(re.escape, lead.split())) + r"\s*([^\n]+?)(?:\.(?=\s|$)|$)"
    return derive_from(pattern, name, what=f"{lead} ...", texts=(name,))


_DERIVERS = {
    "format:options": _value_after("Answer with one of the following options:", "options"),
    "format:list": _value_after("Answer with a list of items, instead of bullet points use", "sep"),
}

DERIVE: "dict[str, Callable[[str], dict[str, Any]]]" = {iid: _DERIVERS.get(iid, no_kwargs) for iid, _, _ in _TABLE}
