"""Run the tests a skill carries (its ``tests:`` section): ``skilldsl test`` and :func:`run_tests`.

Each test scores one sample and compares the :class:`~skilldsl.runtime.Result` with what it
expects (docs/language.md, "Tests"). By default every test gets its own scripted
:class:`~skilldsl.runtime.backends.fake.FakeBackend` built from its ``judge:`` script (no script:
the fake's defaults), so tests need no model; verifiers and sandboxed code run for real. Given a
``scorer`` (a real model), all tests are scored by it in one batch and the scripts are ignored:
the same expectations then check the model.

Expectations (all given must hold):
  - ``reward``: ``[lo, hi]`` inclusive (a number n was lowered to ``[n, n]``), within 1e-6;
    a result that is not ``ok`` has no reward and fails it;
  - ``status``: the result's ``ok`` / ``na`` / ``error``;
  - ``decided_by``: each evidence ran and gave a value (an ``each`` evidence: at least one item);
  - ``not_asked``: each evidence never ran (skipped, or every item of an ``each`` skipped);
  - ``scores``/``best`` (listwise): each candidate's score in its range, the best candidate's index.
In a listwise skill ``name`` means the evidence of every candidate and ``name[i]`` candidate i's;
elsewhere ``name[i]`` is item i of an ``each`` evidence.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .ir import Program
from .ir.skilltests import REWARD_TOLERANCE, parse_ref

__all__ = ["TestOutcome", "run_tests", "select_tests", "check_result"]


@dataclass
class TestOutcome:
    """One test of one skill: whether it passed, and if not, each unmet expectation in a line."""

    __test__ = False  # not a pytest class, whatever module imports it

    skill: str
    name: str
    line: int
    failures: list = field(default_factory=list)
    result: Any = None          # the Result
    about: str = ""

    @property
    def passed(self) -> bool:
        return not self.failures


def select_tests(program: Program, keyword: "str | None" = None) -> list:
    """The IR tests of ``program`` whose name contains ``keyword`` (case-insensitive; None: all)."""
    tests = program.doc.get("tests") or []
    if keyword is None:
        return list(tests)
    return [t for t in tests if keyword.lower() in t["name"].lower()]


def run_tests(skill: Any, *, keyword: "str | None" = None,
              scorer: "Callable[[Program], Any] | None" = None) -> list[TestOutcome]:
    """Run the tests of ``skill`` (a ``.skill`` path, ``.skillc`` path, stock skill name or
    :class:`Program`); raises :class:`~skilldsl.SkillError` if it does not build.

    ``scorer(program)`` returns the runnable skill for a real model; None: the scripted fake."""
    import skilldsl

    program = skilldsl.program(skill)
    tests = select_tests(program, keyword)
    if scorer is None:
        results = [_scripted(program, t) for t in tests]
    else:
        results = scorer(program).score([t["sample"] for t in tests]) if tests else []
    return [TestOutcome(program.name, t["name"], t["line"], check_result(t["expect"], r, program.mode), r,
                        t.get("about", "")) for t, r in zip(tests, results)]


def _scripted(program: Program, test: dict):
    """The Result of ``test`` on a fake backend following its ``judge:`` script."""
    from .runtime import Skill
    from .runtime.backends.fake import FakeBackend

    script = test.get("judge") or {}
    fake = FakeBackend(script.get("choices"), script.get("texts"), default_choice=script.get("default_choice"),
                       confidence=float(script.get("confidence", 0.9)))
    return Skill(program, backend=fake, cache=False).score([test["sample"]])[0]


# -- expectations -------------------------------------------------------------------------

def check_result(expect: dict, result: Any, mode: str = "pointwise") -> list[str]:
    """Each expectation of the IR ``expect`` that ``result`` does not meet, as one line."""
    found = []
    if "status" in expect and result.status != expect["status"]:
        found.append(f"status: expected {expect['status']}, got {_status(result)}")
    if "reward" in expect:
        found.extend(_reward(expect["reward"], result))
    if "scores" in expect:
        found.extend(_scores(expect["scores"], result))
    if "best" in expect and result.best != expect["best"]:
        found.append(f"best: expected candidate {expect['best']}, got {result.best}")
    for ref in expect.get("decided_by", ()):
        found.extend(_decided(ref, result, mode))
    for ref in expect.get("not_asked", ()):
        found.extend(_not_asked(ref, result, mode))
    return found


def _status(result: Any) -> str:
    return result.status + (f" ({result.reason})" if result.reason else "")


def within(value: Any, bounds: list) -> bool:
    """Whether the number ``value`` lies in ``[lo, hi]`` (widened by the reward tolerance)."""
    lo, hi = bounds
    return isinstance(value, (int, float)) and lo - REWARD_TOLERANCE <= value <= hi + REWARD_TOLERANCE


def _wanted(bounds: list) -> str:
    lo, hi = bounds
    return f"{lo:g}" if lo == hi else f"[{lo:g}, {hi:g}]"


def _reward(bounds: list, result: Any) -> list[str]:
    if result.status != "ok":
        return [f"reward: expected {_wanted(bounds)}, got none (status {_status(result)})"]
    if not within(result.reward, bounds):
        return [f"reward: expected {_wanted(bounds)}, got {result.reward:.6g}"]
    return []


def _scores(expected: list, result: Any) -> list[str]:
    got = result.scores
    if got is None or len(got) != len(expected):
        return [f"scores: expected {len(expected)} scores, got {got}"]
    return [f"scores[{i}]: expected {_wanted(b)}, got {s if s is None else format(s, '.6g')}"
            for i, (b, s) in enumerate(zip(expected, got)) if not within(s, b)]


def _decided(ref: str, result: Any, mode: str) -> list[str]:
    states = _states(ref, result, mode)
    if not states:
        return [f"decided_by {ref}: it is not in the trace (status {_status(result)})"]
    return [f"decided_by {key}: expected a value, got {state}" for key, state in states if not state.startswith("ok")]


def _not_asked(ref: str, result: Any, mode: str) -> list[str]:
    return [f"not_asked {key}: it ran ({state})" for key, state in _states(ref, result, mode)
            if not state.startswith("skipped")]


def _states(ref: str, result: Any, mode: str) -> "list[tuple[str, str]]":
    """``(trace key, state)`` for each trace entry ``ref`` names; a state is ``skipped (why)``,
    ``ok <value>`` or ``<status>: <reason>``."""
    name, index = parse_ref(ref)
    if mode == "listwise":
        keys = [f"{name}[{index}]"] if index is not None else \
            [k for k in result.trace if re.fullmatch(rf"{re.escape(name)}\[\d+\]", k)]
        return [(k, _trace_state(result.trace[k])) for k in keys if k in result.trace]
    trace = result.trace.get(name)
    if trace is None:
        return []
    if index is None:
        return [(name, _trace_state(trace))]
    items = trace.detail.get("items") or []
    return [(ref, _item_state(items[index]) if index < len(items) else "skipped (no such item)")]


def _trace_state(trace: Any) -> str:
    if trace.skipped:
        return f"skipped ({trace.skipped})"
    items = trace.detail.get("items")
    if items is not None:  # an each evidence: known if an item is, run if an item ran
        states = [_item_state(i) for i in items]
        return next((s for s in states if s.startswith("ok")), None) or \
            next((s for s in states if not s.startswith("skipped")), None) or "skipped (every item)"
    if trace.status == "ok":
        return f"ok {trace.value!r}"
    return f"{trace.status}: {trace.reason}"


def _item_state(item: dict) -> str:
    if item.get("skipped"):
        return f"skipped ({item['skipped']})"
    if item.get("status") == "ok":
        return f"ok {item.get('value')!r}"
    return f"{item.get('status')}: {item.get('reason')}"
