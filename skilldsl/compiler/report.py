"""Collecting diagnostics across a stage, so the author sees every independent mistake at once."""
from __future__ import annotations

from contextlib import contextmanager

from ..errors import Diagnostic, SkillError, Span

__all__ = ["Collector"]


class Collector:
    """Gathers errors and warnings; :meth:`raise_errors` raises them all as one SkillError."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def error(self, span: Span | None, message: str) -> None:
        self.diagnostics.append(Diagnostic(span, message))

    def warning(self, span: Span | None, message: str) -> None:
        self.diagnostics.append(Diagnostic(span, message, severity="warning"))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]

    @contextmanager
    def guard(self):
        """Run a step; a SkillError it raises is recorded instead of stopping the stage."""
        try:
            yield
        except SkillError as exc:
            self.diagnostics.extend(exc.diagnostics)

    def raise_errors(self) -> None:
        """Raise every error so far (sorted by position), if there is any."""
        errors = list(dict.fromkeys(self.errors))  # the instances of a template (for:) share its mistakes
        if errors:
            raise SkillError(sorted(errors, key=_position))


def _position(d: Diagnostic):
    span = d.span
    return (0, "", 0, 0, d.message) if span is None else (1, span.file, span.line, span.col, d.message)
