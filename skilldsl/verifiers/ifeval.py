"""IFEval's 25 verifiable instructions as the verifiers ``ifeval.follows`` and ``ifeval.all``.

Semantics follow IFEval (Zhou et al. 2023, google-research ``instruction_following_eval``):
each instruction id has a checker over the response text and its ``kwargs``. ``strict`` checks
the response as given; ``loose`` also tries the response without its first line, without its
last line, without both, and each of those with ``*`` removed, and is followed if any passes.
An empty (whitespace-only) response follows nothing, as in the reference.

An instruction id without a checker is ``na`` (the skill's judge decides it); everything else
that keeps a checker from running is the data's or the skill's mistake and an ``error`` naming
it, never an ``na`` that would hand the instruction to the judge: missing, mistyped or unknown
``kwargs`` (``{"num_words": "fifty"}``), kwargs that are not a mapping, an instruction id or a
response that is not text, an unknown ``mode``.

Deliberate differences from the reference (it would crash, guess or go quadratic):
- missing, mistyped or unknown ``kwargs`` are errors naming the argument (the reference picks
  random values); keys whose value is null are ignored (the published data has many).
- keywords are matched literally (the reference compiles them as regular expressions).
- ``keywords:letter_frequency`` counts any single character (the reference swaps a non-letter
  such as the ``#`` or ``!`` some IFEval prompts ask for with a random letter).
- ``combination:repeat_prompt`` falls back to the ``prompt`` argument when ``kwargs`` has no
  ``prompt_to_repeat``.
- an IFBench id that takes kwargs but gets none (None, ``{}`` or only nulls, as on RewardBench
  2's Precise IF rows) reads them from its wording in ``prompt`` (``ifbench.DERIVE``); the
  verdict's detail ``kwargs_derived`` shows what was read, and wording that cannot be read is
  ``na`` with the reason (the judge's to decide). IFEval ids never derive: missing is an error.
- every pattern runs in linear time, so megabyte responses stay fast.
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from . import ifeval_text as text
from .registry import Verdict, verifier

__all__ = ["INSTRUCTIONS", "Instruction", "Undecidable", "check", "follows", "follows_all", "instruction_for",
           "loose_variants"]

_RELATIONS = ("less than", "at least")


# --- kwargs validation: each kind turns a raw value into a clean one or raises ValueError ---


def _as_count(value: Any) -> int:
    whole = isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and value.is_integer()
    if not whole:  # also NaN and infinity
        raise ValueError(f"expected a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"expected a non-negative number, got {value!r}")
    return int(value)


def _as_position(value: Any) -> int:
    if _as_count(value) < 1:
        raise ValueError(f"expected a position counted from 1, got {value!r}")
    return int(value)


def _as_text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected non-empty text, got {value!r}")
    return value


def _as_words(value: Any) -> "tuple[str, ...]":
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"expected a non-empty list of words, got {value!r}")
    return tuple(_as_text(word) for word in value)


def _as_relation(value: Any) -> str:
    if value not in _RELATIONS:
        raise ValueError(f"expected one of {list(_RELATIONS)}, got {value!r}")
    return value


def _as_letter(value: Any) -> str:
    # the reference swaps a non-letter for a random letter; IFEval's own prompts ask for "#"
    # and "!" counts, so any single visible character is counted as given
    if not isinstance(value, str) or len(value.strip()) != 1:
        raise ValueError(f"expected a single character, got {value!r}")
    return value.strip().lower()


def _as_language(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z]{2,4})?", value):
        raise ValueError(f"expected an ISO 639-1 language code such as 'en', got {value!r}")
    return value.lower()


_KINDS: dict[str, Callable[[Any], Any]] = {
    "count": _as_count, "position": _as_position, "text": _as_text, "words": _as_words,
    "relation": _as_relation, "letter": _as_letter, "language": _as_language,
}


# --- the checkers: (response, **clean kwargs) -> bool ---


def _compare(count: int, relation: str, target: int) -> bool:
    return count < target if relation == "less than" else count >= target


def _keywords_exist(response: str, keywords: "tuple[str, ...]") -> bool:
    return all(re.search(re.escape(k), response, re.IGNORECASE) for k in keywords)


def _keyword_frequency(response: str, keyword: str, frequency: int, relation: str) -> bool:
    count = len(re.findall(re.escape(keyword), response, re.IGNORECASE))
    return _compare(count, relation, frequency)


def _forbidden_words(response: str, forbidden_words: "tuple[str, ...]") -> bool:
    return not any(
        re.search(r"\b" + re.escape(w) + r"\b", response, re.IGNORECASE) for w in forbidden_words
    )


def _letter_frequency(response: str, letter: str, let_frequency: int, let_relation: str) -> bool:
    return _compare(response.lower().count(letter), let_relation, let_frequency)


def _response_language(response: str, language: str) -> bool:
    found = text.detect_language(response)
    return found is None or found == language  # the reference counts "undetectable" as followed


def _number_sentences(response: str, num_sentences: int, relation: str) -> bool:
    # both relations are decided once the count reaches the threshold
    return _compare(text.count_sentences(response, limit=num_sentences), relation, num_sentences)


def _number_words(response: str, num_words: int, relation: str) -> bool:
    return _compare(text.count_words(response), relation, num_words)


def _number_paragraphs(response: str, num_paragraphs: int) -> bool:
    # paragraphs are separated by markdown dividers; an empty one is allowed only at either end
    parts = re.split(r"\s?\*\*\*\s?", response)
    inner_empty = any(not p.strip() for p in parts[1:-1])
    edges_empty = sum(1 for p in {0, len(parts) - 1} if not parts[p].strip())
    return not inner_empty and len(parts) - edges_empty == num_paragraphs


def _first_word(paragraph: str) -> str:
    """The paragraph's first word, lower-cased, cut at the first punctuation mark."""
    word = paragraph.split()[0].lstrip("'").lstrip('"')
    return re.split(r"[.,?!'\"]", word, maxsplit=1)[0].lower()


def _nth_paragraph_first_word(
    response: str, num_paragraphs: int, nth_paragraph: int, first_word: str
) -> bool:
    # here paragraphs are separated by blank lines ("\n\n"); empty ones do not count
    parts = response.split("\n\n")
    found = sum(1 for p in parts if p.strip())
    if nth_paragraph > found or not parts[nth_paragraph - 1].strip():
        return False
    wanted = first_word.strip().lower()
    return found == num_paragraphs and _first_word(parts[nth_paragraph - 1].strip()) == wanted


def _placeholders(response: str, num_placeholders: int) -> bool:
    # counts like re.findall(r"\[.*?\]") but cannot go quadratic on a line of "["s
    return len(re.findall(r"\[[^\[\]\n]*\]", response)) >= num_placeholders


def _postscript(response: str, postscript_marker: str) -> bool:
    lowered, marker = response.lower(), postscript_marker.strip()
    if marker == "P.P.S":
        pattern = r"p\.\s?p\.\s?s"
    elif marker == "P.S.":
        pattern = r"p\.\s?s\."
    else:
        pattern = re.escape(marker.lower())
    return re.search(pattern, lowered) is not None


# IFEval's bullet regexes are r"^\s*\*[^\*].*$" and r"^\s*-.*$" (multiline). Their leading \s*
# may run over blank lines, which changes where a match starts but never what is counted, and
# makes them quadratic on long runs of blank lines; these start at the bullet's own line.
_STAR_BULLET = re.compile(r"^[^\S\n]*\*[^*].*", re.MULTILINE)
_DASH_BULLET = re.compile(r"^[^\S\n]*-", re.MULTILINE)


def count_bullets(response: str) -> int:
    """Markdown bullet lines (``* item`` or ``- item``), counted as IFEval's two regexes count.

    A line that is only ``*`` takes the next line as its item text (``[^*]`` matches the
    newline), as in the reference.
    """
    return len(_STAR_BULLET.findall(response)) + len(_DASH_BULLET.findall(response))


def _bullet_lists(response: str, num_bullets: int) -> bool:
    return count_bullets(response) == num_bullets


def _constrained_response(response: str) -> bool:
    options = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
    return any(option in response.strip() for option in options)


def _highlighted_sections(response: str, num_highlights: int) -> bool:
    single = [h for h in re.findall(r"\*[^\n*]*\*", response) if h.strip("*").strip()]
    double = [h for h in re.findall(r"\*\*[^\n*]*\*\*", response) if h[2:-2].strip()]
    return len(single) + len(double) >= num_highlights


def _multiple_sections(response: str, section_spliter: str, num_sections: int) -> bool:
    pattern = r"\s?" + re.escape(section_spliter.strip()) + r"\s?\d+\s?"
    return len(re.split(pattern, response)) - 1 >= num_sections


def _json_format(response: str) -> bool:
    body = response.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):
        body = body.removeprefix(fence)
    try:
        json.loads(body.removesuffix("```").strip())
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return False
    return True


def _title(response: str) -> bool:
    # per line, re.findall(r"<<[^\n]+>>") finds at most one greedy match: first "<<" to last
    # ">>"; str.find/rfind give it in linear time (the regex is quadratic on a line of "<<")
    for line in re.findall(r"^.*<<.*$", response, re.MULTILINE):
        start, end = line.find("<<"), line.rfind(">>")
        if start >= 0 and end >= start + 3 and line[start:end + 2].lstrip("<").rstrip(">").strip():
            return True
    return False


def _two_responses(response: str) -> bool:
    parts = response.split("******")
    if any(not p.strip() for p in parts[1:-1]):
        return False
    kept = [p for p in parts if p.strip()]
    return len(kept) == 2 and kept[0].strip() != kept[1].strip()


def _repeat_prompt(response: str, prompt_to_repeat: str) -> bool:
    return response.strip().lower().startswith(prompt_to_repeat.strip().lower())


def _end_checker(response: str, end_phrase: str) -> bool:
    return response.strip().strip('"').lower().endswith(end_phrase.strip().lower())


def _capital_word_frequency(response: str, capital_frequency: int, capital_relation: str) -> bool:
    return _compare(text.count_capital_words(response), capital_relation, capital_frequency)


def _is_english(response: str) -> bool:
    return text.detect_language(response) in ("en", None)  # undetectable counts as followed


def _english_capital(response: str) -> bool:
    return response.isupper() and _is_english(response)


def _english_lowercase(response: str) -> bool:
    return response.islower() and _is_english(response)


def _no_comma(response: str) -> bool:
    return "," not in response


def _quotation(response: str) -> bool:
    body = response.strip()
    return len(body) > 1 and body[0] == '"' and body[-1] == '"'


class Undecidable(Exception):
    """Raised by a checker when the text itself cannot decide the instruction; the verdict is
    na with this message as the reason (never for malformed kwargs: those are errors)."""


@dataclass(frozen=True)
class Instruction:
    """One instruction type: its checker and the kwargs it takes (name -> kind).

    A kind is a name in this module's kinds (``"count"``, ``"text"``, ...) or a callable that
    turns the raw value into a clean one or raises ValueError saying why it cannot.
    """

    id: str
    check: Callable[..., bool]
    params: "Mapping[str, str | Callable[[Any], Any]]"
    prompt_param: "str | None" = None  # filled from the verifier's ``prompt`` when not given

    def clean(self, kwargs: Any, prompt: str = "") -> "dict[str, Any] | str":
        """Validated kwargs for :attr:`check`, or the reason they are malformed."""
        if kwargs is None:
            kwargs = {}
        if not isinstance(kwargs, Mapping):
            return f"kwargs for {self.id} must be a mapping, got {type(kwargs).__name__}"
        given = {k: v for k, v in kwargs.items() if v is not None}  # null = unused in IFEval data
        if self.prompt_param and self.prompt_param not in given and prompt:
            given[self.prompt_param] = prompt
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            return f"{self.id} takes no argument {unknown[0]!r} (takes {sorted(self.params)})"
        missing = [name for name in self.params if name not in given]
        if missing:
            return f"{self.id} needs argument {missing[0]!r}"
        return self._convert(given)

    def _convert(self, given: "dict[str, Any]") -> "dict[str, Any] | str":
        clean = {}
        for name, kind in self.params.items():
            try:
                clean[name] = (_KINDS[kind] if isinstance(kind, str) else kind)(given[name])
            except ValueError as exc:
                return f"{self.id}: argument {name!r}: {exc}"
        return clean


_TABLE: "tuple[tuple[str, Callable[..., bool], dict[str, str]], ...]" = (  # id, checker, kwargs
    ("keywords:existence", _keywords_exist, {"keywords": "words"}),
    ("keywords:frequency", _keyword_frequency,
     {"keyword": "text", "frequency": "count", "relation": "relation"}),
    ("keywords:forbidden_words", _forbidden_words, {"forbidden_words": "words"}),
    ("keywords:letter_frequency", _letter_frequency,
     {"letter": "letter", "let_frequency": "count", "let_relation": "relation"}),
    ("language:response_language", _response_language, {"language": "language"}),
    ("length_constraints:number_sentences", _number_sentences,
     {"num_sentences": "count", "relation": "relation"}),
    ("length_constraints:number_paragraphs", _number_paragraphs, {"num_paragraphs": "count"}),
    ("length_constraints:number_words", _number_words,
     {"num_words": "count", "relation": "relation"}),
    ("length_constraints:nth_paragraph_first_word", _nth_paragraph_first_word,
     {"num_paragraphs": "count", "nth_paragraph": "position", "first_word": "text"}),
    ("detectable_content:number_placeholders", _placeholders, {"num_placeholders": "count"}),
    ("detectable_content:postscript", _postscript, {"postscript_marker": "text"}),
    ("detectable_format:number_bullet_lists", _bullet_lists, {"num_bullets": "count"}),
    ("detectable_format:constrained_response", _constrained_response, {}),
    ("detectable_format:number_highlighted_sections", _highlighted_sections,
     {"num_highlights": "count"}),
    ("detectable_format:multiple_sections", _multiple_sections,
     {"section_spliter": "text", "num_sections": "count"}),
    ("detectable_format:json_format", _json_format, {}),
    ("detectable_format:title", _title, {}),
    ("combination:two_responses", _two_responses, {}),
    ("combination:repeat_prompt", _repeat_prompt, {"prompt_to_repeat": "text"}),
    ("startend:end_checker", _end_checker, {"end_phrase": "text"}),
    ("startend:quotation", _quotation, {}),
    ("change_case:capital_word_frequency", _capital_word_frequency,
     {"capital_frequency": "count", "capital_relation": "relation"}),
    ("change_case:english_capital", _english_capital, {}),
    ("change_case:english_lowercase", _english_lowercase, {}),
    ("punctuation:no_comma", _no_comma, {}),
)

INSTRUCTIONS: "dict[str, Instruction]" = {
    i: Instruction(i, f, p, "prompt_to_repeat" if "prompt_to_repeat" in p else None)
    for i, f, p in _TABLE
}
"""Every supported instruction id -> its :class:`Instruction`."""


@functools.cache
def _ifbench() -> ModuleType:
    # imported on first use, once: its families build on this module's Instruction and cost
    # ~0.2 s to import (emoji, syllapy), which a skill without instruction checks never pays
    from . import ifbench

    return ifbench


def instruction_for(instruction_id: str) -> "Instruction | None":
    """The checker for an IFEval or IFBench instruction id, or None when there is none."""
    return INSTRUCTIONS.get(instruction_id) or _ifbench().INSTRUCTIONS.get(instruction_id)


# --- strict / loose evaluation ---


def loose_variants(response: str) -> Iterator[tuple[str, str]]:
    """IFEval's loose variants of ``response`` as ``(name, text)``, the response itself first."""
    lines = response.split("\n")
    cuts = (
        ("response", response),
        ("without first line", "\n".join(lines[1:]).strip()),
        ("without last line", "\n".join(lines[:-1]).strip()),
        ("without first and last lines", "\n".join(lines[1:-1]).strip()),
    )
    for name, body in cuts:
        yield name, body
        yield name + ", '*' removed", body.replace("*", "")


def _as_response(response: Any) -> "str | None":
    """The response as text: bytes are decoded leniently (a bad byte must not crash a batch)."""
    if isinstance(response, (bytes, bytearray)):
        return bytes(response).decode("utf-8", errors="replace")
    return response if isinstance(response, str) else None


def _first_pass(
    instruction: Instruction, clean: dict, variants: "list[tuple[str, str]]"
) -> "str | None":
    """Name of the first variant that follows the instruction, or None.

    Raises :class:`Undecidable` when the response itself (the first variant) cannot be decided
    and no variant follows. A loose variant that cannot be decided only does not follow: else a
    failing response could shape a line loose mode drops and turn its verdict into na (the
    judge's to decide).
    """
    tried: set[str] = set()  # variants often coincide (no "*", a single line): check each once
    undecidable: "Undecidable | None" = None
    for index, (name, body) in enumerate(variants):
        if body in tried or not body.strip():
            continue
        tried.add(body)
        try:
            if instruction.check(body, **clean):
                return name
        except Undecidable as exc:
            if index == 0:
                undecidable = exc
    if undecidable is not None:
        raise undecidable
    return None


def _variants(response: str, mode: str) -> "list[tuple[str, str]]":
    return list(loose_variants(response)) if mode == "loose" else [("response", response)]


def _needs_derived(instruction: Instruction, kwargs: Any) -> bool:
    """Whether ``kwargs`` must be read from the prompt: an IFBench id that takes kwargs and got
    none at all (None, {} or only nulls), as on RewardBench 2's Precise IF rows."""
    if kwargs is not None and not (isinstance(kwargs, Mapping) and all(v is None for v in kwargs.values())):
        return False  # the common case first: kwargs given
    takes_kwargs = any(name != instruction.prompt_param for name in instruction.params)
    return takes_kwargs and instruction.id in _ifbench().DERIVE


def _derive(instruction: Instruction, prompt: str) -> "tuple[dict, dict] | Verdict":
    """(clean kwargs, kwargs as read) from the instruction's wording in ``prompt``; na saying why
    when the wording is not there or does not give usable kwargs."""
    unreadable = f"{instruction.id}: no kwargs given and none could be read from the prompt"
    if not prompt.strip():
        return Verdict.na(f"{unreadable}: the prompt is empty")
    try:
        derived = _ifbench().DERIVE[instruction.id](prompt)
    except ValueError as exc:
        return Verdict.na(f"{unreadable}: {exc}")
    clean = instruction.clean(derived, prompt)
    if isinstance(clean, str):
        return Verdict.na(f"{unreadable}: {clean}", kwargs_derived=derived)
    return clean, derived


def _prepare(instruction_id: Any, kwargs: Any, prompt: Any) -> "tuple[Instruction, dict, dict | None] | Verdict":
    """The instruction, its clean kwargs and, when they were read from the prompt, the kwargs as
    read; or the verdict saying why it cannot be checked: na for an id without a checker (the
    judge's to decide) or whose kwargs are neither given nor in the prompt's wording, else an
    error."""
    if not isinstance(instruction_id, str):
        return Verdict.error(f"instruction id must be text, got {type(instruction_id).__name__} {instruction_id!r}")
    instruction = instruction_for(instruction_id)
    if instruction is None:
        return Verdict.na(f"no checker for instruction id {instruction_id!r}")
    prompt = prompt if isinstance(prompt, str) else ""
    if _needs_derived(instruction, kwargs):
        derived = _derive(instruction, prompt)
        return derived if isinstance(derived, Verdict) else (instruction, *derived)
    clean = instruction.clean(kwargs, prompt)
    return Verdict.error(clean) if isinstance(clean, str) else (instruction, clean, None)


def _call_problem(response: Any, mode: Any) -> "str | None":
    """What makes a call unusable whatever the instruction: a bad mode or a non-text response."""
    if mode not in ("strict", "loose"):
        return f"mode must be 'strict' or 'loose', got {mode!r}"
    return None if _as_response(response) is not None else f"response must be text, got {type(response).__name__}"


def check(response: Any, instruction_id: Any, kwargs: Any = None, prompt: Any = "",
          mode: Any = "strict") -> Verdict:
    """Whether ``response`` follows one IFEval or IFBench instruction (ok bool); na for an
    instruction id without a checker, for IFBench kwargs neither given nor readable from the
    prompt, or when the response itself cannot decide the instruction (:class:`Undecidable`);
    an error, with the reason, for anything malformed."""
    problem = _call_problem(response, mode)
    if problem:
        return Verdict.error(problem)
    prepared = _prepare(instruction_id, kwargs, prompt)
    if isinstance(prepared, Verdict):
        return prepared
    instruction, clean, derived = prepared
    shown = {"kwargs_derived": derived} if derived is not None else {}
    try:
        passed = _first_pass(instruction, clean, _variants(_as_response(response), mode))
    except Undecidable as exc:
        return Verdict.na(str(exc), **shown)
    return Verdict.ok(passed is not None, variant=passed, **shown)


IN_PROCESS_CHARS = 20_000
"""Responses up to this length are checked in the caller's process; longer ones in a verifier
worker under its hard timeout: IFBench's sentence splitter spends tens of seconds on a hostile
megabyte (``"a. " * 333_333`` in loose mode), which in process nothing could stop."""


def _short_only(check_call: Callable[..., Verdict]) -> Callable[..., "Verdict | None"]:
    """The ``fast`` hook of an isolated verifier: ``check_call`` here for a short response, None
    (run it in a worker) for a long one."""
    def fast(response: Any, *args: Any, **kwargs: Any) -> "Verdict | None":
        text = _as_response(response)
        if text is not None and len(text) > IN_PROCESS_CHARS:
            return None
        return check_call(response, *args, **kwargs)
    return fast


@verifier(
    "ifeval.follows",
    version="1",
    isolate=True,  # a worker bounds a long response's time; short ones never leave the caller
    fast=_short_only(check),
    params=("response: text", "instruction_id: text", "kwargs: json = None",
            'prompt: text = ""', 'mode: text = "strict"'),
)
def follows(response: Any, instruction_id: Any, kwargs: Any = None, prompt: Any = "",
            mode: Any = "strict") -> Verdict:
    """Whether the response follows one IFEval or IFBench instruction (``strict`` or ``loose``).

    na when the instruction id has no checker, when an IFBench id gets no kwargs and its wording
    in the prompt cannot be read, or when the response cannot decide it (the judge decides); an
    error when its kwargs are missing, mistyped or unknown (the reason names the argument).
    """
    return check(response, instruction_id, kwargs, prompt, mode)


def _pair_kwargs(ids: Any, kwargs: Any) -> "list[tuple[Any, Any]] | str":
    if not isinstance(ids, (list, tuple)):
        return f"instruction_id_list must be a list, got {type(ids).__name__}"
    if kwargs is None:
        kwargs = [None] * len(ids)
    if not isinstance(kwargs, (list, tuple)) or len(kwargs) != len(ids):
        return f"kwargs must be a list of {len(ids)} mappings, one per instruction id"
    return list(zip(ids, kwargs))


def _follows_all(response: Any, instruction_id_list: Any, kwargs: Any, prompt: Any = "",
                 mode: Any = "strict") -> Verdict:
    pairs = _pair_kwargs(instruction_id_list, kwargs)
    problem = _call_problem(response, mode) or (pairs if isinstance(pairs, str) else None)
    if problem:
        return Verdict.error(problem)
    prepared = [_prepare(instruction_id, kw, prompt) for instruction_id, kw in pairs]
    undecided = [p for p in prepared if isinstance(p, Verdict)]
    if undecided:
        return next((v for v in undecided if v.is_error), undecided[0])
    variants = _variants(_as_response(response), mode)
    derived = {instruction.id: read for instruction, _, read in prepared if read is not None}
    shown = {"kwargs_derived": derived} if derived else {}
    results = [_follows_or_why(instruction, clean, variants) for instruction, clean, _ in prepared]
    if False not in results:  # one not followed decides: a response must not buy na with another
        undecidable = next((r for r in results if isinstance(r, Undecidable)), None)
        if undecidable is not None:
            return Verdict.na(str(undecidable), **shown)
    followed = [r if isinstance(r, bool) else None for r in results]  # None: undecidable
    return Verdict.ok(False not in results, followed=followed, **shown)


@verifier(
    "ifeval.all",
    version="1",
    isolate=True,  # as ifeval.follows: long responses in a worker, under its timeout
    fast=_short_only(_follows_all),
    params=("response: text", "instruction_id_list: list", "kwargs: json",
            'prompt: text = ""', 'mode: text = "strict"'),
)
def follows_all(response: Any, instruction_id_list: Any, kwargs: Any, prompt: Any = "",
                mode: Any = "strict") -> Verdict:
    """Whether the response follows every listed IFEval or IFBench instruction; detail has each
    result (None where the response cannot decide it).

    An error if any instruction's kwargs are malformed (the reason names the first such); else na
    if any id has no checker or unreadable wording, or if the response cannot decide an
    instruction and follows all the others (one not followed decides: the response chooses
    what it makes undecidable, never the ids).
    """
    return _follows_all(response, instruction_id_list, kwargs, prompt, mode)


def _follows_or_why(instruction: Instruction, clean: dict, variants: "list[tuple[str, str]]") -> "bool | Undecidable":
    try:
        return _first_pass(instruction, clean, variants) is not None
    except Undecidable as exc:
        return exc
