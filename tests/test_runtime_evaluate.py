"""Three-valued semantics of the reward-expression evaluator: every builtin and operator,
with ok / na / error / pending arguments (docs/internals.md, "Three-valued semantics")."""
from __future__ import annotations

import pytest

from _runtime_support import C as const
from _runtime_support import E as ev
from _runtime_support import call, op
from skilldsl.ir.functions import BUILTINS
from skilldsl.runtime.evaluate import BUILTIN_IMPLS, TYPE_ERROR, Outcome, Pending, evaluate
from skilldsl.values import Value, error, na, ok


class Env:
    """Inputs are given as Values; evidence absent from ``outcomes`` is pending."""

    def __init__(self, outcomes=None, inputs=None, locals_=None, files=None):
        self.outcomes = outcomes or {}
        self.inputs = inputs or {}
        self.locals = locals_ or {}
        self.files = files or {}

    def input(self, name):
        return self.inputs[name]

    def evidence(self, name):
        return self.outcomes.get(name)

    def local(self, name):
        return ok(self.locals[name])

    def file(self, name):
        return ok(self.files[name])


OK1, OK2, NA, ERR, ERR2 = ok(1), ok(2), na("nope"), error("broke"), error("second")
T, F = ok(True), ok(False)


def env_of(**values):
    """Evidence named by keyword; a value of None means pending."""
    return Env({k: Outcome(v) for k, v in values.items() if v is not None})


def run(expr, **values):
    return evaluate(expr, env_of(**values))


def same(a, b):
    if isinstance(a, Pending) or isinstance(b, Pending):
        return a == b
    return (a.status, a.value, a.reason) == (b.status, b.value, b.reason)


def pending(*names):
    return Pending(frozenset(names))


def test_every_builtin_is_implemented():
    assert set(BUILTINS) == set(BUILTIN_IMPLS)


# -- leaves ----------------------------------------------------------------------------------


def test_leaves():
    env = Env({"j": Outcome(ok("yes"))}, {"x": ok({"k": [1, 2]})}, {"item": "it"}, {"rubric": "R"})
    assert evaluate(const(3), env) == ok(3)
    assert evaluate({"na": True}, env).is_na
    assert evaluate({"input": "x"}, env) == ok({"k": [1, 2]})
    assert evaluate(ev("j"), env) == ok("yes")
    assert evaluate(ev("other"), env) == pending("other")
    assert evaluate({"local": "item"}, env) == ok("it")
    assert evaluate({"file": "rubric"}, env) == ok("R")


def test_field_and_index():
    env = Env(inputs={"x": ok({"k": [10, 20]}), "s": ok("abc")})
    k = {"get": {"input": "x"}, "key": "k"}
    assert evaluate({"index": k, "at": const(1)}, env) == ok(20)
    assert evaluate({"index": k, "at": const(5)}, env).is_na
    assert evaluate({"get": {"input": "x"}, "key": "missing"}, env).is_na
    assert evaluate({"get": {"input": "s"}, "key": "k"}, env).is_error
    assert evaluate({"index": {"input": "s"}, "at": const("a")}, env).is_error


# -- operators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,args,expected",
    [
        ("+", [1, 2], 3), ("-", [1, 2], -1), ("*", [3, 2], 6), ("/", [1, 4], 0.25),
        ("+", ["a", "b"], "ab"), ("==", ["a", "a"], True), ("!=", [1, 2], True),
        ("<", [1, 2], True), ("<=", [2, 2], True), (">", [1, 2], False), (">=", [1, 2], False),
        ("not", [True], False), ("neg", [2], -2),
    ],
)
def test_operator_values(name, args, expected):
    assert run(op(name, *map(const, args))) == ok(expected)


@pytest.mark.parametrize("name", ["+", "-", "*", "/", "==", "<", ">="])
def test_strict_operator_propagation(name):
    # error beats na; the first error wins; pending before an error keeps it undecided
    assert same(run(op(name, ev("a"), ev("b")), a=NA, b=OK1), NA)
    assert same(run(op(name, ev("a"), ev("b")), a=NA, b=ERR), ERR)
    assert same(run(op(name, ev("a"), ev("b")), a=ERR, b=ERR2), ERR)
    assert run(op(name, ev("a"), ev("b")), a=None, b=OK1) == pending("a")
    assert run(op(name, ev("a"), ev("b")), a=None, b=None) == pending("a", "b")
    assert same(run(op(name, ev("a"), ev("b")), a=ERR, b=None), ERR)
    assert run(op(name, ev("a"), ev("b")), a=None, b=ERR) == pending("a")


def test_operator_type_and_arithmetic_errors():
    assert "division by zero" in run(op("/", const(1), const(0))).reason
    for bad in (op("+", const(1), const("a")), op("<", const(1), const("a")), op("<", const("a"), const(3)),
                op("not", const(1)), op("-", const("a"), const("b")), op("<", const([1]), const([2]))):
        assert run(bad).reason.startswith(TYPE_ERROR), bad


KLEENE = [
    # (op, left, right, expected): Kleene for na, but an error is never absorbed
    ("and", F, NA, F), ("and", NA, F, F), ("and", F, ERR, F), ("and", ERR, F, ERR),
    ("and", T, NA, NA), ("and", NA, T, NA), ("and", T, T, T), ("and", NA, ERR, ERR), ("and", ERR, NA, ERR),
    ("or", T, NA, T), ("or", NA, T, T), ("or", ERR, T, ERR), ("or", T, ERR, T), ("or", F, NA, NA),
    ("or", F, F, F), ("or", NA, NA, NA), ("or", ERR, ERR2, ERR),
]


@pytest.mark.parametrize("name,left,right,expected", KLEENE)
def test_kleene_and_or(name, left, right, expected):
    assert same(run(op(name, ev("l"), ev("r")), l=left, r=right), expected)


def test_and_or_demand_lazily():
    # the right side is not demanded while the left can still decide alone
    assert run(op("and", ev("l"), ev("r")), l=None, r=None) == pending("l")
    assert run(op("and", ev("l"), ev("r")), l=F, r=None) == F
    assert run(op("and", ev("l"), ev("r")), l=T, r=None) == pending("r")
    # the left side is always needed: it may be an error, which nothing absorbs
    assert run(op("and", ev("l"), ev("r")), l=None, r=F) == pending("l")
    assert run(op("or", ev("l"), ev("r")), l=None, r=T) == pending("l")
    assert run(op("or", ev("l"), ev("r")), l=NA, r=None) == pending("r")
    assert run(op("and", const(1), const(True))).is_error


def test_if_is_lazy_and_three_valued():
    expr = op("if", ev("c"), ev("t"), ev("e"))
    assert run(expr, c=T, t=OK1, e=None) == OK1
    assert run(expr, c=F, t=None, e=OK2) == OK2
    assert run(expr, c=None, t=None, e=None) == pending("c")
    assert run(expr, c=T, t=None, e=None) == pending("t")
    assert same(run(expr, c=NA, t=OK1, e=OK2), NA)
    assert same(run(expr, c=ERR, t=OK1, e=OK2), ERR)
    assert run(expr, c=OK1, t=OK1, e=OK2).is_error


# -- builtins ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn,value,expected",
    [("known", OK1, True), ("known", NA, False),
     ("is_na", NA, True), ("is_na", OK1, False),
     ("is_error", ERR, True), ("is_error", NA, False), ("is_error", OK1, False)],
)
def test_status_tests_read_na_as_data(fn, value, expected):
    assert run(call(fn, ev("x")), x=value) == ok(expected)
    assert run(call(fn, ev("x")), x=None) == pending("x")


@pytest.mark.parametrize("fn", ["known", "is_na"])
def test_known_and_is_na_keep_an_error(fn):
    # `x if known(x) else judge` must not send a broken verifier to the judge
    assert same(run(call(fn, ev("x")), x=ERR), ERR)


def test_first_skips_na_only():
    expr = call("first", ev("a"), ev("b"), ev("c"))
    assert run(expr, a=NA, b=OK2, c=None) == OK2
    assert run(expr, a=OK1, b=None, c=None) == OK1
    assert run(expr, a=NA, b=None, c=None) == pending("b")
    assert same(run(expr, a=NA, b=ERR, c=OK1), ERR)   # an error stops the search ...
    assert same(run(expr, a=ERR, b=None, c=None), ERR)  # ... and nothing after it is demanded
    assert run(expr, a=NA, b=NA, c=NA).is_na


def test_catch_is_the_one_way_to_replace_an_error_and_it_is_recorded():
    expr = call("catch", ev("x"), const(0))
    env = env_of(x=ERR)
    env.caught = []
    assert run(expr, x=OK1) == OK1
    assert same(run(expr, x=NA), NA)          # catch is for errors; na is default/first's business
    assert run(expr, x=None) == pending("x")
    assert evaluate(expr, env) == ok(0) and env.caught == ["broke"]
    env.caught = []
    assert evaluate(call("is_error", ev("x")), env) == T and env.caught == ["broke"]


def test_default():
    expr = call("default", ev("x"), const(0.5))
    assert run(expr, x=OK1) == OK1
    assert run(expr, x=NA) == ok(0.5)
    assert same(run(expr, x=ERR), ERR)
    assert run(expr, x=None) == pending("x")


AGGREGATES = [
    ("mean", [1, 2, 3], 2), ("min", [3, 1, 2], 1), ("max", [3, 1, 2], 3), ("sum", [1, 2, 3], 6),
    ("all", [True, True], True), ("all", [True, False], False),
    ("any", [False, True], True), ("any", [False, False], False),
]


@pytest.mark.parametrize("fn,args,expected", AGGREGATES)
def test_aggregates_skip_na(fn, args, expected):
    values = {f"x{i}": ok(v) for i, v in enumerate(args)}
    exprs = [ev(n) for n in values] + [ev("missing")]
    assert run(call(fn, *exprs), **values, missing=NA) == ok(expected)


@pytest.mark.parametrize("fn", ["mean", "min", "max", "all", "any"])
def test_aggregates_all_na_is_na_and_error_wins(fn):
    assert run(call(fn, ev("a"), ev("b")), a=NA, b=NA).is_na
    assert same(run(call(fn, ev("a"), ev("b")), a=NA, b=ERR), ERR)
    assert run(call(fn, ev("a"), ev("b")), a=None, b=OK1) == pending("a")


def test_aggregates_spread_lists_and_each_items():
    items = ok([ok(1.0), na("skipped"), ok(0.0)])
    assert run(call("mean", ev("items")), items=items) == ok(0.5)
    assert run(call("sum", const([1, 2]), const(3))) == ok(6)
    assert same(run(call("mean", ev("items")), items=ok([ok(1), ERR])), ERR)
    assert run(call("mean", const("x"))).is_error


def test_count_and_len():
    assert run(call("count", ev("xs")), xs=ok([T, F, NA, T])) == ok(2)
    assert same(run(call("count", ev("xs")), xs=ok([T, ERR])), ERR)
    assert run(call("count", const([True, True, False]))) == ok(2)
    assert run(call("count", const(3))).is_error
    assert run(call("len", const("abcd"))) == ok(4)
    assert run(call("len", const([1, 2]))) == ok(2)
    assert run(call("len", ev("x")), x=NA).is_na
    assert run(call("len", const(3))).is_error


def test_weighted_renormalises_over_known():
    expr = call("weighted", ev("a"), const(3), ev("b"), const(1))
    assert run(expr, a=ok(1.0), b=ok(0.0)) == ok(0.75)
    assert run(expr, a=ok(1.0), b=NA) == ok(1.0)
    assert run(expr, a=NA, b=NA).is_na
    assert same(run(expr, a=ERR, b=ok(1.0)), ERR)
    assert run(expr, a=None, b=ok(1.0)) == pending("a")
    assert run(call("weighted", const(1))).is_error
    assert run(call("weighted", const(1), const(0))).is_error


def test_clip():
    assert run(call("clip", const(5), const(0), const(1))) == ok(1)
    assert run(call("clip", const(-5), const(0), const(1))) == ok(0)
    assert run(call("clip", ev("x"), const(0), const(1)), x=NA).is_na


def dist_outcome(dist, value=None):
    return Outcome(ok(value or max(dist, key=dist.get)), "ask", {"distribution": dist})


def test_p_expect_vote():
    env = Env({"j": dist_outcome({"yes": 0.7, "no": 0.3}),
               "s": dist_outcome({"1": 0.5, "2": 0.0, "3": 0.5}, 1),
               "bad": Outcome(error("judge failed"), "ask"),
               "chk": Outcome(ok(True), "check")})
    assert evaluate(call("p", ev("j"), const("yes")), env) == ok(0.7)
    assert evaluate(call("p", ev("j"), const("maybe")), env).is_error
    assert evaluate(call("expect", ev("s")), env) == ok(2.0)
    assert evaluate(call("vote", ev("j")), env) == ok("yes")
    assert evaluate(call("p", ev("bad"), const("yes")), env).reason == "judge failed"
    assert evaluate(call("p", ev("chk"), const("yes")), env).is_error
    assert evaluate(call("p", ev("later"), const("yes")), env) == pending("later")
    assert evaluate(call("expect", ev("j")), env).is_error


def test_p_over_each_gives_one_probability_per_item():
    items = Outcome(ok([ok("yes"), na("when: false"), ok("no")]), "each",
                    {"items": [{"distribution": {"yes": 0.8, "no": 0.2}}, {}, {"distribution": {"yes": 0.4, "no": 0.6}}]})
    env = Env({"items": items})
    r = evaluate(call("mean", call("p", ev("items"), const("yes"))), env)
    assert r.is_ok and r.value == pytest.approx(0.6)


def test_unknown_nodes_are_errors_not_crashes():
    assert run({"call": "nosuch", "args": []}).is_error
    assert run({"op": "**", "args": [const(1), const(2)]}).is_error
    assert run({"weird": 1}).is_error
    assert isinstance(run(const(1)), Value)


# -- property: demand-driven evaluation agrees with evaluating everything up front -------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

NAMES = ["e0", "e1", "e2", "e3"]
LEAF_VALUES = st.sampled_from([T, F, ok(0.25), ok(1), ok(3), NA, ERR, ERR2])


def _exprs():
    leaf = st.one_of(st.sampled_from([ev(n) for n in NAMES]),
                     st.sampled_from([const(True), const(False), const(2), {"na": True}]))

    def extend(children):
        binary = st.tuples(st.sampled_from(["and", "or", "+", "*", "<", "=="]), children, children)
        calls = st.tuples(st.sampled_from(["first", "mean", "max", "all", "any", "default", "catch"]),
                          st.lists(children, min_size=2, max_size=3))
        unary = st.tuples(st.sampled_from(["known", "is_na", "is_error"]), children)
        return st.one_of(
            binary.map(lambda t: op(t[0], t[1], t[2])),
            st.tuples(children, children, children).map(lambda t: op("if", *t)),
            calls.map(lambda t: call(t[0], *(t[1][:2] if t[0] in ("default", "catch") else t[1]))),
            unary.map(lambda t: call(t[0], t[1])),
        )

    return st.recursive(leaf, extend, max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(_exprs(), st.lists(LEAF_VALUES, min_size=len(NAMES), max_size=len(NAMES)))
def test_lazy_evaluation_agrees_with_eager(expr, values):
    everything = dict(zip(NAMES, values))
    eager = run(expr, **everything)
    known: dict = {}
    for _ in range(len(NAMES) + 1):
        lazy = run(expr, **{n: known.get(n) for n in NAMES})
        if not isinstance(lazy, Pending):
            break
        assert lazy.names and not lazy.names & set(known)  # only new, real demands
        known.update({n: everything[n] for n in lazy.names})
    assert same(lazy, eager)


# -- the table in ir/functions.py is what the evaluator does ----------------------------------

_SECOND = {"number": const(1), "bool": const(True), "text": const("yes"), "any": const(1)}


def _call_with_first(name, first):
    b = BUILTINS[name]
    rest = [_SECOND.get(p, const(1)) for p in b.params[1:]]
    if name == "weighted":
        rest = [const(1), const(0.5), const(1)]
    elif b.variadic and len(b.params) == 1:
        rest = [_SECOND[b.params[0]]]
    return call(name, first, *rest)


@pytest.mark.parametrize("name", sorted(BUILTINS))
@pytest.mark.parametrize("status", ["na", "error"])
def test_builtins_propagate_exactly_the_statuses_they_do_not_handle(name, status):
    bad = NA if status == "na" else ERR
    outcome = Outcome(bad, "ask", {"distribution": {"yes": 1.0}})
    r = evaluate(_call_with_first(name, ev("x")), Env({"x": outcome}))
    if status in BUILTINS[name].handles:
        assert not same(r, bad), f"{name} should handle {status}"
    else:
        assert same(r, bad), f"{name} should propagate {status}, gave {r}"
