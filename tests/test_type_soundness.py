"""Type soundness as a tested property: a skill the checker accepts, run on samples whose inputs
have their declared types, never meets a type error, never computes evidence the reward cannot
reach, and gives the same results whether the plan's eager evidence runs up front or not.

Skills are generated type-directed from the operator and builtin tables (``skilldsl/ir/functions.py``)
as *source text*, so the parser, the checker, lowering and the evaluator are all under test.
"""
from __future__ import annotations

import hashlib
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _runtime_support import ScriptedBackend
from skilldsl.compiler import compile_source
from skilldsl.ir import Program
from skilldsl.runtime import Skill
from skilldsl.runtime.evaluate import TYPE_ERROR
from skilldsl.verifiers import Verdict, registry, verifier

if registry.get("prop.flaky") is None:
    @verifier("prop.flaky", params=("text: text",))
    def _flaky(text):
        """An error on '!', na on empty text, else whether the text is short."""
        if "!" in text:
            return Verdict.error("flaky broke")
        return Verdict.na("empty") if not text else len(text) < 4

SKILL = """
skill: generated
mode: pointwise
inputs:
  t: text
  u: {type: text, optional: true}
  n: number
  k: integer
  b: bool
  lt: list[text]
  ln: list[number]
evidence:
  c: {check: 'format.regex(t, pattern="a")'}
  f: {check: 'prop.flaky(t)'}
  g:
    check: prop.flaky(u)
    when: |
      WHEN
  j: {ask: {user: "J {{ t }} {{ u | default('') }}"}, answer: "choice(yes, no)"}
  s: {ask: {user: "S {{ t }}"}, answer: "score(1, 5)"}
  items: {each: lt, ask: {user: "I {{ item }}"}, answer: "choice(yes, no)"}
  r: {route: [j, s], ask: {user: "R {{ t }}"}}
reward: |
  REWARD
"""

NAMES = {"number": ["n", 'p(j, "yes")', "expect(s)", 'p(r, "s")', "0.5", "2"],
         "integer": ["k", "len(t)", "len(lt)", "s", "3", "-1"],
         "bool": ["b", "c", "f", "g", "true", "false"],
         "text": ["t", "u", "j", "vote(j)", "r", '"yes"', '"a"']}


def _leaf(t: str) -> st.SearchStrategy:
    return st.sampled_from(NAMES[t] + (NAMES["integer"] if t == "number" else []))


def _expr(t: str, depth: int) -> st.SearchStrategy:
    if depth <= 0:
        return _leaf(t)
    sub = lambda u: _expr(u, depth - 1)  # noqa: E731
    wrap = lambda s: "(" + s + ")"  # noqa: E731
    common = [
        st.tuples(sub("bool"), sub(t), sub(t)).map(lambda x: wrap(f"{x[1]} if {x[0]} else {x[2]}")),
        st.tuples(st.sampled_from(["first", "default", "catch"]), sub(t), sub(t)).map(
            lambda x: f"{x[0]}({x[1]}, {x[2]})"),
        st.tuples(sub(t), st.just("na")).map(lambda x: f"first({x[0]}, {x[1]})"),
    ]
    by_type = {
        "number": [
            st.tuples(sub("number"), st.sampled_from(["+", "-", "*", "/"]), sub("number")).map(
                lambda x: wrap(f"{x[0]} {x[1]} {x[2]}")),
            st.tuples(st.sampled_from(["mean", "min", "max", "sum"]), sub("number"), sub("number")).map(
                lambda x: f"{x[0]}({x[1]}, {x[2]}, ln)"),
            sub("number").map(lambda x: f'mean(p(items, "yes"), {x})'),
            st.tuples(sub("number"), sub("number")).map(lambda x: f"weighted({x[0]}, 2, {x[1]}, 1)"),
            sub("number").map(lambda x: f"clip({x}, 0, 1)"),
            sub("number").map(lambda x: f"(-{x})"),
        ],
        "integer": [
            st.tuples(sub("integer"), st.sampled_from(["+", "-", "*"]), sub("integer")).map(
                lambda x: wrap(f"{x[0]} {x[1]} {x[2]}")),
            sub("text").map(lambda x: f"len({x})"),
        ],
        "bool": [
            st.tuples(sub("number"), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), sub("number")).map(
                lambda x: wrap(f"{x[0]} {x[1]} {x[2]}")),
            st.tuples(sub("text"), st.sampled_from(["<", "==", "!="]), sub("text")).map(
                lambda x: wrap(f"{x[0]} {x[1]} {x[2]}")),
            st.tuples(sub("bool"), st.sampled_from(["and", "or"]), sub("bool")).map(
                lambda x: wrap(f"{x[0]} {x[1]} {x[2]}")),
            sub("bool").map(lambda x: f"(not {x})"),
            st.tuples(st.sampled_from(["known", "is_na", "is_error"]),
                      st.sampled_from(["number", "text", "bool"]).flatmap(sub)).map(lambda x: f"{x[0]}({x[1]})"),
            st.tuples(st.sampled_from(["all", "any"]), sub("bool"), sub("bool")).map(lambda x: f"{x[0]}({x[1]}, {x[2]})"),
        ],
        "text": [
            st.tuples(sub("text"), sub("text")).map(lambda x: wrap(f"{x[0]} + {x[1]}")),
            sub("integer").map(lambda x: f"lt[{x}]"),
            sub("integer").map(lambda x: f"t[{x}]"),
        ],
    }
    return st.one_of(_leaf(t), *common, *by_type[t])


def _sample() -> st.SearchStrategy:
    text = st.text(alphabet="ab!x ", max_size=6)
    return st.fixed_dictionaries(
        {"t": text, "n": st.one_of(st.integers(-3, 3), st.floats(-2, 2, allow_nan=False)),
         "k": st.integers(-3, 3), "b": st.booleans(), "lt": st.lists(text, max_size=3),
         "ln": st.lists(st.floats(0, 1), max_size=3)},
        optional={"u": text})


def _fake() -> ScriptedBackend:
    def choose(text, options):
        h = hashlib.sha256(text.encode()).digest()
        weights = [1 + h[i] for i in range(len(options))]
        return {o: w / sum(weights) for o, w in zip(options, weights)}

    return ScriptedBackend(choose=choose)


def _all_lazy(program: Program) -> Program:
    doc = dict(program.doc)
    doc["plan"] = {**doc["plan"], "eager": [], "lazy": list(doc["plan"]["order"])}
    return Program.from_doc({k: v for k, v in doc.items() if k != "reward_id"})


def _reachable(program: Program) -> set:
    from skilldsl.compiler.lower import demanded  # every name the reward mentions, on any path

    names = set(_mentioned(program.reward))
    todo = list(names)
    while todo:
        for dep in program.evidence[todo.pop()].get("deps", []):
            if dep not in names:
                names.add(dep)
                todo.append(dep)
    assert demanded(program.reward) <= names
    return names


def _mentioned(e):
    if isinstance(e, dict):
        if "evidence" in e:
            yield e["evidence"]
        for v in e.values():
            yield from _mentioned(v)
    elif isinstance(e, list):
        for v in e:
            yield from _mentioned(v)


def _no_type_error(result) -> None:
    reasons = [result.reason] + [t.reason for t in result.trace.values()]
    reasons += [i.get("reason") for t in result.trace.values() for i in t.detail.get("items", [])]
    assert not any(r and TYPE_ERROR in r for r in reasons), reasons


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expr("number", 3), _expr("bool", 2).filter(lambda w: not re.search(r"\bg\b", w)),
       st.lists(_sample(), min_size=1, max_size=4))
def test_checked_skills_never_meet_a_type_error(reward, when, samples):
    program = compile_source(SKILL.replace("REWARD", reward).replace("WHEN", when))
    results = Skill(program, backend=_fake(), cache=False).score(samples)
    lazy = Skill(_all_lazy(program), backend=_fake(), cache=False).score(samples)
    reachable = _reachable(program)
    for eager_result, lazy_result in zip(results, lazy):
        _no_type_error(eager_result)
        computed = {n for n, t in eager_result.trace.items() if not (t.skipped or "").startswith("not needed")}
        assert computed <= reachable | set(program.plan["eager"])
        assert (eager_result.status, eager_result.reward) == (lazy_result.status, lazy_result.reward)
