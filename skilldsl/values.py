"""The one three-valued result type: a value, ``na`` or ``error`` (after cel-python).

Verifiers return it (as ``Verdict``, the name plugins know), sandboxed code produces it, and the
runtime's evidence and expressions evaluate to it. It imports nothing from skilldsl when it loads
(``Value.of`` reaches the verifier contract on use), so every layer can share it without import cycles.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["Value", "ok", "na", "error", "is_finite_number", "STATUSES"]

STATUSES = ("ok", "na", "error")


class _NoDetail(dict):
    """The shared, read-only empty detail of most values (the runtime's hot path allocates none)."""

    def _refuse(self, *args: Any, **kwargs: Any):
        raise TypeError("a Value's detail is read-only")

    __setitem__ = __delitem__ = update = setdefault = pop = popitem = clear = _refuse

    def __reduce__(self):  # crosses to worker processes as a plain empty dict
        return dict, ()

    def __hash__(self) -> int:  # immutable, so it may be a dataclass default
        return 0


_NO_DETAIL: Mapping = _NoDetail()


@dataclass(frozen=True, slots=True)
class Value:
    """``status`` is ``ok`` (``value`` holds the result), ``na`` (does not apply, or cannot be
    decided) or ``error`` (something broke; ``reason`` says what). ``detail`` is what a trace
    shows about how the value came about (a verifier's extracted answers, a sandbox's exit)."""

    status: str
    value: Any = None
    reason: str | None = None
    detail: Mapping = _NO_DETAIL  # read-only; compared by nothing (two values are equal without it)

    def __eq__(self, other: Any) -> bool:
        if not isinstance(other, Value):
            return NotImplemented
        return (self.status, self.value, self.reason) == (other.status, other.value, other.reason)

    __hash__ = None  # value may be unhashable; a Value is data, not a key

    @property
    def is_ok(self) -> bool:
        return self.status == "ok"

    @property
    def is_na(self) -> bool:
        return self.status == "na"

    @property
    def is_error(self) -> bool:
        return self.status == "error"

    @classmethod
    def ok(cls, value: Any, **detail: Any) -> "Value":
        return cls("ok", value, None, detail or _NO_DETAIL)

    @classmethod
    def na(cls, reason: str, **detail: Any) -> "Value":
        return cls("na", None, reason, detail or _NO_DETAIL)

    @classmethod
    def error(cls, reason: str, **detail: Any) -> "Value":
        return cls("error", None, reason, detail or _NO_DETAIL)

    @staticmethod
    def of(result: Any) -> "Value":
        """A verifier's return value -- a Value, bool, number in [0, 1] or None (na) -- as a plain
        Value, or an ``error`` saying how it breaks that contract: the verifier contract is
        :func:`skilldsl.verifiers.registry.verdict_of`'s, this is its name for plugins (imported
        on use: this module imports nothing from skilldsl)."""
        from .verifiers.registry import verdict_of

        return verdict_of("", result)

    def with_reason(self, prefix: str) -> "Value":
        """The same status with ``prefix: `` before the reason (for na and error)."""
        if self.is_ok:
            return self
        return Value(self.status, None, f"{prefix}: {self.reason}", self.detail)


def ok(value: Any, **detail: Any) -> Value:
    """A value."""
    return Value("ok", value, None, detail or _NO_DETAIL)


def na(reason: str, **detail: Any) -> Value:
    """Not applicable (or cannot be decided), with the reason."""
    return Value("na", None, reason, detail or _NO_DETAIL)


def error(reason: str, **detail: Any) -> Value:
    """Something broke, with the reason."""
    return Value("error", None, reason, detail or _NO_DETAIL)


def is_finite_number(value: Any) -> bool:
    """An int or float that is not a bool, NaN or an infinity (a reward a trainer can use)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float: no trainer can use it
        return False
