"""Three-valued evidence and expression values: a value, ``na`` or ``error`` (after cel-python)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Value", "ok", "na", "error"]


@dataclass(frozen=True)
class Value:
    """``status`` is ``ok`` (``value`` holds the result), ``na`` or ``error`` (``reason`` says why)."""

    status: str
    value: Any = None
    reason: str | None = None

    @property
    def is_ok(self) -> bool:
        return self.status == "ok"

    @property
    def is_na(self) -> bool:
        return self.status == "na"

    @property
    def is_error(self) -> bool:
        return self.status == "error"


def ok(value: Any) -> Value:
    return Value("ok", value)


def na(reason: str) -> Value:
    return Value("na", None, reason)


def error(reason: str) -> Value:
    return Value("error", None, reason)
