"""Prompt templates at build time: parsed and checked, never evaluated.

The environment and its rules are the IR's (:mod:`skilldsl.ir.templates`), shared with the
runtime: a template is parsed, everything skill templates may not use is refused here at
``file:line:col`` (the scalar's start plus jinja's line number, the column found on the line),
and the variables it reads are collected for the checker (names, visibility, dependencies).
Nothing is folded or computed: rendering is the runtime's business.
"""
from __future__ import annotations

from ..errors import Diagnostic, SkillError, Span
from .ast import Template, TemplateRef

__all__ = ["parse_template"]


def parse_template(source: str, file: str, where) -> Template:
    """Parse ``source`` (a template from the ``.skill`` file) into a :class:`Template`.

    ``where`` maps (line, col) inside the template to (line, col) in ``file``.
    """
    from jinja2 import TemplateSyntaxError

    from ..ir import templates

    lines = source.split("\n")
    try:
        tree = templates.parse(source)
        refused = templates.refusals(tree)
        free = set() if refused else templates.free_names(tree)  # compiles, folding nothing
    except TemplateSyntaxError as exc:
        line, col = where(exc.lineno or 1, 1)
        raise SkillError(Diagnostic(Span(file, line, col), f"template syntax error: {_message(exc)}")) from None
    if refused:
        raise SkillError([Diagnostic(_ref_span(file, where, lines, r.lineno, r.token, None, plain=True), r.message)
                          for r in refused])
    refs = tuple(sorted(_refs(tree, free, file, where, lines), key=lambda r: (r.span.line, r.span.col, r.name)))
    return Template(source, refs, Span(file, *where(1, 1)))


def _message(exc) -> str:
    text = exc.message or "invalid template"
    if "unexpected end of template" in text:
        return text + " (an unclosed {{ ... }}, {% ... %} or {% for %} without {% endfor %}?)"
    return text


def _refs(tree, free: set, file: str, where, lines: list):
    """One :class:`TemplateRef` per read of a free variable (``files.x`` keeps ``x``)."""
    from jinja2 import nodes

    attrs = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        inner = node.node
        if isinstance(inner, nodes.Name) and inner.name == "files":
            key = node.attr if isinstance(node, nodes.Getattr) else _const_key(node.arg)
            attrs[id(inner)] = key
    seen = set()
    for node in tree.find_all(nodes.Name):
        if node.ctx != "load" or node.name not in free:
            continue
        attr = attrs.get(id(node))
        span = _ref_span(file, where, lines, node.lineno or 1, node.name, attr)
        if (node.name, attr, span) not in seen:
            seen.add((node.name, attr, span))
            yield TemplateRef(node.name, attr, span)


def _ref_span(file: str, where, lines: list, lineno: int, name: str, attr, plain: bool = False) -> Span:
    """jinja keeps only line numbers; find the name (``plain``: any word) on its line for a caret."""
    import re

    text = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    if plain:
        pattern = rf"(?<!\w){re.escape(name)}(?!\w)"
    else:
        pattern = rf"(?<![\w.]){re.escape(name)}" + (rf"\s*\.\s*{re.escape(attr)}\b" if attr else r"\b")
    tags = [t.span() for t in re.finditer(r"\{\{.*?(\}\}|$)|\{%.*?(%\}|$)", text)]
    found = list(re.finditer(pattern, text))
    # prefer a match inside {{ }} / {% %}: the same word may also be plain prompt text
    m = next((f for f in found if any(a <= f.start() < b for a, b in tags)), found[0] if found else None)
    if m is None:
        return Span(file, *where(lineno, 1))
    (line, col), (end_line, end_col) = where(lineno, m.start() + 1), where(lineno, m.end() + 1)
    return Span(file, line, col, end_line, end_col)


def _const_key(arg):
    from jinja2 import nodes

    return arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else None
