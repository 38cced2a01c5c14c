"""How a prompt sees an input or evidence that is ``na`` or ``error``.

A prompt never shows a missing value as text ("None") and never turns a broken evidence into a
judgment. A ``na`` value stands in the template as *undefined*: a template may test it
(``{% if reference is defined %}``, ``{{ reference | default("none") }}``); any other use makes
the evidence ``na``, for the same reason. An ``error`` value stands in as an object that fails
every use — printing, testing its truth, iterating, reading a field — with its reason, so the
evidence is an ``error`` too; template tests and filters cannot hide it.
"""
from __future__ import annotations

import functools
from typing import Any

from ..values import Value

__all__ = ["shown", "render_failure", "UnknownValueError"]


class UnknownValueError(Exception):
    """A template used a value that is ``na`` or ``error``; ``value`` says which and why."""

    def __init__(self, value: Value):
        super().__init__(value.reason)
        self.value = value


class _Broken:
    """An erred value in a prompt: every use raises (not a jinja Undefined, so ``is defined`` and
    ``default`` do not swallow it)."""

    __slots__ = ("_value",)

    def __init__(self, value: Value):
        object.__setattr__(self, "_value", value)

    def _fail(self, *_args: Any, **_kwargs: Any):
        raise UnknownValueError(object.__getattribute__(self, "_value"))

    __getattr__ = __str__ = __bool__ = __iter__ = __len__ = __getitem__ = __contains__ = _fail
    __int__ = __float__ = __add__ = __radd__ = __mul__ = __format__ = __html__ = _fail

    def __repr__(self) -> str:
        return "<error>"


@functools.lru_cache(maxsize=1)
def _undefined_class():
    from jinja2 import StrictUndefined  # jinja2 is only needed once a prompt is rendered

    class _Missing(StrictUndefined):
        """A na value in a prompt: undefined, so templates can test for it; other uses fail."""

        __slots__ = ()

    return _Missing


def _na_error(value: Value) -> type:
    """An exception type jinja can raise for this na value, carrying it."""

    class MissingValueError(UnknownValueError):
        def __init__(self, _message: str = ""):
            super().__init__(value)

    return MissingValueError


def shown(value: Value, name: str) -> Any:
    """What a template sees for ``value`` under ``name``: the data, an undefined (na) or a broken
    stand-in (error)."""
    if value.is_ok:
        return value.value
    if value.is_na:
        reason = f"{name!r} is na: {value.reason}" if value.reason else f"{name!r} is na"
        return _undefined_class()(hint=reason, name=name, exc=_na_error(Value("na", None, reason)))
    return _Broken(Value("error", None, f"{name!r} is an error: {value.reason}"))


def render_failure(exc: BaseException) -> "Value | None":
    """The na / error a failed render stands for, if it failed on an unknown value (else None)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, UnknownValueError):
            return exc.value
        exc = exc.__cause__ or exc.__context__
    return None
