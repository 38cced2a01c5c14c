"""Signatures of the reward-expression builtins: the checker types calls against these,
the runtime implements them (``runtime/evaluate.py``). Pure data.

Types used in signatures: ``any``, ``number`` (bool counts as 0/1), ``bool``, ``text``,
``list``, ``evidence`` (the argument must name an evidence), ``choice`` / ``score``
(an evidence whose answer is a choice / score).
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Builtin", "BUILTINS"]


@dataclass(frozen=True)
class Builtin:
    """One builtin: parameter types, whether it is variadic, its result type and doc."""

    name: str
    params: tuple[str, ...]
    result: str
    doc: str
    variadic: bool = False      # the last param repeats (at least once)
    min_args: int | None = None  # for variadics; default: len(params)
    propagates: bool = True     # False: sees na/error as data (known, is_na, first, default)


def _b(name, params, result, doc, **kw) -> tuple[str, Builtin]:
    return name, Builtin(name, tuple(params), result, doc, **kw)


BUILTINS: dict[str, Builtin] = dict(
    [
        _b("known", ["any"], "bool", "true iff the argument is a value (neither na nor error)", propagates=False),
        _b("is_na", ["any"], "bool", "true iff the argument is na", propagates=False),
        _b("is_error", ["any"], "bool", "true iff the argument is an error", propagates=False),
        _b("first", ["any"], "any", "the first argument that is a value, lazily; else error if any erred, else na",
           variadic=True, propagates=False),
        _b("default", ["any", "any"], "any", "x if x is a value, d if x is na; an error stays an error", propagates=False),
        _b("mean", ["number"], "number", "mean of the known arguments (lists are spread); na if none", variadic=True),
        _b("min", ["number"], "number", "minimum of the known arguments", variadic=True),
        _b("max", ["number"], "number", "maximum of the known arguments", variadic=True),
        _b("sum", ["number"], "number", "sum of the known arguments", variadic=True),
        _b("all", ["bool"], "bool", "true iff every known argument is true", variadic=True),
        _b("any", ["bool"], "bool", "true iff some known argument is true", variadic=True),
        _b("count", ["list"], "number", "number of known items that are true"),
        _b("len", ["any"], "number", "length of a list or text"),
        _b("weighted", ["number", "number"], "number",
           "weighted(x1, w1, x2, w2, ...): weighted mean of the known x, weights renormalised", variadic=True),
        _b("p", ["choice", "text"], "number", "probability of a label in a choice evidence's distribution"),
        _b("expect", ["score"], "number", "expected value of a score evidence's distribution"),
        _b("vote", ["choice"], "text", "majority label over a choice evidence's samples"),
        _b("clip", ["number", "number", "number"], "number", "clip(x, lo, hi)"),
    ]
)
