"""Sample validation against the IR inputs: a bad row becomes an error result, never a crash.

Two guarantees beyond the declared types: a value nested deeper than :data:`MAX_DEPTH` lists or
objects is refused (deep values would reach Python's recursion limit somewhere downstream and
take a whole batch with them), and a ``text`` input of ``reference`` visibility may be given as
a list of texts, meaning "any of these is correct" (JudgeBench's ``ground_truth`` lists): it
reaches the skill as an :class:`~skilldsl.data.AnyOf`: its text to a template, its options to
``==`` and the reference verifiers, refused by ``run`` code and other verifiers.
"""
from __future__ import annotations

from typing import Any

from ..data import MAX_DEPTH, AnyOf, answer_texts, deeper_than, takes_alternatives, type_name
from ..values import Value, na, ok

__all__ = ["SampleError", "validate_sample"]


class SampleError(ValueError):
    """The sample does not match the skill's inputs (missing field, wrong type)."""


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _list_of(check):
    return lambda v: isinstance(v, list) and all(check(x) for x in v)


_CHECKS = {
    "text": lambda v: isinstance(v, str),
    "number": _is_num,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "list": _list_of(lambda x: isinstance(x, str)),
    "list[text]": _list_of(lambda x: isinstance(x, str)),
    "list[number]": _list_of(_is_num),
    "json": lambda v: True,
}


def validate_sample(sample: Any, inputs: dict[str, dict]) -> dict[str, Value]:
    """Each declared input as a Value (absent optional ones are ``na``); raises
    :class:`SampleError` naming the first problem. Undeclared fields are ignored: datasets
    carry extra columns."""
    if not isinstance(sample, dict):
        raise SampleError(f"a sample must be a JSON object, not {type_name(sample)}")
    values = {}
    for name, spec in inputs.items():
        if spec.get("visibility") == "label":
            continue  # ground truth for `skilldsl eval`: no evidence or reward can read it
        values[name] = _field(sample, name, spec)
    return values


def _field(sample: dict, name: str, spec: dict) -> Value:
    value = sample.get(name)
    if value is None:
        if spec.get("optional"):
            return na(f"input {name!r} is not given")
        raise SampleError(f"missing required field {name!r}")
    if deeper_than(value):
        raise SampleError(f"field {name!r} is nested deeper than {MAX_DEPTH} levels")
    type_ = spec.get("type", "json")
    if isinstance(value, list) and takes_alternatives(spec):
        return ok(_any_of(name, value))
    check = _CHECKS.get(type_)
    if check is not None and not check(value):
        raise SampleError(f"field {name!r} must be {type_}, got {type_name(value)}")
    return ok(value)


def _any_of(name: str, value: list) -> str:
    """A reference given as a list of texts: any of them is correct (one text is just that text)."""
    texts = answer_texts(value)
    if texts is None:
        raise SampleError(f"field {name!r} must be text or a non-empty list of texts (any of them is correct)")
    return texts[0] if len(texts) == 1 else AnyOf(texts)
