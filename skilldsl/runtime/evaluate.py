"""Reward-expression evaluator over IR ``EXPR`` JSON, three-valued and demand-driven.

Every expression evaluates to a :class:`~skilldsl.values.Value` (ok / na / error) or to
:class:`Pending`, which names the evidence that must be computed before the expression can be
decided. Short-circuit forms (``if``, ``and``/``or``, ``first``, ``default``, ``catch``) only
evaluate — and so only *demand* — what they need, which is what makes evidence selection lazy: the
executor runs exactly the evidence ``Pending`` names.

Typing and three-valued behaviour come from :mod:`skilldsl.ir.functions` (the checker's tables):
an operator picks its overload by the runtime types of its operands, and a type mismatch is an
error whose reason starts with :data:`TYPE_ERROR` — which a checked skill only meets in a ``json``
value. ``na`` means "does not apply": it propagates, and the builtins that handle it (``first``,
``default``, ``known``, aggregates) move on. ``error`` means "something broke": it propagates
through everything except ``catch`` and ``is_error``, which record it in ``env.caught``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from ..data import AnyOf, list_reference_refused
from ..ir.functions import BUILTINS, select_overload
from ..ir.types import describe, value_accepts, value_type
from ..values import Value, error, na, ok

__all__ = ["Pending", "Env", "Outcome", "evaluate", "BUILTIN_IMPLS", "TYPE_ERROR"]

TYPE_ERROR = "type error: "


@dataclass(frozen=True)
class Pending:
    """The expression needs these evidence names computed first."""

    names: frozenset

    def __or__(self, other: "Pending") -> "Pending":
        return Pending(self.names | other.names)


@dataclass
class Outcome:
    """A computed evidence: its value plus what the trace and ``p``/``expect``/``vote`` need."""

    value: Value
    kind: str = "check"
    detail: dict = field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0
    skipped: str | None = None


class Env(Protocol):
    """What an expression can see: inputs, computed evidence, locals and files. An env may have a
    ``caught`` list, where ``catch``/``is_error`` record the errors they caught."""

    def input(self, name: str) -> Value: ...

    def evidence(self, name: str) -> "Outcome | None": ...  # None: not computed yet

    def local(self, name: str) -> Value: ...

    def file(self, name: str) -> Value: ...


def evaluate(expr: dict, env: Env) -> "Value | Pending":
    """Evaluate one IR expression against ``env``."""
    for key, fn in _NODES:
        if key in expr:
            return fn(expr, env)
    return error(f"internal: unknown expression node {sorted(expr)}")


def _type_error(message: str) -> Value:
    return error(TYPE_ERROR + message)


# -- leaves -------------------------------------------------------------------------


def _const(expr: dict, env: Env) -> Value:
    return ok(expr["const"])


def _na_literal(expr: dict, env: Env) -> Value:
    return na("na literal")


def _evidence(expr: dict, env: Env) -> "Value | Pending":
    outcome = env.evidence(expr["evidence"])
    if outcome is None:
        return Pending(frozenset([expr["evidence"]]))
    return outcome.value


def _get(expr: dict, env: Env) -> "Value | Pending":
    base = evaluate(expr["get"], env)
    if not isinstance(base, Value) or not base.is_ok:
        return base
    key = expr["key"]
    if not isinstance(base.value, dict):
        return _type_error(f"cannot read field {key!r} of {describe(value_type(base.value))}")
    if key not in base.value:
        return na(f"no field {key!r}")
    return _wrap(base.value[key])


def _index(expr: dict, env: Env) -> "Value | Pending":
    args = _strict([expr["index"], expr["at"]], env)
    if not isinstance(args, list):
        return args
    seq, at = args
    if isinstance(seq, dict) and isinstance(at, str):
        return _wrap(seq[at]) if at in seq else na(f"no key {at!r}")
    if not isinstance(seq, (list, str)) or not _is_int(at):
        return _type_error(f"cannot index {describe(value_type(seq))} with {describe(value_type(at))}")
    if not -len(seq) <= at < len(seq):
        return na(f"index {at} out of range (length {len(seq)})")
    return _wrap(seq[at])


def _wrap(v: Any) -> Value:
    """Items of an ``each`` list are already Values; plain data becomes ``ok`` (JSON null: na)."""
    if isinstance(v, Value):
        return v
    return na("null value") if v is None else ok(v)


# -- strict argument evaluation ---------------------------------------------------------


def _combine(results: list) -> "list | Value | Pending":
    """Apply propagation to evaluated arguments: the first error wins unless an earlier
    argument is still pending (then the outcome depends on it); else pending; else the first
    na; else the list of plain values."""
    pending = None
    first_na = None
    for r in results:
        if isinstance(r, Pending):
            pending = r if pending is None else pending | r
        elif r.is_error and pending is None:
            return r
        elif r.is_na and first_na is None:
            first_na = r
    if pending is not None:
        return pending
    if first_na is not None:
        return first_na
    return [r.value for r in results]


def _strict(exprs: list, env: Env) -> "list | Value | Pending":
    results = []
    for e in exprs:
        r = evaluate(e, env)
        results.append(r)
        if isinstance(r, Value) and r.is_error and not any(isinstance(x, Pending) for x in results):
            break  # decided: the first error; later arguments need not run
    return _combine(results)


# -- operators --------------------------------------------------------------------------


def _op(expr: dict, env: Env) -> "Value | Pending":
    op, args = expr["op"], expr["args"]
    if op in ("and", "or"):
        return _kleene(op, args, env)
    if op == "if":
        return _if(args, env)
    vals = _strict(args, env)
    if not isinstance(vals, list):
        return vals
    fn = _OPS.get(op)
    if fn is None:
        return error(f"internal: unknown operator {op!r}")
    if select_overload(op, vals) is None:
        return _type_error(f"operator {_SHOWN.get(op, op)!r} does not apply to "
                           f"{', '.join(describe(value_type(v)) for v in vals)}")
    if op not in ("==", "!="):  # only these read a list reference's options; to the rest it is no text
        listed = next((v for v in vals if isinstance(v, AnyOf)), None)
        if listed is not None:
            return error(list_reference_refused(f"an operand of {_SHOWN.get(op, op)!r}", listed))
    try:
        return _number(fn(*vals))
    except ZeroDivisionError:
        return error("division by zero")
    except OverflowError:
        return error(f"arithmetic overflow in {_SHOWN.get(op, op)!r}")


def _number(x: Any) -> Value:
    if isinstance(x, float) and not math.isfinite(x):
        return error(f"arithmetic produced {x}")
    return ok(x)


def _equal(x: Any, y: Any) -> bool:
    """``==``: a list reference (:class:`~skilldsl.data.AnyOf`) equals each of its options, never
    its text: ``"D or J"`` names every option and is no answer."""
    if isinstance(x, AnyOf):
        return any(_equal(option, y) for option in x.options)
    if isinstance(y, AnyOf):
        return any(x == option for option in y.options)
    return x == y


_SHOWN = {"neg": "-"}
_OPS: dict[str, Callable[..., Any]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": lambda x, y: x / y,
    "==": _equal,
    "!=": lambda x, y: not _equal(x, y),
    "<": lambda x, y: x < y,
    "<=": lambda x, y: x <= y,
    ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y,
    "not": lambda x: not x,
    "neg": lambda x: -x,
}


def _as_bool(r: "Value | Pending", what: str) -> "Value | Pending":
    if isinstance(r, Value) and r.is_ok and not isinstance(r.value, bool):
        return _type_error(f"{what} must be true or false, not {describe(value_type(r.value))}")
    return r


def _kleene(op: str, args: list, env: Env) -> "Value | Pending":
    """``and``/``or``, left to right: the left operand decides alone when it is the absorbing
    value (false for and, true for or) or an error; otherwise the right one is evaluated. A na
    left operand is absorbed by an absorbing right one (Kleene: ``na and false`` is false); an
    error never is — something broke, and that is the result."""
    absorbing = op == "or"
    left = _as_bool(evaluate(args[0], env), f"operand of {op!r}")
    if isinstance(left, Pending) or left.is_error:
        return left
    if left.is_ok and left.value is absorbing:
        return left
    right = _as_bool(evaluate(args[1], env), f"operand of {op!r}")
    if isinstance(right, Pending) or right.is_error:
        return right
    if left.is_na and not (right.is_ok and right.value is absorbing):
        return left
    return right


def _if(args: list, env: Env) -> "Value | Pending":
    cond = _as_bool(evaluate(args[0], env), "condition of 'if'")
    if not isinstance(cond, Value) or not cond.is_ok:
        return cond
    return evaluate(args[1] if cond.value else args[2], env)


# -- builtins ---------------------------------------------------------------------------


def _call(expr: dict, env: Env) -> "Value | Pending":
    name = expr["call"]
    fn = BUILTIN_IMPLS.get(name)
    if fn is None:
        return error(f"unknown function {name!r}")
    return fn(expr.get("args", []), env)


def _caught(env: Env, r: Value) -> None:
    """Record an error that ``catch``/``is_error`` turned into data (the trace shows it)."""
    log = getattr(env, "caught", None)
    if log is not None and r.reason not in log:
        log.append(r.reason)


def _status_test(test: Callable[[Value], bool], catches: bool = False) -> Callable:
    """``known`` / ``is_na`` (an error stays an error) and ``is_error`` (catches it)."""

    def apply(args: list, env: Env) -> "Value | Pending":
        r = evaluate(args[0], env)
        if isinstance(r, Pending):
            return r
        if r.is_error:
            if not catches:
                return r
            _caught(env, r)
        return ok(test(r))

    return apply


def _first(args: list, env: Env) -> "Value | Pending":
    """The first value, skipping na; an error or a pending argument stops the search."""
    for a in args:
        r = evaluate(a, env)
        if isinstance(r, Pending) or not r.is_na:
            return r
    return na("first: no argument is known")


def _default(args: list, env: Env) -> "Value | Pending":
    r = evaluate(args[0], env)
    if isinstance(r, Value) and r.is_na:
        return evaluate(args[1], env)
    return r


def _catch(args: list, env: Env) -> "Value | Pending":
    r = evaluate(args[0], env)
    if isinstance(r, Value) and r.is_error:
        _caught(env, r)
        return evaluate(args[1], env)
    return r


def _spread(args: list, env: Env) -> "list | Value | Pending":
    """Evaluate aggregate arguments; list values (from ``each`` or list inputs) are spread into
    their items. Returns the known items' values, or a deciding error / pending."""
    results = [evaluate(a, env) for a in args]
    items: list = []
    for r in results:
        if isinstance(r, Value) and r.is_ok and isinstance(r.value, list):
            items.extend(_wrap(x) for x in r.value)
        else:
            items.append(r)
    decided = _combine(items)
    if isinstance(decided, Pending) or (isinstance(decided, Value) and decided.is_error):
        return decided
    return [i.value for i in items if i.is_ok]


def _aggregate(name: str, reduce: Callable[[list], Value]) -> Callable:
    want = BUILTINS[name].params[0]

    def apply(args: list, env: Env) -> "Value | Pending":
        values = _spread(args, env)
        if not isinstance(values, list):
            return values
        bad = next((v for v in values if not value_accepts(want, v)), None)
        if bad is not None:
            return _type_error(f"{name}(): every argument must be {describe(want)}, got {describe(value_type(bad))}")
        return reduce(values)

    return apply


def _nonempty(fn: Callable[[list], Any], what: str) -> Callable[[list], Value]:
    # no known argument is na, not vacuous truth: an unknown is never "satisfied"
    def reduce(values: list) -> Value:
        return _number(fn(values)) if values else na(f"{what}: no known argument")

    return reduce


def _weighted(args: list, env: Env) -> "Value | Pending":
    if len(args) % 2:
        return _type_error("weighted expects pairs: weighted(x1, w1, x2, w2, ...)")
    pairs = [_strict_pair(args[i], args[i + 1], env) for i in range(0, len(args), 2)]
    decided = _combine([p for p in pairs if not (isinstance(p, Value) and p.is_ok and p.value is None)])
    if isinstance(decided, Pending) or (isinstance(decided, Value) and decided.is_error):
        return decided
    known = [p.value for p in pairs if isinstance(p, Value) and p.is_ok and p.value is not None]
    total = sum(w for _, w in known)
    if not known:
        return na("weighted: no known argument")
    if total == 0:
        return error("weighted: the known weights sum to zero")
    return _number(sum(x * w for x, w in known) / total)


def _strict_pair(x_expr: dict, w_expr: dict, env: Env) -> "Value | Pending":
    """One (x, w) pair: ok((x, w)), ok(None) when x is na (skipped), or error/pending."""
    r = _strict([x_expr, w_expr], env)
    if isinstance(r, Value) and r.is_na:
        return ok(None)
    if not isinstance(r, list):
        return r
    if not all(value_accepts("number", v) for v in r):
        return _type_error("weighted() needs numbers")
    return ok(tuple(r))


def _one_arg(name: str, apply: Callable[[Any], Value]) -> Callable:
    """A strict builtin of one argument, its type checked against the builtin's parameter."""
    want = BUILTINS[name].params[0]

    def call(args: list, env: Env) -> "Value | Pending":
        r = evaluate(args[0], env)
        if not isinstance(r, Value) or not r.is_ok:
            return r
        if not value_accepts(want, r.value):
            return _type_error(f"{name}() needs {describe(want)}, got {describe(value_type(r.value))}")
        return apply(r.value)

    return call


def _count(items: list) -> Value:
    items = [_wrap(x) for x in items]
    bad = next((i for i in items if i.is_error), None)
    return bad or ok(sum(1 for i in items if i.is_ok and i.value is True))


def _len(x: Any) -> Value:
    return ok(len(x))


def _clip(args: list, env: Env) -> "Value | Pending":
    r = _strict(args, env)
    if not isinstance(r, list):
        return r
    if not all(value_accepts("number", v) for v in r):
        return _type_error("clip() needs numbers")
    x, lo, hi = r
    return ok(min(max(x, lo), hi))


# -- distribution builtins: p, expect, vote ----------------------------------------------


def _distribution_call(read: Callable[[dict, list], Value]) -> Callable:
    """``p``/``expect``/``vote`` read an evidence's distribution, not its value; over an
    ``each`` evidence they give one value per item (a list, spread by aggregates)."""

    def apply(args: list, env: Env) -> "Value | Pending":
        target = args[0]
        if "evidence" not in target:
            return _type_error("the first argument must name an evidence")
        outcome = env.evidence(target["evidence"])
        if outcome is None:
            return Pending(frozenset([target["evidence"]]))
        if not outcome.value.is_ok:
            return outcome.value
        rest = _strict(args[1:], env)
        if not isinstance(rest, list):
            return rest
        if "items" in outcome.detail:
            return ok([_item(read, item, v, rest) for item, v in zip(outcome.detail["items"], outcome.value.value)])
        return read(outcome.detail, rest)

    return apply


def _item(read: Callable, detail: dict, value: Value, rest: list) -> Value:
    return read(detail, rest) if value.is_ok else value


def _read_p(detail: dict, rest: list) -> Value:
    dist = detail.get("distribution")
    if dist is None:
        return _type_error("p() needs a choice evidence (no distribution)")
    label = rest[0]
    if not isinstance(label, str):
        return _type_error(f"p(): the label must be text, not {describe(value_type(label))}")
    if label not in dist:
        return error(f"{label!r} is not one of the labels {list(dist)}")
    return ok(dist[label])


def _read_expect(detail: dict, rest: list) -> Value:
    dist = detail.get("distribution")
    if dist is None:
        return _type_error("expect() needs a score evidence (no distribution)")
    try:
        return ok(sum(float(k) * p for k, p in dist.items()))
    except ValueError:
        return _type_error("expect() needs a score evidence (labels are not numbers)")


def _read_vote(detail: dict, rest: list) -> Value:
    dist = detail.get("distribution")
    if not dist:
        return _type_error("vote() needs a choice evidence (no distribution)")
    return ok(max(dist, key=lambda k: dist[k]))  # ties: the first label in order


BUILTIN_IMPLS: dict[str, Callable[[list, Env], "Value | Pending"]] = {
    "known": _status_test(lambda v: v.is_ok),
    "is_na": _status_test(lambda v: v.is_na),
    "is_error": _status_test(lambda v: v.is_error, catches=True),
    "first": _first,
    "default": _default,
    "catch": _catch,
    "mean": _aggregate("mean", _nonempty(lambda xs: sum(xs) / len(xs), "mean")),
    "min": _aggregate("min", _nonempty(min, "min")),
    "max": _aggregate("max", _nonempty(max, "max")),
    "sum": _aggregate("sum", lambda xs: _number(sum(xs))),
    "all": _aggregate("all", _nonempty(all, "all")),
    "any": _aggregate("any", _nonempty(any, "any")),
    "count": _one_arg("count", _count),
    "len": _one_arg("len", _len),
    "weighted": _weighted,
    "p": _distribution_call(_read_p),
    "expect": _distribution_call(_read_expect),
    "vote": _distribution_call(_read_vote),
    "clip": _clip,
}


# -- helpers ----------------------------------------------------------------------------


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _lookup(method: str) -> Callable:
    def apply(expr: dict, env: Env) -> Value:
        return getattr(env, method)(expr[method])

    return apply


_NODES: list[tuple[str, Callable]] = [
    ("const", _const),
    ("na", _na_literal),
    ("input", _lookup("input")),
    ("evidence", _evidence),
    ("local", _lookup("local")),
    ("file", _lookup("file")),
    ("get", _get),
    ("index", _index),
    ("op", _op),
    ("call", _call),
]
