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
           "ForEntry", "ForSpec",
           "EvidenceRef", "Expectation", "SkillTest",
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
class ForEntry:
    """One instance of an evidence template (``for:``): its key (part of the instance's name), its
    weight in ``weighted(...)``, and the constant fields templates and expressions may read."""

    key: str
    weight: float = 1
    fields: tuple = ()                  # ((field, constant), ...) besides name and weight
    span: Span | None = None


@dataclass(frozen=True)
class ForSpec:
    """``for: {var: [...]}``: the evidence is a template, one plain evidence per entry
    (expanded by :mod:`skilldsl.compiler.expand` before the checker)."""

    var: str
    entries: tuple                      # ForEntry, in file order
    span: Span                          # the for: key
    var_span: Span                      # the variable's key


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
    think: int = 0                                 # ask: reasoning budget in tokens before the verdict (0: none)
    code: str | None = None                        # run
    uses: tuple[str, ...] = ()
    timeout: float = 10
    memory_mb: int = 512
    on_failure: bool | float | None = None         # run: its value when the code does not finish (None: error)
    options: tuple[str, ...] = ()                  # route
    input: Template | None = None                  # model
    spans: dict = field(default_factory=dict)      # key -> Span, for messages about one option
    instances: ForSpec | None = None               # for: a template of one evidence per entry

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
    tests: tuple = ()                             # SkillTest, in file order (not part of the reward)


# -- the tests: section (run by `skilldsl test`, outside the reward id) ------------------

@dataclass(frozen=True)
class EvidenceRef:
    """An evidence a test's expectation names: ``judge``, or ``judge[1]`` (candidate 1 of a
    listwise skill, item 1 of an ``each`` evidence)."""

    name: str
    index: int | None
    span: Span

    def __str__(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"


@dataclass(frozen=True)
class Expectation:
    """What a test expects of the Result: every field given must hold."""

    reward: tuple[float, float] | None = None     # inclusive range; a number n is (n, n)
    status: str | None = None
    decided_by: tuple[EvidenceRef, ...] = ()      # known (ran and gave a value)
    not_asked: tuple[EvidenceRef, ...] = ()       # never ran
    scores: tuple[tuple[float, float], ...] | None = None  # listwise: per candidate
    best: int | None = None                       # listwise
    span: Span | None = None
    spans: dict = field(default_factory=dict)     # key -> Span


@dataclass(frozen=True)
class SkillTest:
    """One entry of ``tests:``: a sample, an optional scripted judge, the expected outcome."""

    name: str
    sample: dict
    expect: Expectation
    span: Span
    judge: dict | None = None                     # the fake backend's script (its file's keys)
    about: str = ""
    sample_spans: dict = field(default_factory=dict)  # input name -> Span of its key
    spans: dict = field(default_factory=dict)     # key -> Span (judge.choices.<k> as "choices:<k>")


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
