"""The expression language's operators and builtins: one definition of each one's typing, of how
it treats ``na`` and ``error``, and of which arguments it always evaluates.

The checker types calls and operators against these tables (``compiler/checker.py``), the evaluator
selects the overload by the runtime types of the operands with the same tables
(``runtime/evaluate.py``), and lowering's eager plan reads which arguments are always evaluated
(``compiler/lower.py: demanded``). Pure data plus two small lookups.

Types are those of :mod:`skilldsl.ir.types`; in builtin parameters ``choice`` / ``score`` mean "the
name of a choice / score evidence", and the result ``unify`` means "the common type of the arguments".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .types import DYNAMIC, accepts, describe, element, is_list, unify, value_accepts

__all__ = ["Builtin", "BUILTINS", "Overload", "OPERATORS", "resolve_operator", "select_overload", "LAZY_OPERATORS"]


@dataclass(frozen=True)
class Overload:
    """One typing of an operator: operand types and the result type."""

    params: tuple[str, ...]
    result: str


def _ops(*overloads: tuple) -> tuple[Overload, ...]:
    return tuple(Overload(tuple(params), result) for *params, result in overloads)


_ARITH = _ops(("integer", "integer", "integer"), ("number", "number", "number"))
_ORDER = _ops(("number", "number", "bool"), ("text", "text", "bool"))

OPERATORS: dict[str, tuple[Overload, ...]] = {
    "+": _ARITH + _ops(("text", "text", "text")),
    "-": _ARITH,
    "*": _ARITH,
    "/": _ops(("number", "number", "number")),
    "<": _ORDER, "<=": _ORDER, ">": _ORDER, ">=": _ORDER,
    "==": _ops(("json", "json", "bool")),
    "!=": _ops(("json", "json", "bool")),
    "and": _ops(("bool", "bool", "bool")),
    "or": _ops(("bool", "bool", "bool")),
    "not": _ops(("bool", "bool")),
    "neg": _ops(("integer", "integer"), ("number", "number")),
}

# Operators that do not always evaluate every operand: `if` evaluates its condition and one branch,
# `and`/`or` their right side only when the left one does not decide.
LAZY_OPERATORS = frozenset({"if", "and", "or"})


def resolve_operator(op: str, types: list[str]) -> "str | None":
    """The checker's side: the result type of ``op`` on operands of these types, or None when no
    overload applies. With a dynamic (``json``) operand every applicable overload may be the one
    chosen at run time, so the result is their common type (``json`` if they have none)."""
    matching = [o for o in OPERATORS[op] if len(o.params) == len(types)
                and all(accepts(p, t) for p, t in zip(o.params, types))]
    if not matching:
        return None
    if not any(t in DYNAMIC for t in types):
        return matching[0].result
    result = matching[0].result
    for o in matching[1:]:
        result = unify(result, o.result) or "json"
    return result


def select_overload(op: str, values: list[Any]) -> "Overload | None":
    """The evaluator's side: the first overload of ``op`` whose operand types the runtime values have."""
    for o in OPERATORS[op]:
        if len(o.params) == len(values) and all(value_accepts(p, v) for p, v in zip(o.params, values)):
            return o
    return None


@dataclass(frozen=True)
class Builtin:
    """One builtin: parameter types, result type, doc, and its three-valued behaviour.

    ``handles`` are the statuses the builtin reads as data instead of propagating them (every
    other ``na`` or ``error`` argument is the result, the first error before any na); ``lazy``: only
    the first argument is always evaluated, the others only when needed; ``spreads``: list arguments
    are spread into their items (aggregates).
    """

    name: str
    params: tuple[str, ...]
    result: str
    doc: str
    variadic: bool = False      # the last param repeats (at least once)
    min_args: int | None = None  # for variadics; default: len(params)
    handles: frozenset = frozenset()
    lazy: bool = False
    spreads: bool = False

    def param(self, i: int) -> str:
        """The type argument ``i`` must have (a variadic's last parameter repeats)."""
        return self.params[min(i, len(self.params) - 1)]

    def arity_problem(self, n: int) -> "str | None":
        """Why a call with ``n`` arguments does not fit (``clip() takes 3 argument(s), got 2: ...``), or None."""
        if self.variadic:
            least = self.min_args if self.min_args is not None else len(self.params)
            ok, want = n >= least, f"at least {least}"
        else:
            ok, want = n == len(self.params), str(len(self.params))
        if ok:
            return None
        return (f"{self.name}() takes {want} argument(s), got {n}: {self.name}({', '.join(self.params)}"
                f"{', ...' if self.variadic else ''})")

    def argument_problem(self, i: int, t: str) -> "str | None":
        """Why argument ``i`` of type ``t`` does not fit (``argument 2 must be a number, but this
        is text``), or None; a spreading builtin takes a list of its parameter type too."""
        want = self.param(i)
        if accepts(want, element(t) if self.spreads and is_list(t) else t):
            return None
        return f"argument {i + 1} must be {describe(want)}, but this is {describe(t)}"

    def result_type(self, types: list) -> "str | None":
        """The call's type for arguments of ``types``; None when a unifying builtin's differ."""
        if self.result != "unify":
            return self.result
        result = types[0]
        for t in types[1:]:
            result = unify(result, t) if result is not None else None
        return result

    @property
    def always_evaluated(self) -> "slice":
        """The arguments every evaluation of a call evaluates (what the eager plan may assume)."""
        return slice(0, 1) if self.lazy else slice(None)


def _b(name, params, result, doc, **kw) -> tuple[str, Builtin]:
    if "handles" in kw:
        kw["handles"] = frozenset(kw["handles"])
    return name, Builtin(name, tuple(params), result, doc, **kw)


_NA, _ERROR = ("na",), ("na", "error")
_AGGREGATE = dict(variadic=True, handles=_NA, spreads=True)

BUILTINS: dict[str, Builtin] = dict(
    [
        _b("known", ["any"], "bool", "true iff the argument is a value, false iff it is na; an error stays an error",
           handles=_NA),
        _b("is_na", ["any"], "bool", "true iff the argument is na, false iff it is a value; an error stays an error",
           handles=_NA),
        _b("is_error", ["any"], "bool", "true iff the argument is an error (the error is caught: the trace "
           "lists it under `caught`)", handles=_ERROR),
        _b("first", ["any"], "unify", "the first argument that is a value, skipping na, left to right and lazily; "
           "an error stops the search and is the result", variadic=True, handles=_NA, lazy=True),
        _b("default", ["any", "any"], "unify", "x if x is a value, d if x is na; an error stays an error",
           handles=_NA, lazy=True),
        _b("catch", ["any", "any"], "unify", "catch(x, fallback): x if x is a value or na, fallback if x is an "
           "error (the trace lists the caught error under `caught`)", handles=("error",), lazy=True),
        _b("mean", ["number"], "number", "mean of the known arguments (lists are spread); na if none", **_AGGREGATE),
        _b("min", ["number"], "number", "minimum of the known arguments; na if none", **_AGGREGATE),
        _b("max", ["number"], "number", "maximum of the known arguments; na if none", **_AGGREGATE),
        _b("sum", ["number"], "number", "sum of the known arguments (0 if none)", **_AGGREGATE),
        _b("all", ["bool"], "bool", "true iff every known argument is true; na if none", **_AGGREGATE),
        _b("any", ["bool"], "bool", "true iff some known argument is true; na if none", **_AGGREGATE),
        _b("count", ["list[bool]"], "integer", "number of items that are true (na items are not counted; "
           "an error item is the result)"),
        _b("len", ["text|list[json]"], "integer", "length of a list or text"),
        _b("weighted", ["number", "number"], "number",
           "weighted(x1, w1, x2, w2, ...): weighted mean of the known x, weights renormalised", variadic=True,
           handles=_NA),
        _b("p", ["choice", "text"], "number", "probability of a label in a choice evidence's distribution"),
        _b("expect", ["score"], "number", "expected value of a score evidence's distribution"),
        _b("vote", ["choice"], "text", "the most probable label of a choice evidence"),
        _b("clip", ["number", "number", "number"], "number", "clip(x, lo, hi)"),
    ]
)
