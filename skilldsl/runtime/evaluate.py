"""Reward-expression evaluator over IR ``EXPR`` JSON, three-valued and demand-driven.

Every expression evaluates to a :class:`~skilldsl.values.Value` (ok / na / error)
or to :class:`Pending`, which names the evidence that must be computed before the
expression can be decided. Short-circuit forms (``if``, ``and``/``or``, ``first``,
``default``) only evaluate — and so only *demand* — what they need, which is what makes
evidence selection lazy: the executor runs exactly the evidence ``Pending`` names.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from ..values import Value, error, na, ok

__all__ = ["Pending", "Env", "Outcome", "evaluate", "BUILTIN_IMPLS"]


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
    """What an expression can see: inputs, computed evidence, locals and files."""

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
        return error(f"cannot read field {key!r} of a {_tname(base.value)}")
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
        return error(f"cannot index a {_tname(seq)} with a {_tname(at)}")
    if not -len(seq) <= at < len(seq):
        return na(f"index {at} out of range (length {len(seq)})")
    return _wrap(seq[at])


def _wrap(v: Any) -> Value:
    """Items of an ``each`` list are already Values; plain data becomes ``ok``."""
    if isinstance(v, Value):
        return v
    return na("null value") if v is None else ok(v)


# -- strict argument evaluation ---------------------------------------------------------


def _combine(results: list) -> "list | Value | Pending":
    """Apply propagation to evaluated arguments: the first error wins unless an
    earlier argument is still pending (then the outcome depends on it); else pending;
    else the first na; else the list of plain values."""
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
    try:
        return fn(*vals)
    except ZeroDivisionError:
        return error("division by zero")
    except TypeError:
        return error(f"operator {op!r} does not apply to {', '.join(_tname(v) for v in vals)}")


def _num(*vals: Any) -> None:
    for v in vals:
        if not isinstance(v, (int, float)):
            raise TypeError


def _arith(fn: Callable) -> Callable:
    def apply(x: Any, y: Any) -> Value:
        if isinstance(x, str) and isinstance(y, str) and fn is _ADD:
            return ok(x + y)
        _num(x, y)
        return _number(fn(x, y))

    return apply


def _number(x: float) -> Value:
    if isinstance(x, float) and not math.isfinite(x):
        return error(f"arithmetic produced {x}")
    return ok(x)


def _compare(fn: Callable) -> Callable:
    def apply(x: Any, y: Any) -> Value:
        if not (_both_num(x, y) or type(x) is type(y)):
            raise TypeError
        return ok(bool(fn(x, y)))

    return apply


def _both_num(x: Any, y: Any) -> bool:
    return isinstance(x, (int, float)) and isinstance(y, (int, float))


def _not(x: Any) -> Value:
    if not isinstance(x, bool):
        raise TypeError
    return ok(not x)


def _neg(x: Any) -> Value:
    _num(x)
    return ok(-x)


def _ADD(x, y):  # noqa: N802 - identity marker for text concatenation
    return x + y


_OPS: dict[str, Callable[..., Value]] = {
    "+": _arith(_ADD),
    "-": _arith(lambda x, y: x - y),
    "*": _arith(lambda x, y: x * y),
    "/": _arith(lambda x, y: x / y),
    "==": lambda x, y: ok(x == y),
    "!=": lambda x, y: ok(x != y),
    "<": _compare(lambda x, y: x < y),
    "<=": _compare(lambda x, y: x <= y),
    ">": _compare(lambda x, y: x > y),
    ">=": _compare(lambda x, y: x >= y),
    "not": _not,
    "neg": _neg,
}


def _as_bool(r: "Value | Pending", what: str) -> "Value | Pending":
    if isinstance(r, Value) and r.is_ok and not isinstance(r.value, bool):
        return error(f"{what} must be true or false, not a {_tname(r.value)}")
    return r


def _kleene(op: str, args: list, env: Env) -> "Value | Pending":
    """Kleene ``and``/``or``: the absorbing value (false for and, true for or) decides
    even against na, error or a pending operand; the right side runs only if needed."""
    absorbing = op == "or"
    left = _as_bool(evaluate(args[0], env), f"operand of {op!r}")
    if isinstance(left, Value) and left.is_ok:
        if left.value is absorbing:
            return left
        return _as_bool(evaluate(args[1], env), f"operand of {op!r}")
    right = _as_bool(evaluate(args[1], env), f"operand of {op!r}")
    if isinstance(right, Value) and right.is_ok and right.value is absorbing:
        return right
    if isinstance(left, Pending):
        return left  # right is not demanded: left may still decide alone
    if isinstance(right, Pending):
        return right
    if right.is_ok:
        return left
    return left if left.is_error or not right.is_error else right


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


def _status_test(test: Callable[[Value], bool]) -> Callable:
    def apply(args: list, env: Env) -> "Value | Pending":
        r = evaluate(args[0], env)
        return r if isinstance(r, Pending) else ok(test(r))

    return apply


def _first(args: list, env: Env) -> "Value | Pending":
    first_error = None
    for a in args:
        r = evaluate(a, env)
        if isinstance(r, Pending) or r.is_ok:
            return r
        if r.is_error and first_error is None:
            first_error = r
    return first_error or na("first: no argument is known")


def _default(args: list, env: Env) -> "Value | Pending":
    r = evaluate(args[0], env)
    if isinstance(r, Value) and r.is_na:
        return evaluate(args[1], env)
    return r


def _spread(args: list, env: Env) -> "list | Value | Pending":
    """Evaluate aggregate arguments; list values (from ``each`` or list inputs) are
    spread into their items. Returns the items as Values, or a deciding error/pending."""
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
    return [i for i in items if i.is_ok]


def _aggregate(reduce: Callable[[list], Value], kind: str = "number") -> Callable:
    def apply(args: list, env: Env) -> "Value | Pending":
        items = _spread(args, env)
        if not isinstance(items, list):
            return items
        values = [i.value for i in items]
        if not _typed(values, kind):
            return error(f"expected {kind} arguments, got {', '.join(sorted({_tname(v) for v in values}))}")
        return reduce(values)

    return apply


def _typed(values: list, kind: str) -> bool:
    if kind == "bool":
        return all(isinstance(v, bool) for v in values)
    return all(isinstance(v, (int, float)) for v in values)


def _nonempty(fn: Callable[[list], Any], what: str) -> Callable[[list], Value]:
    def reduce(values: list) -> Value:
        return _number(fn(values)) if values else na(f"{what}: no known argument")

    return reduce


def _known_bool(fn: Callable[[list], bool], what: str) -> Callable[[list], Value]:
    # no known argument is na, not vacuous truth: an unknown is never "satisfied"
    def reduce(values: list) -> Value:
        return ok(fn(values)) if values else na(f"{what}: no known argument")

    return reduce


def _weighted(args: list, env: Env) -> "Value | Pending":
    if len(args) % 2:
        return error("weighted expects pairs: weighted(x1, w1, x2, w2, ...)")
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
    if not _typed(r, "number"):
        return error("weighted expects numbers")
    return ok(tuple(r))


def _count(args: list, env: Env) -> "Value | Pending":
    r = evaluate(args[0], env)
    if not isinstance(r, Value) or not r.is_ok:
        return r
    if not isinstance(r.value, list):
        return error(f"count expects a list, not a {_tname(r.value)}")
    items = [_wrap(x) for x in r.value]
    bad = next((i for i in items if i.is_error), None)
    return bad or ok(sum(1 for i in items if i.is_ok and i.value is True))


def _len(args: list, env: Env) -> "Value | Pending":
    r = evaluate(args[0], env)
    if not isinstance(r, Value) or not r.is_ok:
        return r
    if not isinstance(r.value, (list, str, dict)):
        return error(f"len of a {_tname(r.value)}")
    return ok(len(r.value))


def _clip(args: list, env: Env) -> "Value | Pending":
    r = _strict(args, env)
    if not isinstance(r, list):
        return r
    if not _typed(r, "number"):
        return error("clip expects numbers")
    x, lo, hi = r
    return ok(min(max(x, lo), hi))


# -- distribution builtins: p, expect, vote ----------------------------------------------


def _distribution_call(read: Callable[[dict, list], Value]) -> Callable:
    """``p``/``expect``/``vote`` read an evidence's distribution, not its value; over an
    ``each`` evidence they give one value per item (a list, spread by aggregates)."""

    def apply(args: list, env: Env) -> "Value | Pending":
        target = args[0]
        if "evidence" not in target:
            return error("the first argument must name an evidence")
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
        return error("p() needs a choice evidence (no distribution)")
    label = str(rest[0])
    if label not in dist:
        return error(f"{label!r} is not one of the labels {list(dist)}")
    return ok(dist[label])


def _read_expect(detail: dict, rest: list) -> Value:
    dist = detail.get("distribution")
    if dist is None:
        return error("expect() needs a score evidence (no distribution)")
    try:
        return ok(sum(float(k) * p for k, p in dist.items()))
    except ValueError:
        return error("expect() needs a score evidence (labels are not numbers)")


def _read_vote(detail: dict, rest: list) -> Value:
    dist = detail.get("distribution")
    if not dist:
        return error("vote() needs a choice evidence (no distribution)")
    return ok(max(dist, key=lambda k: dist[k]))  # ties: the first label in order


BUILTIN_IMPLS: dict[str, Callable[[list, Env], "Value | Pending"]] = {
    "known": _status_test(lambda v: v.is_ok),
    "is_na": _status_test(lambda v: v.is_na),
    "is_error": _status_test(lambda v: v.is_error),
    "first": _first,
    "default": _default,
    "mean": _aggregate(_nonempty(lambda xs: sum(xs) / len(xs), "mean")),
    "min": _aggregate(_nonempty(min, "min")),
    "max": _aggregate(_nonempty(max, "max")),
    "sum": _aggregate(lambda xs: _number(sum(xs))),
    "all": _aggregate(_known_bool(all, "all"), "bool"),
    "any": _aggregate(_known_bool(any, "any"), "bool"),
    "count": _count,
    "len": _len,
    "weighted": _weighted,
    "p": _distribution_call(_read_p),
    "expect": _distribution_call(_read_expect),
    "vote": _distribution_call(_read_vote),
    "clip": _clip,
}


# -- helpers ----------------------------------------------------------------------------


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _tname(x: Any) -> str:
    return {bool: "bool", int: "number", float: "number", str: "text", list: "list", dict: "json"}.get(
        type(x), type(x).__name__
    )


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
