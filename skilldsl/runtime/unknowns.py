"""How a prompt sees an input or evidence that is ``na`` or ``error``.

A prompt never shows a missing value as text ("None") and never turns a broken evidence into a
judgment. A ``na`` value stands in the template as *undefined*: a template may test it
(``{% if reference is defined %}``, ``{{ reference | default("none") }}``); any other use makes
the evidence ``na``, for the same reason. An ``error`` value stands in as an object that fails
every use — printing, testing its truth, iterating, reading a field, comparing, hashing, showing
it in a list — with its reason, so the evidence is an ``error`` too. The environment
(:mod:`skilldsl.ir.templates`) does its part for what would answer without using the value: its
tests, method calls and ``tojson`` raise the error of an unknown operand (a na one passes only
``defined``/``undefined``), so neither ``x is false`` nor ``default`` hides a broken evidence.
"""
from __future__ import annotations

import functools
from typing import Any

from ..values import Value

__all__ = ["shown", "render_failure", "UnknownValueError", "MissingValueError"]


class UnknownValueError(Exception):
    """A template used a value that is ``na`` or ``error``; ``value`` says which and why."""

    def __init__(self, value: Value):
        super().__init__(value.reason)
        self.value = value


class MissingValueError(UnknownValueError):
    """A template used a ``na`` value (raised by its undefined stand-in, ``exc=partial(cls, value)``)."""

    def __init__(self, value: Value, _message: str = ""):
        super().__init__(value)


def _raise_its_error(self, *_args: Any, **_kwargs: Any):
    raise UnknownValueError(object.__getattribute__(self, "_value"))


@functools.lru_cache(maxsize=1)
def _broken_class():
    from ..ir.templates import Unusable  # jinja2 is only needed once a prompt is rendered

    class _Broken(Unusable):
        """An erred value in a prompt: every use raises, comparing, hashing and showing it among
        others (not a jinja Undefined, so ``is defined`` and ``default`` do not swallow it)."""

        __slots__ = ("_value",)

        def __init__(self, value: Value):
            object.__setattr__(self, "_value", value)

        _fail = _raise_its_error
        __getattr__ = __str__ = __repr__ = __format__ = __html__ = __bool__ = __hash__ = _fail
        __iter__ = __len__ = __getitem__ = __contains__ = __reversed__ = __call__ = _fail
        __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _fail
        __int__ = __float__ = __complex__ = __index__ = __round__ = __abs__ = __neg__ = __pos__ = _fail
        __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _fail
        __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __pow__ = __rpow__ = _fail

    return _Broken


@functools.lru_cache(maxsize=1)
def _undefined_class():
    from jinja2 import StrictUndefined  # jinja2 is only needed once a prompt is rendered

    class _Missing(StrictUndefined):
        """A na value in a prompt: undefined, so templates can test for it; other uses fail, showing
        it (``{{ [x] }}``) and the numeric operations jinja's Undefined leaves to Python too."""

        __slots__ = ()
        __repr__ = __abs__ = __round__ = __index__ = StrictUndefined._fail_with_undefined_error

    return _Missing


def shown(value: Value, name: str) -> Any:
    """What a template sees for ``value`` under ``name``: the data, an undefined (na) or a broken
    stand-in (error)."""
    if value.is_ok:
        return value.value
    if value.is_na:
        reason = f"{name!r} is na: {value.reason}" if value.reason else f"{name!r} is na"
        error = functools.partial(MissingValueError, Value("na", None, reason))  # jinja calls it with its message
        return _undefined_class()(hint=reason, name=name, exc=error)
    return _broken_class()(Value("error", None, f"{name!r} is an error: {value.reason}"))


def render_failure(exc: BaseException) -> "Value | None":
    """The na / error a failed render stands for, if it failed on an unknown value (else None)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, UnknownValueError):
            return exc.value
        exc = exc.__cause__ or exc.__context__
    return None
