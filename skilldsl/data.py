"""Facts about sample data that the row reader, the runtime and the verifiers share.

How deep a value may nest, what a JSON value's type is called in messages, and the one
reading of a list of correct answers (:class:`AnyOf`). It imports nothing from skilldsl, so
the row reader uses it without loading the runtime and every layer shares it without cycles.
"""
from __future__ import annotations

from typing import Any

__all__ = ["json_text", "strict_json", "MAX_DEPTH", "deeper_than", "nesting_depth", "type_name", "AnyOf",
           "answer_texts", "takes_alternatives", "ALTERNATIVE_READERS", "list_reference_refused"]

MAX_DEPTH = 100  # nested lists/objects in one sample: far above real data, far below the recursion limit

# the verifiers that read the options of an AnyOf (any other use of one is refused)
ALTERNATIVE_READERS = "ref.match, ref.choice or math.equivalent"


def json_text(value: Any, **options: Any) -> str:
    """``json.dumps(value)`` that any UTF-8 output can take: other scripts as themselves, but a
    lone surrogate (valid in JSON input, with no UTF-8 form) escaped as JSON writes it, so one odd
    row never stops a results file; the text reads back to the same value."""
    import json

    text = json.dumps(value, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, **options)
    return text


def strict_json(text: "str | bytes") -> Any:
    """``json.loads(text)`` of JSON as its standard writes it: ``NaN`` and ``Infinity`` (which
    Python's reader takes as floats) and nesting past the recursion limit raise ValueError."""
    import json

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not a JSON value")

    try:
        return json.loads(text, parse_constant=refuse)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def deeper_than(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists/tuples/dicts more than ``limit`` levels (``[]`` is one level)."""
    return nesting_depth(value, limit) > limit


def nesting_depth(value: Any, limit: "int | None" = None) -> int:
    """How many levels of lists/tuples/dicts ``value`` nests (0 for a scalar, 1 for ``[]``),
    measuring no further than ``limit + 1``. Iterative, so a value of any depth (or, with a
    ``limit``, a cycle) is measured without recursion."""
    containers = (dict, list, tuple)
    deepest, stack = 0, [(value, 1)] if isinstance(value, containers) else []
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if limit is not None and depth > limit:
            break
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, containers))
    return deepest


def type_name(v: Any) -> str:
    """A JSON value's type in the data's terms (``text``, ``number``, ``list``, ``object`` ...),
    for every message about a value of the wrong type (samples, and rows in the eval readers)."""
    return {bool: "bool", int: "number", float: "number", str: "text", list: "list", dict: "object",
            type(None): "null"}.get(type(v), type(v).__name__)


class AnyOf(str):
    """A reference with several correct answers (JudgeBench's list ``ground_truth``): any of
    ``options`` is correct. Its text (``"D or J"``) is what a prompt shows; ``==`` in an
    expression and the reference verifiers (:data:`ALTERNATIVE_READERS`) read the options;
    other verifiers and ``run`` code refuse it rather than take ``"D or J"`` for an answer."""

    def __new__(cls, options):
        self = super().__new__(cls, " or ".join(options))
        self.options = tuple(options)
        return self

    def __reduce__(self):  # isolated verifiers receive it pickled
        return AnyOf, (self.options,)


def list_reference_refused(what: str, value: AnyOf) -> str:
    """Why ``what`` (a ``run`` input, a verifier argument, an operand) does not take the list
    reference ``value``: one message wherever its text would be taken for an answer."""
    return (f"{what} is a list of correct answers ({value!r}), not one text: compare it with ==, "
            f"{ALTERNATIVE_READERS}, which read each answer")


def answer_texts(value: Any) -> "list[str] | None":
    """A list of correct answers as texts (a JSON number as its text: ``[3, "4"]`` ->
    ``["3", "4"]``); None unless ``value`` is a non-empty list of texts and numbers. The eval
    readers and the runtime both read a list reference through this."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        return None
    return [v if isinstance(v, str) else str(v) for v in value]


def takes_alternatives(spec: dict) -> bool:
    """Whether an input of this spec takes a list of correct answers for its text: a ``text``
    input of ``reference`` visibility (anywhere else the list would be read as one text)."""
    return spec.get("type") == "text" and spec.get("visibility") == "reference"
