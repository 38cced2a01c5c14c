"""Math verifiers: is the response's final answer equivalent to the reference answer?

Two paths. The exact path compares plain numbers (``1,000`` = ``1000.0``, ``$18`` = ``18``) with
``fractions.Fraction`` in microseconds; it decides nearly every GSM8K-style row and runs in the
caller's process (``fast`` hook, see :mod:`skilldsl.verifiers.pool`). Everything else (LaTeX,
fractions written as ``\\frac``, percentages against decimals, units, sets, intervals, symbolic
expressions) goes to math-verify, whose time limits use signals: that is why the verifier is
``isolate=True`` and runs in a worker process's main thread.
"""
from __future__ import annotations

import re
import threading

from .answers import Answer, extract_answer, find_numbers, parse_number, reference_answer
from .reference import LETTERS, extract_choice
from .registry import Verdict, verifier

__all__ = ["equivalent", "equivalent_fast", "equivalent_cas", "answer_found", "warm", "CAS_TIMEOUT"]

CAS_TIMEOUT = 5  # seconds math-verify may spend parsing or comparing one side
_RICH = re.compile(r"[\\^=(){}\[\]]|[a-zA-Z]\s*[-+*/]|[-+*/]\s*[a-zA-Z]")


def _answer_or_na(response: object) -> "Answer | Verdict":
    answer = extract_answer(response)
    if answer is None:
        return Verdict.na("no final answer found in the response")
    return answer


def _lone_number(answer: Answer) -> str:
    """For a prose answer ("18 dollars per day.") the single number it states, else the text."""
    if answer.source in ("phrase", "label") and not _RICH.search(answer.text):
        numbers = find_numbers(answer.text)
        if len(numbers) == 1:
            return numbers[0]
    return answer.text


def _choice_verdict(response: object, letter: str) -> Verdict:
    """Multiple-choice math (AMC-style, as in LiveBench): the reference is an option letter."""
    chosen = extract_choice(response)
    if chosen is None:
        return Verdict.na("the reference is an option letter and the response chooses none")
    return Verdict.ok(chosen == letter, answer=chosen, reference=letter, method="choice")


def equivalent_fast(response: object, reference: object) -> Verdict | None:
    """Decide ``math.equivalent`` without a CAS when both answers are plain numbers (or the
    reference is an option letter); else None."""
    ref = reference_answer(reference)
    if not ref:
        return Verdict.na("the reference is empty")
    if len(ref) == 1 and ref in LETTERS:
        return _choice_verdict(response, ref)
    answer = _answer_or_na(response)
    if isinstance(answer, Verdict):
        return answer
    text = _lone_number(answer)
    mine, theirs = parse_number(text), parse_number(ref)
    if mine is None or theirs is None:
        return None
    if mine != theirs and "%" in answer.text + ref:
        return None  # "50%" vs "0.5": let the CAS decide what the percent means
    return Verdict.ok(mine == theirs, answer=text[:200], reference=ref[:200], method="exact", source=answer.source)


@verifier(
    "math.equivalent",
    version="1",
    params=("response: text", "reference: text"),
    isolate=True,
    fast=equivalent_fast,
    doc="""The response's final answer is mathematically equivalent to the reference.

    The final answer is the last \\boxed{}, a GSM8K '#### N', an 'the answer is ...' / 'Answer:'
    line, or else the last number; a GSM8K reference ('... #### 18') is reduced to its answer.
    Plain numbers are compared exactly (1,000 = 1000.0); anything else with math-verify
    (fractions, percentages, units, LaTeX, sets, intervals, symbolic expressions). A reference
    that is a single option letter (A-J) is compared with the option the response chooses.
    na when the response states no answer or the reference cannot be parsed.""",
)
def equivalent(response: object, reference: object) -> Verdict:
    """See the registered doc; runs the exact path first, then math-verify."""
    fast = equivalent_fast(response, reference)
    return fast if fast is not None else equivalent_cas(response, reference)


def equivalent_cas(response: object, reference: object) -> Verdict:
    """``math.equivalent`` decided by math-verify alone (no exact path): cross-checks, benchmarks."""
    answer = _answer_or_na(response)
    if isinstance(answer, Verdict):
        return answer
    ref = reference_answer(reference)
    if not ref:
        return Verdict.na("the reference is empty")
    return _cas_equivalent(answer, ref)


def _as_latex(text: str) -> str:
    if "$" in text or "\\(" in text or "\\[" in text:
        return text
    return f"${text}$"


def _cas_equivalent(answer: Answer, ref: str) -> Verdict:
    from math_verify import parse, verify  # heavy (sympy): only where the CAS is needed

    # math-verify's timeouts use SIGALRM, which only works in the main thread; elsewhere run
    # without them (the worker pool's hard timeout still bounds the call).
    limit = CAS_TIMEOUT if threading.current_thread() is threading.main_thread() else None
    gold = parse(_as_latex(ref), parsing_timeout=limit)
    if not any(not isinstance(g, str) for g in gold):  # only the raw-string fallback: unparsed
        return Verdict.na(f"the reference {ref[:80]!r} cannot be parsed as math")
    text = _lone_number(answer)
    pred = parse(_as_latex(text), parsing_timeout=limit)
    if not pred:
        return Verdict.na(f"the final answer {text[:80]!r} cannot be parsed as math")
    same = bool(verify(gold, pred, timeout_seconds=limit))
    return Verdict.ok(same, answer=text[:200], reference=ref[:200], method="math-verify", source=answer.source)


def warm() -> None:
    """Pay math-verify's first-use costs (sympy import, LaTeX grammar) once, in a fresh worker."""
    _cas_equivalent(Answer(r"\frac{1}{2}", "boxed"), "0.5")


@verifier(
    "math.answer_found",
    version="1",
    params=("response: text",),
    doc="""A final answer can be extracted from the response (\\boxed{}, '#### N', 'the answer is',
    'Answer:' or a last number).""",
)
def answer_found(response: object) -> Verdict:
    """See the registered doc."""
    answer = extract_answer(response)
    if answer is None:
        return Verdict.ok(False)
    return Verdict.ok(True, answer=answer.text, source=answer.source)
