"""Math verifiers: is the response's final answer equivalent to the reference answer, and how
many of the other candidates' final answers agree with it?

Two paths. The exact path compares plain numbers (``1,000`` = ``1000.0``, ``$18`` = ``18``) with
``fractions.Fraction`` in microseconds; it decides nearly every GSM8K-style row and runs in the
caller's process (``fast`` hook, see :mod:`skilldsl.verifiers.pool`). Everything else (LaTeX,
fractions written as ``\\frac``, percentages against decimals, units, sets, intervals, symbolic
expressions) goes to math-verify, whose time limits use signals: that is why the verifier is
``isolate=True`` and runs in a worker process's main thread. ``math.consensus`` compares one
candidate with the others on the same two paths.
"""
from __future__ import annotations

import re
import threading
from decimal import localcontext

from .answers import Answer, clean_text, extract_answer, find_numbers, parse_number, reference_answer
from .reference import LETTERS, alternatives, canonical_number, extract_choice
from .registry import Verdict, verifier

__all__ = ["equivalent", "equivalent_fast", "equivalent_cas", "answer_found", "consensus", "consensus_fast",
           "final_answer", "warm", "CAS_TIMEOUT"]

CAS_TIMEOUT = 5  # seconds math-verify may spend parsing or comparing one side
_RICH = re.compile(r"[\\^=(){}\[\]]|[a-zA-Z]\s*[-+*/]|[-+*/]\s*[a-zA-Z]")


def _answer_or_na(response: object) -> "Answer | Verdict":
    answer = extract_answer(response)
    if answer is None:
        return Verdict.na("no final answer found in the response")
    return answer


class _Reading:
    """One final answer, parsed at most once per call: as a plain number, and for the CAS."""

    def __init__(self, text: str, raw: str) -> None:
        self.text = text  # what is compared: a prose answer's lone number, else the answer
        self.raw = raw  # as written, for the percent sign a lone number drops
        self.number = parse_number(text)
        self._cas = None

    @classmethod
    def of(cls, answer: Answer) -> "_Reading":
        return cls(_lone_number(answer), answer.text)

    def same_number(self, other: "_Reading") -> bool | None:
        """Equal as plain numbers; None when either is not one, or a percent sign makes it unclear."""
        if self.number is None or other.number is None:
            return None
        if self.number != other.number and "%" in self.raw + other.raw:
            return None  # "50%" vs "0.5": let the CAS decide what the percent means
        return self.number == other.number

    def cas(self, limit: "int | None") -> list:
        """math-verify's parse of the answer (parsed on first use only)."""
        if self._cas is None:
            from math_verify import parse  # heavy (sympy): only where the CAS is needed

            self._cas = parse(_as_latex(self.text), parsing_timeout=limit)
        return self._cas


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


@alternatives  # several correct answers: any of them
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
    mine = _Reading.of(answer)
    same = mine.same_number(_Reading(ref, ref))
    if same is None:
        return None
    return Verdict.ok(same, answer=mine.text[:200], reference=ref[:200], method="exact", source=answer.source)


@verifier(
    "math.equivalent",
    version="2",  # 2: an unreadable stated answer is false, not na
    params=("response: text", "reference: text"),
    isolate=True,
    fast=equivalent_fast,
    warm="skilldsl.verifiers.math:warm",
    doc="""The response's final answer is mathematically equivalent to the reference.

    The final answer is the last \\boxed{}, a GSM8K '#### N', an 'the answer is ...' / 'Answer:'
    line, or else the last number; a GSM8K reference ('... #### 18') is reduced to its answer.
    Plain numbers are compared exactly (1,000 = 1000.0); anything else with math-verify
    (fractions, percentages, units, LaTeX, sets, intervals, symbolic expressions). A reference
    that is a single option letter (A-J) is compared with the option the response chooses.
    na when the response states no answer or the reference cannot be parsed; a stated answer
    math-verify cannot read (even by timing its parser out) is no match (false).""",
)
@alternatives
def equivalent(response: object, reference: object) -> Verdict:
    """See the registered doc; runs the exact path first, then math-verify."""
    fast = equivalent_fast(response, reference)
    return fast if fast is not None else equivalent_cas(response, reference)


@alternatives
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


def _cas_limit() -> "int | None":
    # math-verify's timeouts use SIGALRM, which only works in the main thread; elsewhere run
    # without them (the worker pool's hard timeout still bounds the call).
    return CAS_TIMEOUT if threading.current_thread() is threading.main_thread() else None


def _parsed(parse: list) -> bool:
    return any(not isinstance(g, str) for g in parse)  # not only the raw-string fallback


def _cas_equivalent(answer: Answer, ref: str) -> Verdict:
    from math_verify import verify

    limit, mine, gold = _cas_limit(), _Reading.of(answer), _Reading(ref, ref)
    if not _parsed(gold.cas(limit)):
        return Verdict.na(f"the reference {ref[:80]!r} cannot be parsed as math")
    if not mine.cas(limit):  # the response's own doing (a parse that times out, say): no match,
        # never an na that would hand the row to a judge instead
        return Verdict.ok(False, answer=mine.text[:200], reference=ref[:200], method="math-verify",
                          source=answer.source, unparsed=True)
    same = bool(verify(gold.cas(limit), mine.cas(limit), timeout_seconds=limit))
    return Verdict.ok(same, answer=mine.text[:200], reference=ref[:200], method="math-verify", source=answer.source)


def warm() -> None:
    """Pay math-verify's first-use costs (sympy import, LaTeX grammar) once, in a fresh worker."""
    _cas_equivalent(Answer(r"\frac{1}{2}", "boxed"), "0.5")


@verifier(
    "math.answer_found",
    version="1",
    isolate=False,  # pure, fast and total: in-process
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


def final_answer(text: object) -> str | None:
    """The final answer of ``text`` as comparable text, or None: a plain number in one exact
    spelling (``$1,000.0`` -> ``1000``, ``7/14`` -> ``0.5``), else the answer as written."""
    answer = extract_answer(text)
    if answer is None:
        return None
    reading = _Reading.of(answer)
    number = reading.number
    if number is None:
        return reading.text
    with localcontext() as exact:  # enough digits that a long terminating decimal is not rounded
        exact.prec = len(str(number.numerator)) + 3 * len(str(number.denominator)) + 2
        return canonical_number(number)


def _readings(response: object, candidates: object) -> "tuple[_Reading, list] | Verdict":
    """The response's reading and the other candidates' (None: no final answer), each text
    parsed once; one occurrence of the response itself is left out of the others."""
    answer = _answer_or_na(response)
    if isinstance(answer, Verdict):
        return answer
    response = clean_text(response)
    others = [clean_text(c) for c in (candidates if isinstance(candidates, (list, tuple)) else [])]
    if response in others:
        others.remove(response)
    if not others:
        return Verdict.na("no other candidate to agree with")
    cache = {response: _Reading.of(answer)}
    for text in others:
        if text not in cache:
            found = extract_answer(text)
            cache[text] = _Reading.of(found) if found is not None else None
    return cache[response], [cache[text] for text in others]


def _consensus_verdict(mine: _Reading, others: list, agree: list, method: str) -> Verdict:
    count = sum(agree)
    return Verdict.ok(count / len(others), agreeing=count, others=len(others), answer=mine.text[:200],
                      answers=[o.text[:200] if o else None for o in others], method=method)


def consensus_fast(response: object, candidates: object) -> Verdict | None:
    """Decide ``math.consensus`` without a CAS when every answer involved is a plain number (or
    identical text, or missing); else None."""
    found = _exact_consensus(response, candidates)
    return found if isinstance(found, Verdict) else None


def _exact_consensus(response: object, candidates: object) -> "Verdict | tuple":
    """The verdict when no pair needs the CAS, else ``(mine, others, agree)`` with None in
    ``agree`` where it does."""
    readings = _readings(response, candidates)
    if isinstance(readings, Verdict):
        return readings
    mine, others = readings
    agree = [_agree_exact(mine, other) for other in others]
    return (mine, others, agree) if None in agree else _consensus_verdict(mine, others, agree, "exact")


def _agree_exact(mine: _Reading, other: "_Reading | None") -> bool | None:
    if other is None:
        return False
    if mine.text == other.text:
        return True
    return mine.same_number(other)


@verifier(
    "math.consensus",
    version="1",
    params=("response: text", "candidates: list"),
    returns="number",
    isolate=True,
    fast=consensus_fast,
    warm="skilldsl.verifiers.math:warm",
    doc="""The share of the other candidates whose final answer is mathematically equivalent to the
    response's: agreement of final answers, the evidence behind majority voting (self-consistency).

    `candidates` holds every candidate, the response included (one occurrence of it is left out);
    a candidate without a final answer agrees with nothing but still counts. Final answers are
    read and compared as by math.equivalent. The detail lists the answers and the agreeing count.
    na when the response states no final answer or there is no other candidate.""",
)
def consensus(response: object, candidates: object) -> Verdict:
    """See the registered doc; plain numbers exactly, the rest with math-verify."""
    found = _exact_consensus(response, candidates)
    if isinstance(found, Verdict):
        return found
    mine, others, agree = found
    from math_verify import verify

    limit = _cas_limit()
    for k, other in enumerate(others):
        if agree[k] is None:
            agree[k] = _parsed(mine.cas(limit)) and _parsed(other.cas(limit)) and \
                bool(verify(mine.cas(limit), other.cas(limit), timeout_seconds=limit))
    return _consensus_verdict(mine, others, agree, "math-verify")
