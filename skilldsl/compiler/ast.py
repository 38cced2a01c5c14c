"""The skill AST: what a ``.skill`` file says, every part with its :class:`Span`.

Built from a loaded document by :mod:`skilldsl.compiler.parse`, checked by
:mod:`~skilldsl.compiler.checker`, lowered to the IR by :mod:`~skilldsl.compiler.lower`.
``skilldsl dump --stage ast`` prints it via :func:`to_data`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import Span
from .expr import Call, Expr

__all__ = ["Input", "File", "Model", "TemplateRef", "Template", "Answer", "Evidence", "Skill",
           "EVIDENCE_KINDS", "INPUT_TYPES", "to_data"]

EVIDENCE_KINDS = ("check", "ask", "run", "route", "model")
INPUT_TYPES = ("text", "number", "integer", "bool", "list", "list[text]", "list[number]", "json")


@dataclass(frozen=True)
class Input:
    """A sample field: its type, whether it may be missing, and who may see it."""

    name: str
    type: str
    optional: bool = False
    visibility: str = "visible"  # visible | reference | label
    about: str = ""
    span: Span | None = None


@dataclass(frozen=True)
class File:
    """A shipped text file, read at build time and inlined in the IR."""

    name: str
    path: str
    text: str
    sha256: str
    span: Span | None = None


@dataclass(frozen=True)
class Model:
    """A model alias: ``id`` None means the embedded default judge."""

    alias: str
    id: str | None = None
    dtype: str | None = None
    device: str | None = None
    max_context: int | None = None
    span: Span | None = None
    backend: str | None = None          # a registered backend name; None: the runtime's default
    backend_span: Span | None = None


@dataclass(frozen=True)
class TemplateRef:
    """A variable a template reads: ``name`` or ``name.attr`` (``attr`` for ``files.x``)."""

    name: str
    attr: str | None
    span: Span


@dataclass(frozen=True)
class Template:
    """A jinja2 template's source and the variables it reads."""

    source: str
    refs: tuple[TemplateRef, ...]
    span: Span


@dataclass(frozen=True)
class Answer:
    """An ``ask``'s output constraint, backend-neutral (see docs/internals.md)."""

    type: str  # choice | score | regex | json | text
    labels: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    pattern: str | None = None
    schema: Any = None
    max_tokens: int | None = None
    span: Span | None = None


@dataclass(frozen=True)
class Evidence:
    """One named evidence. ``kind`` is check | ask | run | route | model; ``each`` fans it out."""

    name: str
    kind: str
    span: Span
    about: str = ""
    when: Expr | None = None
    each: str | tuple[str, ...] | None = None     # a list input, or the inputs of `each: [a, b]`
    each_span: Span | None = None
    each_item_spans: tuple[Span, ...] = ()         # `each: [a, b]`: where each name is
    check: Call | None = None                      # check
    prompt: dict = field(default_factory=dict)     # ask / route: {"system"?: Template, "user": Template}
    answer: Answer | None = None                   # ask / route
    samples: int = 1
    swap: bool = False
    model: str = "default"                         # ask / route: alias; model kind: checkpoint id
    allow: tuple[str, ...] = ()
    max_tokens: int | None = None
    temperature: float | None = None
    code: str | None = None                        # run
    uses: tuple[str, ...] = ()
    timeout: float = 10
    memory_mb: int = 512
    on_failure: bool | float | None = None         # run: its value when the code does not finish (None: error)
    options: tuple[str, ...] = ()                  # route
    input: Template | None = None                  # model
    spans: dict = field(default_factory=dict)      # key -> Span, for messages about one option

    @property
    def each_inputs(self) -> tuple[str, ...]:
        """The inputs ``each`` reads: the list input, or every input of ``each: [a, b]``."""
        if self.each is None:
            return ()
        return self.each if isinstance(self.each, tuple) else (self.each,)


@dataclass(frozen=True)
class Skill:
    """A whole ``.skill`` file."""

    name: str
    mode: str
    inputs: dict          # name -> Input
    evidence: dict        # name -> Evidence
    reward: Expr
    file: str
    version: int = 1
    about: str = ""
    files: dict = field(default_factory=dict)     # name -> File
    models: dict = field(default_factory=dict)    # alias -> Model
    settings: dict = field(default_factory=dict)
    candidates: str | None = None
    spans: dict = field(default_factory=dict)     # top-level key -> Span


def to_data(node: Any) -> Any:
    """Plain JSON-able data for any AST value (spans as ``file:line:col`` strings)."""
    if isinstance(node, Span):
        return str(node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        out = {"node": type(node).__name__}
        out.update({f.name: to_data(getattr(node, f.name)) for f in dataclasses.fields(node)})
        return out
    if isinstance(node, dict):
        return {str(k): to_data(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [to_data(v) for v in node]
    return node
