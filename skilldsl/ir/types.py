"""Value types of the expression language: one definition for the checker and the evaluator.

A type is a string:

- the input types ``text``, ``number``, ``integer``, ``bool``, ``list[text]`` (``list`` alone is
  ``list[text]`` as an input's type; as a parameter's type it takes any list), ``list[number]``, ...;
- ``json``: any JSON value, *dynamic*: it is accepted anywhere at build time and its actual type is
  checked when the skill runs (a field of a judge's JSON answer, a ``run`` value);
- ``choice`` (a choice judgment's label, text) and ``score`` (a score judgment's value, an integer);
- ``na``: the type of the ``na`` literal, which fits anywhere;
- ``any``: only what the checker gives an expression it already reported an error for.

A type may be a union written ``a|b`` (builtin parameters only: ``len`` takes ``text|list[json]``,
a list of anything).
The checker types expressions with :func:`accepts` and :func:`unify`; the evaluator checks every
operand with :func:`value_accepts`, which applies the same rules to runtime values. A checked skill
whose inputs match their declared types therefore never meets a type error at run time, except in
a ``json`` value (property-tested in ``tests/test_type_soundness.py``).
"""
from __future__ import annotations

from typing import Any, Callable

from ..values import Value

__all__ = ["NUMERIC", "TEXTUAL", "DYNAMIC", "VALUE_CHECKS", "accepts", "unify", "element", "is_list", "describe",
           "value_type", "value_accepts", "evidence_value_type"]

NUMERIC = frozenset({"number", "integer", "bool", "score"})
TEXTUAL = frozenset({"text", "choice"})
DYNAMIC = frozenset({"json", "any", "na"})  # accepted everywhere by the checker


def is_list(t: str) -> bool:
    """Whether ``t`` is a list type."""
    return t == "list" or t.startswith("list[")


def element(t: str) -> str:
    """The item type of a list type (``list`` alone means a list of text)."""
    if t.startswith("list[") and t.endswith("]"):
        return t[5:-1]
    return "text" if t == "list" else "json"


def accepts(expected: str, actual: str) -> bool:
    """Whether a value of type ``actual`` may be used where ``expected`` is wanted."""
    if "|" in expected:
        return any(accepts(e, actual) for e in expected.split("|"))
    if expected in ("any", "json") or actual in DYNAMIC:
        return True
    if expected == "number":
        return actual in NUMERIC
    if expected == "integer":
        return actual in ("integer", "bool", "score")
    if expected == "text":
        return actual in TEXTUAL
    if expected == "list":
        return is_list(actual)
    if is_list(expected):
        return is_list(actual) and accepts(element(expected), element(actual))
    return actual == expected


def unify(a: str, b: str) -> "str | None":
    """The one type that values of types ``a`` and ``b`` both have (the type of ``x if c else y``,
    of ``first(x, y)`` ...), or None when there is none (a number and a text, say)."""
    if a == b or b in ("na", "any"):
        return a
    if a in ("na", "any"):
        return b
    if "json" in (a, b):
        return "json"
    if a in NUMERIC and b in NUMERIC:
        return "integer" if {a, b} <= {"integer", "score"} else "number"
    if a in TEXTUAL and b in TEXTUAL:
        return "text"
    if is_list(a) and is_list(b):
        item = unify(element(a), element(b))
        return None if item is None else f"list[{item}]"
    return None


# the value of an ask by its answer type (choice, score, json; any other answer is text), of other kinds
_ANSWER_TYPES = {"choice": "choice", "score": "score", "json": "json"}
_KIND_TYPES = {"run": "json", "route": "choice", "model": "number"}


def evidence_value_type(kind: str, answer: "str | None" = None, returns: str = "bool", fanned: bool = False) -> str:
    """The type of an evidence's value in expressions: an ``ask`` by its ``answer`` type, a ``check``
    by what its verifier ``returns``, a list of that when ``fanned`` out by ``each``."""
    if kind == "ask":
        base = _ANSWER_TYPES.get(answer, "text")
    elif kind == "check":
        base = returns
    else:
        base = _KIND_TYPES[kind]
    return f"list[{base}]" if fanned else base


_WORDS = {"text": "text", "number": "a number", "integer": "an integer", "bool": "true/false",
          "json": "JSON", "any": "any value", "na": "na", "choice": "a choice judgment (its label, text)",
          "score": "a score judgment (a number)"}


def describe(t: str) -> str:
    """``t`` in the author's words, for messages."""
    if "|" in t:
        return " or ".join(describe(x) for x in t.split("|"))
    if t == "list[json]":
        return "a list"
    if is_list(t):
        return f"a list of {_WORDS.get(element(t), element(t)).removeprefix('a ').removeprefix('an ')}"
    return _WORDS.get(t, t)


def value_type(v: Any) -> str:
    """The type of a runtime value (lists by their first item; a ``Value`` item by its value)."""
    v = v.value if isinstance(v, Value) else v
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, (list, tuple)):
        return f"list[{value_type(v[0])}]" if v else "list[json]"
    return "json"


# What a runtime value must be to have each base type: :func:`accepts`' rules applied to values (a
# bool is also an integer and a number, as the checker types it; bare ``list`` is any list). The
# evaluator (value_accepts) and verifier parameters (registry.Param) both check values with it.
VALUE_CHECKS: "dict[str, Callable[[Any], bool]]" = {
    "text": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)),
    "integer": lambda v: isinstance(v, int),
    "bool": lambda v: isinstance(v, bool),
    "list": lambda v: isinstance(v, (list, tuple)),
    "json": lambda v: True,
    "any": lambda v: True,
}


def value_accepts(expected: str, v: Any) -> bool:
    """Whether runtime value ``v`` may be used where type ``expected`` is wanted (the evaluator's
    side of :func:`accepts`). ``json`` / ``any`` accept everything; list items are checked one by one."""
    if "|" in expected:
        return any(value_accepts(e, v) for e in expected.split("|"))
    v = v.value if isinstance(v, Value) else v
    check = VALUE_CHECKS.get(expected)
    if check is not None:
        return check(v)
    if is_list(expected):
        return isinstance(v, (list, tuple)) and all(value_accepts(element(expected), x) for x in v
                                                    if not isinstance(x, Value) or x.is_ok)
    if isinstance(v, (dict, list, tuple)) or v is None:
        return False
    return accepts(expected, value_type(v))  # choice, score, na: types no plain value has
