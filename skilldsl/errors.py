"""User-facing errors with source positions, kept apart from internal failures.

A :class:`SkillError` is the author's fault and renders as ``file:line:col: error: message``
with the source line and a caret. An :class:`InternalError` is ours: the CLI reports it with
a request to file a bug, never as the author's mistake.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Span", "Diagnostic", "SkillError", "InternalError"]


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns are 1-based, ``end_*`` inclusive of start."""

    file: str
    line: int
    col: int
    end_line: int | None = None
    end_col: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Diagnostic:
    """One located message: ``severity`` is ``error`` or ``warning``."""

    span: Span | None
    message: str
    severity: str = "error"
    source_line: str | None = None

    def with_source(self, file: str, text: str) -> "Diagnostic":
        """This diagnostic with its source line taken from ``text`` (the contents of ``file``), for
        sources that exist only in memory (``compile_source``)."""
        if self.source_line is not None or self.span is None or self.span.file != file:
            return self
        lines = text.splitlines()
        line = lines[self.span.line - 1] if 0 < self.span.line <= len(lines) else None
        return Diagnostic(self.span, self.message, self.severity, line)

    def render(self) -> str:
        where = f"{self.span}: " if self.span else ""
        text = f"{where}{self.severity}: {self.message}"
        line = self.source_line
        if line is None and self.span is not None:
            line = _read_line(self.span.file, self.span.line)
        if line is not None and self.span is not None:
            width = 1
            if self.span.end_line == self.span.line and self.span.end_col:
                width = max(1, self.span.end_col - self.span.col)
            text += f"\n    {line.rstrip()}\n    {' ' * (self.span.col - 1)}{'^' * width}"
        return text


def _read_line(file: str, line: int) -> str | None:
    try:
        lines = Path(file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    return lines[line - 1] if 0 < line <= len(lines) else None


class SkillError(Exception):
    """A malformed skill: one or more located diagnostics, rendered for the author."""

    def __init__(self, diagnostics: "list[Diagnostic] | Diagnostic | str", span: Span | None = None):
        if isinstance(diagnostics, str):
            diagnostics = [Diagnostic(span, diagnostics)]
        elif isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        # rendered only when shown: rendering reads source lines, and the compiler's collector
        # catches and merges many SkillErrors that are never shown on their own
        super().__init__(self.diagnostics)

    def __str__(self) -> str:
        return self.render()

    @property
    def span(self) -> Span | None:
        return self.diagnostics[0].span if self.diagnostics else None

    def with_source(self, file: str, text: str) -> "SkillError":
        """The same error with source lines from in-memory ``text`` (see :meth:`Diagnostic.with_source`)."""
        return SkillError([d.with_source(file, text) for d in self.diagnostics])

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)


@dataclass
class InternalError(Exception):
    """A bug in skilldsl itself, not in the skill."""

    message: str
    cause: BaseException | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return (
            f"internal error: {self.message}\n"
            "This is a bug in skilldsl, not in your skill; please report it with the skill that triggered it."
        )
