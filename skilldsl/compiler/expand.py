"""Evidence templates: ``for:`` expanded into plain evidence, the stage between parse and check.

An evidence with ``for: {var: [v1, v2, ...]}`` is written once and stands for one plain evidence
per value; the checker, the IR and the trace see only those. An instance is named by the
template's name with the variable replaced by the value where the name holds the variable as a
word between underscores (``side_items`` over ``side`` -> ``a_items``), else by the name, ``_``
and the value (``rubric`` over ``criterion`` -> ``rubric_clarity``).

In the instance for one value the variable is replaced, in its prompts, expressions and name
lists, by:

- the input of that name, when every value of the template names an input (``for: {side: [a,
  b]}``: ``{{ side }}`` is ``{{ a }}``, visibility rules and all);
- else the value's text, and ``var.field`` a constant of the entry (``{name: clarity, weight: 2,
  asks: "..."}``; ``var`` alone is its name). In a prompt, ``{{ var }}`` becomes the text itself
  when the text holds no ``{``, else a jinja string literal: a value is shown, never run as a
  template.

So an instance is byte for byte the evidence written out by hand, and so is its IR: a template adds
nothing to the reward id. The template's own name is no evidence; in an argument of a variadic
builtin (``mean``, ``sum``, ``weighted``, ...) it stands for every instance, one argument each, and
in ``weighted`` for (instance, weight) pairs: ``weighted(p(rubric, "yes"))``.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace

from ..errors import Diagnostic, InternalError, SkillError, Span
from ..ir.functions import BUILTINS
from .ast import Evidence, ForEntry, ForSpec, Skill, Template, TemplateRef
from .expr import Attr, Binary, Call, Cond, Const, Expr, Index, Name, Unary, walk
from .loader import Document, did_you_mean
from .report import Collector

__all__ = ["parse_for", "expand", "instance_name"]

_KEY = re.compile(r"[A-Za-z0-9_]+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPREAD = tuple(sorted(name for name, b in BUILTINS.items() if b.variadic))  # where a template spreads
_LOCALS = frozenset({"files", "item", "index", "candidate"})


# -- parsing ``for:`` (called by the parse stage) --------------------------------------------------

def parse_for(doc: Document, path: tuple) -> ForSpec:
    """The ``for:`` of the evidence at ``path``: one variable and its entries, each checked."""
    here = path + ("for",)
    spec, span = doc.get(here), doc.key_span(here)
    if len(spec) != 1:
        raise SkillError(Diagnostic(span, "for: give one variable and its values, e.g. "
                                    "for: {criterion: [clarity, accuracy]}"))
    (var, values), = spec.items()
    var_span = doc.key_span(here + (var,))
    if not values:
        raise SkillError(Diagnostic(var_span, f"for: '{var}' has no values; a template needs at least one"))
    entries: list[ForEntry] = []
    for i, value in enumerate(values):
        entry = _entry(value, doc.span(here + (var, i)))
        if any(e.key == entry.key for e in entries):
            raise SkillError(Diagnostic(entry.span, f"for: '{entry.key}' is listed twice; each instance needs "
                                        "its own value"))
        entries.append(entry)
    return ForSpec(var, tuple(entries), span, var_span)


def _entry(value, span: Span) -> ForEntry:
    """A value (``clarity``) or a mapping (``{name: clarity, weight: 2, asks: ...}``)."""
    fields = dict(value) if isinstance(value, dict) else {"name": value}
    key = str(fields.pop("name"))
    if not _KEY.fullmatch(key):
        raise SkillError(Diagnostic(span, f"for: {key!r} names an instance, so it may hold only letters, "
                                    "digits and _; give longer text as a field: {name: short, asks: \"...\"}"))
    weight = fields.pop("weight", 1)
    return ForEntry(key, weight, tuple(fields.items()), span)


def instance_name(template: str, var: str, key: str) -> str:
    """``side_items`` over ``side`` -> ``a_items``; ``rubric`` over ``criterion`` -> ``rubric_clarity``."""
    words = template.split("_")
    if var in words:
        return "_".join(key if w == var else w for w in words)
    return f"{template}_{key}"


# -- the stage -------------------------------------------------------------------------------------

def expand(skill: Skill) -> Skill:
    """``skill`` with every template replaced by its instances, in place, and every spread of a
    template's name in the reward, conditions and checks replaced by its instances."""
    templates = {n: ev for n, ev in skill.evidence.items() if ev.instances is not None}
    if not templates:
        return skill
    out = Collector()
    families = _families(skill, templates, out)
    out.raise_errors()
    spread = _Spread(families, out)
    evidence = {}
    for name, ev in skill.evidence.items():
        instances = _instances(skill, ev, families, out) if name in templates else [ev]
        for inst in instances:
            evidence[inst.name] = spread.evidence(inst)
    reward = spread.expr(skill.reward)
    out.raise_errors()
    return replace(skill, evidence=evidence, reward=reward)


def _families(skill: Skill, templates: dict, out: Collector) -> dict:
    """template name -> ((instance name, entry), ...); names that collide are errors."""
    taken = {n: f"evidence '{n}'" for n in skill.evidence if n not in templates}
    taken.update({n: f"input '{n}'" for n in skill.inputs})
    taken.update({n: f"evidence template '{n}'" for n in templates})
    families = {}
    for name, ev in templates.items():
        if name in skill.inputs:
            out.error(ev.span, f"'{name}' is both an input and an evidence template; rename one")
        spec, members = ev.instances, []
        for entry in spec.entries:
            iname = instance_name(name, spec.var, entry.key)
            if not _IDENTIFIER.fullmatch(iname):
                out.error(entry.span, f"for: the instance of '{name}' for {entry.key!r} would be named "
                          f"'{iname}', which is not a name; start the template's name with a letter")
            elif iname in taken:
                out.error(entry.span, f"for: instance '{iname}' of '{name}' collides with {taken[iname]}; "
                          "rename the template or the other")
            taken[iname] = f"instance '{iname}' of '{name}'"
            members.append((iname, entry))
        families[name] = tuple(members)
    return families


def _instances(skill: Skill, ev: Evidence, families: dict, out: Collector) -> list:
    """The plain evidence a template stands for (none after an error in the template itself)."""
    spec = ev.instances
    if ev.kind == "run":
        out.error(spec.span, "for: run evidence cannot be a template: its code reads inputs by their own "
                  "names; write one run evidence per input")
        return []
    alias = _alias_mode(skill, ev, out)
    problems = len(out.errors)
    _check_uses(skill, ev, families, out)
    if len(out.errors) > problems or alias is None:
        return []
    return [_instance(ev, iname, _Binding(spec.var, entry, alias, ev, out)) for iname, entry in families[ev.name]]


def _alias_mode(skill: Skill, ev: Evidence, out: Collector) -> "bool | None":
    """True when every value names an input (the variable is then that input), False when none
    does (it is text); a mix is an error (None)."""
    spec = ev.instances
    named = [e.key for e in spec.entries if e.key in skill.inputs]
    if not named:
        return False
    if len(named) == len(spec.entries):
        return True
    text = [e.key for e in spec.entries if e.key not in skill.inputs]
    out.error(spec.var_span, f"for: '{spec.var}' mixes inputs ({', '.join(named)}) and text ({', '.join(text)}); "
              "list only inputs (the variable is then each input) or only text")
    return None


def _check_uses(skill: Skill, ev: Evidence, families: dict, out: Collector) -> None:
    """The variable must be used (else every instance is the same), never rebound in a prompt, and
    a misspelling of it is named as such."""
    var = ev.instances.var
    refs = [r for t in _templates(ev) for r in t.refs]
    names = [e for x in _exprs(ev) for e in walk(x) if isinstance(e, Name)]
    if any([_binds(t, var, ev, out) for t in _templates(ev)]):
        return
    if not any(r.name == var for r in refs) and not any(n.id == var for n in names) \
            and var not in _name_lists(ev):
        out.error(ev.instances.var_span, f"for: '{var}' is not used by '{ev.name}' (its prompt, check, when or "
                  "input lists), so every instance would be the same")
    known = set(skill.inputs) | set(skill.evidence) | set(families) | _LOCALS | {var}
    for name, span in [(r.name, r.span) for r in refs] + [(n.id, n.span) for n in names]:
        if name not in known and did_you_mean(name, [var]):
            out.error(span, f"unknown name '{name}'{did_you_mean(name, [var])}: the for: variable of '{ev.name}'")


def _binds(template: Template, var: str, ev: Evidence, out: Collector) -> bool:
    """Whether the template binds the variable itself (an error: which one would it mean?)."""
    from jinja2 import nodes

    from ..ir import templates

    for node in templates.parse(template.source).find_all((nodes.For, nodes.Assign)):
        if var in {n.name for n in node.target.find_all(nodes.Name)} | _own_name(node.target):
            out.error(template.span, f"for: the prompt of '{ev.name}' binds '{var}' itself "
                      "({% for %} or {% set %}); rename one of them")
            return True
    return False


def _own_name(target) -> set:
    return {target.name} if hasattr(target, "name") else set()


def _templates(ev: Evidence) -> tuple:
    return tuple(ev.prompt.values()) + ((ev.input,) if ev.input is not None else ())


def _exprs(ev: Evidence) -> tuple:
    return tuple(x for x in (ev.when, ev.check) if x is not None)


def _name_lists(ev: Evidence) -> set:
    return set(ev.each_inputs) | set(ev.allow) | set(ev.uses) | set(ev.options)


# -- one instance ----------------------------------------------------------------------------------

class _Binding:
    """What the variable is in one instance: an input's name, or an entry's text and fields."""

    def __init__(self, var: str, entry: ForEntry, alias: bool, ev: Evidence, out: Collector):
        self.var, self.entry, self.alias, self.ev, self.out = var, entry, alias, ev, out
        self.fields = {"name": entry.key, "weight": entry.weight, **dict(entry.fields)}

    def name(self, span: Span) -> Expr:
        return Name(self.entry.key, span) if self.alias else Const(self.entry.key, span)

    def field(self, field: str, span: Span) -> Expr:
        if self.alias:
            return Attr(Name(self.entry.key, span), field, span)
        return Const(self.constant(field, span), span)

    def constant(self, field: "str | None", span: Span):
        """The entry's constant ``field`` (its name for None); an unknown field is an error."""
        if field is None:
            return self.entry.key
        if field not in self.fields:
            self.out.error(span, f"for: '{self.var}' has no field '{field}'{did_you_mean(field, self.fields)} in "
                           f"the entry {self.entry.key!r} of '{self.ev.name}' (fields: {', '.join(self.fields)})")
            return ""
        return self.fields[field]

    def names(self, names: tuple, key: str) -> tuple:
        """``each``/``allow``/``uses``/``route`` lists: the variable is its input's name."""
        if self.var in names and not self.alias:
            self.out.error(self.ev.spans.get(key, self.ev.span), f"for: '{self.var}' is text here, but {key}: "
                           "lists inputs; list inputs in for: to use the variable here")
        return tuple(self.entry.key if n == self.var else n for n in names)


def _instance(ev: Evidence, name: str, b: _Binding) -> Evidence:
    each = ev.each
    if isinstance(each, tuple):
        each = b.names(each, "each")
    elif each is not None:
        each = b.names((each,), "each")[0]
    return replace(
        ev, name=name, instances=None, each=each,
        when=None if ev.when is None else _bind_expr(ev.when, b),
        check=None if ev.check is None else _bind_expr(ev.check, b),
        prompt={role: _bind_template(t, b) for role, t in ev.prompt.items()},
        input=None if ev.input is None else _bind_template(ev.input, b),
        allow=b.names(ev.allow, "allow"), uses=b.names(ev.uses, "uses"), options=b.names(ev.options, "route"),
    )


def _bind_expr(e: Expr, b: _Binding) -> Expr:
    if isinstance(e, Attr) and isinstance(e.obj, Name) and e.obj.id == b.var:
        return b.field(e.name, e.span)
    if isinstance(e, Name) and e.id == b.var:
        return b.name(e.span)
    return _with_children(e, lambda child: _bind_expr(child, b))


def _with_children(e: Expr, f) -> Expr:
    """``e`` rebuilt with ``f`` applied to each child expression (spans kept)."""
    if isinstance(e, Attr):
        return replace(e, obj=f(e.obj))
    if isinstance(e, Index):
        return replace(e, obj=f(e.obj), index=f(e.index))
    if isinstance(e, Unary):
        return replace(e, operand=f(e.operand))
    if isinstance(e, Binary):
        return replace(e, left=f(e.left), right=f(e.right))
    if isinstance(e, Cond):
        return replace(e, test=f(e.test), then=f(e.then), orelse=f(e.orelse))
    if isinstance(e, Call):
        return replace(e, args=tuple(f(a) for a in e.args), kwargs=tuple((k, f(v)) for k, v in e.kwargs))
    return e


# -- prompts: the variable replaced token by token ---------------------------------------------------

def _bind_template(t: Template, b: _Binding) -> Template:
    """The template with the variable replaced (module doc); its refs keep their positions in the
    ``.skill`` file, so a checker error about ``{{ a }}`` points at ``{{ side }}``."""
    tokens = _tokens(t.source)
    edits = []
    for k, tok in enumerate(tokens):
        if tok.kind == "name" and tok.value == b.var and _reads_variable(tokens, k):
            edits.append(_edit(tokens, k, t, b))
    source = _apply(t.source, edits)
    refs = tuple(TemplateRef(b.entry.key, None, r.span) if r.name == b.var else r
                 for r in t.refs if r.name != b.var or b.alias)
    _verify(source, refs, t)
    return Template(source, refs, t.span)


class _Token:
    __slots__ = ("start", "end", "line", "kind", "value")

    def __init__(self, start: int, end: int, line: int, kind: str, value: str):
        self.start, self.end, self.line, self.kind, self.value = start, end, line, kind, value


def _tokens(source: str) -> list:
    """jinja's tokens with their offsets in ``source`` (only whitespace jinja strips lies between)."""
    from ..ir import templates

    out, pos = [], 0
    for line, kind, value in templates.environment().lex(source):
        start = source.find(value, pos)
        if start < 0:
            raise InternalError(f"template expansion lost its place at {value!r}")
        pos = start + len(value)
        if kind != "whitespace":
            out.append(_Token(start, pos, line, kind, value))
    return out


def _reads_variable(tokens: list, k: int) -> bool:
    """Whether the name token ``k`` reads a variable: not an attribute, filter, test or keyword name."""
    before = tokens[k - 1] if k else None
    after = tokens[k + 1] if k + 1 < len(tokens) else None
    if before is not None and (before.value in (".", "|", "is") or
                               (before.value == "not" and k > 1 and tokens[k - 2].value == "is")):
        return False
    return not (after is not None and after.kind == "operator" and after.value == "=")


def _edit(tokens: list, k: int, t: Template, b: _Binding) -> tuple:
    """(start, end, text) replacing the variable (and a ``.field`` after it) at token ``k``."""
    start, end, field = tokens[k].start, tokens[k].end, None
    if k + 2 < len(tokens) and tokens[k + 1].value == "." and tokens[k + 2].kind == "name":
        field, end = tokens[k + 2].value, tokens[k + 2].end
    if b.alias:
        return start, tokens[k].end, b.entry.key  # `.field` stays: a field of the input's value
    value = b.constant(field, _line_span(t, tokens[k].line, b.var))
    before, after = (tokens[k - 1] if k else None), (tokens[k + 3 if field else k + 1:] or [None])[0]
    shown = _shown(value)
    if shown is not None and before is not None and before.value == "{{" and after is not None and after.value == "}}":
        return before.start, after.end, shown  # {{ criterion }} -> clarity: the text written out by hand
    return start, end, _literal(value)


def _shown(value) -> "str | None":
    """The text ``{{ value }}`` renders, when writing it out as template text keeps it text."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value)
    return None if "{" in text else text


def _literal(value) -> str:
    """``value`` as a jinja literal (a string literal renders as its text, never as template code)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _apply(source: str, edits: list) -> str:
    out, pos = [], 0
    for start, end, text in sorted(edits):
        out += [source[pos:start], text]
        pos = end
    return "".join(out) + source[pos:]


def _line_span(t: Template, line: int, var: str) -> Span:
    """Where the variable is on template line ``line`` (its first read there), for a message."""
    target = t.span.line + line - 1
    spans = [r.span for r in t.refs if r.name == var]
    return next((s for s in spans if s.line == target), spans[0] if spans else t.span)


def _verify(source: str, refs: tuple, t: Template) -> None:
    """The rewritten template must parse, pass the rules and read exactly the refs it claims."""
    from ..ir import templates

    tree = templates.parse(source)
    if templates.refusals(tree) or templates.free_names(tree) != {r.name for r in refs}:
        raise InternalError(f"template expansion changed what the prompt at {t.span} reads")


# -- the template's name: spread into variadic builtins -----------------------------------------------

class _Spread:
    """Replaces a template's name in an argument of a variadic builtin by its instances; anywhere
    else the name is an error."""

    def __init__(self, families: dict, out: Collector):
        self.families, self.out = families, out

    def evidence(self, ev: Evidence) -> Evidence:
        for template in _templates(ev):
            for ref in template.refs:
                if ref.name in self.families:
                    self.out.error(ref.span, self._message(ref.name))
        options = tuple(i for o in ev.options for i in (self._members(o) if o in self.families else (o,)))
        return replace(ev, options=options,
                       when=None if ev.when is None else self.expr(ev.when),
                       check=None if ev.check is None else self.expr(ev.check))

    def expr(self, e: Expr) -> Expr:
        result = self._spread(e)
        for node in walk(result):
            if isinstance(node, Name) and node.id in self.families:
                self.out.error(node.span, self._message(node.id))
        return result

    def _spread(self, e: Expr) -> Expr:
        e = _with_children(e, self._spread)  # inner calls first: mean(max(p(t, "yes")), x) spreads in max
        if not (isinstance(e, Call) and e.func in _SPREAD):
            return e
        args = []
        for arg in e.args:
            named = sorted({n.id for n in walk(arg) if isinstance(n, Name) and n.id in self.families})
            if len(named) != 1:
                if named:
                    self.out.error(arg.span, f"this argument names templates {' and '.join(named)}; "
                                   "an argument spreads one template")
                args.append(arg)
                continue
            for iname, entry in self.families[named[0]]:
                args.append(_rename(arg, named[0], iname))
                if e.func == "weighted":
                    args.append(Const(entry.weight, arg.span))
        return replace(e, args=tuple(args))

    def _members(self, name: str) -> tuple:
        return tuple(iname for iname, _ in self.families[name])

    def _message(self, name: str) -> str:
        members = ", ".join(self._members(name))
        return (f"'{name}' is a template of {len(self.families[name])} evidence ({members}): name one of them, "
                f"or spread it in an argument of {', '.join(_SPREAD)} (weighted pairs each with its weight)")


def _rename(e: Expr, old: str, new: str) -> Expr:
    if isinstance(e, Name) and e.id == old:
        return Name(new, e.span)
    return _with_children(e, lambda child: _rename(child, old, new))
