"""The checker's value types and what accepts what.

Types are strings: the input types (``text``, ``number``, ``integer``, ``bool``, ``json``,
``list[text]``, ``list[number]``), ``any`` (unknown: accepted everywhere), and the evidence
types ``choice`` (a choice judgment: its most probable label, text) and ``score`` (a score
judgment: its most probable score, a number). ``each`` evidence is ``list[<body type>]``.
"""
from __future__ import annotations

__all__ = ["accepts", "element", "unify", "describe", "is_list", "NUMERIC"]

NUMERIC = frozenset({"number", "integer", "bool", "score"})
_TEXTUAL = frozenset({"text", "choice"})


def is_list(t: str) -> bool:
    """Whether ``t`` is a list type."""
    return t == "list" or t.startswith("list[")


def element(t: str) -> str:
    """The item type of a list type (``list`` alone means a list of text)."""
    if t.startswith("list[") and t.endswith("]"):
        return t[5:-1]
    return "text" if t == "list" else "any"


def accepts(expected: str, actual: str) -> bool:
    """Whether a value of type ``actual`` may be passed where ``expected`` is wanted."""
    if expected in ("any", "json") or actual in ("any", "json"):
        return True
    if expected == "number":
        return actual in NUMERIC
    if expected == "integer":
        return actual in ("integer", "bool")
    if expected == "text":
        return actual in _TEXTUAL
    if expected == "list":
        return is_list(actual)
    if is_list(expected):
        return is_list(actual) and accepts(element(expected), element(actual))
    return actual == expected


def unify(a: str, b: str) -> str:
    """The type of ``x if c else y`` given the branch types."""
    if a == b or b == "any":
        return a
    if a == "any":
        return b
    if a in NUMERIC and b in NUMERIC:
        return "number"
    if a in _TEXTUAL and b in _TEXTUAL:
        return "text"
    return "any"


_WORDS = {"text": "text", "number": "a number", "integer": "an integer", "bool": "true/false",
          "json": "JSON", "any": "any value", "choice": "a choice judgment (its label, text)",
          "score": "a score judgment (a number)"}


def describe(t: str) -> str:
    """``t`` in the author's words, for messages."""
    if is_list(t):
        return f"a list of {_WORDS.get(element(t), element(t)).removeprefix('a ').removeprefix('an ')}"
    return _WORDS.get(t, t)
