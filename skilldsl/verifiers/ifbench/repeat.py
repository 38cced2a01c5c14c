"""IFBench's ``repeat:*`` instructions: repeat (part of) the request instead of answering it.

As the official ``check_following`` (allenai/IFBench ``instructions.py`` at db69a6f) decides them:

- ``repeat:repeat_change``: the response's whitespace-split words after the first equal the
  request's (``prompt_to_repeat``) after its first.
- ``repeat:repeat_simple``: the response is ``Only output this sentence here, ignore all other
  requests.``, ignoring case and surrounding whitespace.
- ``repeat:repeat_span``: the response is ``prompt_to_repeat[n_start:n_end + 1]`` (character
  indices, both included), ignoring case and surrounding whitespace.

``prompt_to_repeat`` is never filled from the whole prompt (the instruction's own sentence is
not part of the request): the data gives it, or ``DERIVE`` reads it from the wording.

Deliberate differences from the official checker:
- ``repeat:repeat_change``: the first word must differ (ignoring case); the official only asks
  that the response is not the request character for character, so the request repeated
  verbatim with a trailing space or newline passes there.
- ``repeat:repeat_span``: indices selecting no text (``n_start`` past the request or after
  ``n_end``) are an error naming them; the official would mark every response not followed.

``OFFICIAL_LENIENCY`` states the first difference as a predicate for the differential test.

Known, inherited: IFBench's test prompts for ``repeat:repeat_span`` say "the indices are word
indices, split by whitespace" while the official checker (since b5c6b82) counts characters; this
checker counts characters as the official does, so a response copying the words the prompt names
is not followed here either. ``DERIVE`` reads the request from the prompt's text, stripped: for
two of the four test prompts it differs from the data's ``prompt_to_repeat`` outside the span
(key 287: the data keeps a trailing space; key 286: the prompt shows ``\\n`` and ``\\"`` escaped
where the data has a newline and a quote), so the checked span is the same.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..ifeval import Instruction
from .count import no_kwargs

__all__ = ["DERIVE", "INSTRUCTIONS", "OFFICIAL_LENIENCY"]

_REPEAT_SIMPLE = "Only output this sentence here, ignore all other requests."


def _repeat_change(response: str, prompt_to_repeat: str) -> bool:
    wanted, given = prompt_to_repeat.split(), response.split()
    if given[1:] != wanted[1:]:  # the official compares the " "-joined words: the same test
        return False
    # deliberate: the first word is changed (the official: the text differs anywhere)
    return bool(given) and given[0].casefold() != wanted[0].casefold()


def _repeat_simple(response: str) -> bool:
    return response.strip().lower() == _REPEAT_SIMPLE.lower()


def _repeat_span(response: str, prompt_to_repeat: str, n_start: int, n_end: int) -> bool:
    return response.strip().lower() == prompt_to_repeat[n_start:n_end + 1].strip().lower()


class _SpanInstruction(Instruction):
    """``repeat:repeat_span``: its indices must select some text of the request."""

    def clean(self, kwargs: Any, prompt: str = "") -> "dict[str, Any] | str":
        clean = super().clean(kwargs, prompt)
        if isinstance(clean, str):
            return clean
        request, start, end = clean["prompt_to_repeat"], clean["n_start"], clean["n_end"]
        if not request[start:end + 1].strip():
            return (f"{self.id}: arguments 'n_start' and 'n_end' ({start}..{end}) select no text of "
                    f"'prompt_to_repeat' ({len(request)} characters)")
        return clean


INSTRUCTIONS: "dict[str, Instruction]" = {
    "repeat:repeat_change": Instruction("repeat:repeat_change", _repeat_change, {"prompt_to_repeat": "text"}),
    "repeat:repeat_simple": Instruction("repeat:repeat_simple", _repeat_simple, {}),
    "repeat:repeat_span": _SpanInstruction(
        "repeat:repeat_span", _repeat_span, {"prompt_to_repeat": "text", "n_start": "count", "n_end": "count"}),
}


def _first_word_kept(response: str, prompt_to_repeat: str) -> bool:
    """The official follows (the text differs, the words after the first match) though the first
    word is the request's own."""
    return response != prompt_to_repeat and response.split()[1:] == prompt_to_repeat.split()[1:] \
        and not _repeat_change(response, prompt_to_repeat)


OFFICIAL_LENIENCY: "dict[str, Callable[..., bool]]" = {"repeat:repeat_change": _first_word_kept}
"""Instruction id -> ``(text, **clean kwargs) -> bool``: the official follows ``text`` only through a
leniency this module drops on purpose (see ``formatting.OFFICIAL_LENIENCY``)."""


# --- kwargs from the instruction's wording (RewardBench 2 rows carry none) ---


def _flexible(wording: str) -> str:
    """A pattern for ``wording`` with any whitespace between its words."""
    return r"\s+".join(map(re.escape, wording.split()))


_CHANGE = re.compile(
    _flexible("Repeat the request, but change the first word of the repeated request,") + r"[^!]*!"
    + r"(?:\s*Request:)?", re.IGNORECASE)
_SPAN = re.compile(
    _flexible("Copy the span of words that lies between (and including) index") + r"\s+(\d+)\s+and\s+(\d+)"
    + r"[^!\n]*!?", re.IGNORECASE)


def _request_around(prompt: str, found: "re.Match[str]", wording: str) -> str:
    """The request: the text after the instruction (the official's ``Request: ...``), else before."""
    request = prompt[found.end():].strip() or prompt[:found.start()].strip()
    if not request:
        raise ValueError(f"the prompt holds only the {wording} instruction: no request to repeat")
    return request


def _derive_change(prompt: str) -> "dict[str, Any]":
    found = _CHANGE.search(prompt)
    if found is None:
        raise ValueError("the prompt does not say the request: no 'Repeat the request, but change the first word'")
    if prompt[found.end():].strip() and "request:" not in found.group(0).lower():
        raise ValueError("text follows the repeat_change instruction: cannot tell which part is the request")
    return {"prompt_to_repeat": _request_around(prompt, found, "repeat_change")}


def _derive_span(prompt: str) -> "dict[str, Any]":
    found = _SPAN.search(prompt)
    if found is None:
        raise ValueError("the prompt does not say 'n_start' and 'n_end': no 'Copy the span of words ... index N and M'")
    if prompt[found.end():].strip() and prompt[:found.start()].strip():
        raise ValueError("text on both sides of the repeat_span instruction: cannot tell which part is the request")
    request = _request_around(prompt, found, "repeat_span")
    return {"prompt_to_repeat": request, "n_start": int(found.group(1)), "n_end": int(found.group(2))}


DERIVE: "dict[str, Callable[[str], dict[str, Any]]]" = {
    "repeat:repeat_change": _derive_change,
    "repeat:repeat_simple": no_kwargs,
    "repeat:repeat_span": _derive_span,
}
