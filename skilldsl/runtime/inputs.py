"""Sample validation against the IR inputs: a bad row becomes an error result, never a crash."""
from __future__ import annotations

from typing import Any

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


def _type_name(v: Any) -> str:
    return {bool: "bool", int: "number", float: "number", str: "text", list: "list", dict: "object"}.get(
        type(v), type(v).__name__
    )


def validate_sample(sample: Any, inputs: dict[str, dict]) -> dict[str, Value]:
    """Each declared input as a Value (absent optional ones are ``na``); raises
    :class:`SampleError` naming the first problem. Undeclared fields are ignored: datasets
    carry extra columns."""
    if not isinstance(sample, dict):
        raise SampleError(f"a sample must be a JSON object, not {_type_name(sample)}")
    values = {}
    for name, spec in inputs.items():
        values[name] = _field(sample, name, spec)
    return values


def _field(sample: dict, name: str, spec: dict) -> Value:
    value = sample.get(name)
    if value is None:
        if spec.get("optional"):
            return na(f"input {name!r} is not given")
        raise SampleError(f"missing required field {name!r}")
    type_ = spec.get("type", "json")
    check = _CHECKS.get(type_)
    if check is not None and not check(value):
        raise SampleError(f"field {name!r} must be {type_}, got {_type_name(value)}")
    return ok(value)
