"""The checker: every mistake the compiler can find before a model runs.

Names and fields, types, builtin and verifier arity and keyword names, template
variables, visibility (``label`` inputs reach no evidence; ``reference`` inputs reach
prompts only when allowed, directly or through the evidence derived from them), evidence
cycles, mode rules (swap, candidates), and evidence the reward can never use (a warning).
It also records, for lowering, what each evidence reads (inputs) and depends on (other
evidence).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import Span
from ..ir.functions import BUILTINS, OPERATORS, resolve_operator
from ..ir.verify import RESERVED_NAMES, find_cycle, known_verifiers, lookup_verifier, tie_misplaced
from .ast import Evidence, Skill, Template, TemplateRef
from .expr import NA, Attr, Binary, Call, Cond, Const, Expr, Index, Name, Unary
from .loader import did_you_mean
from .report import Collector
from .tests_section import check_tests
from ..ir.types import accepts, describe, element, evidence_value_type, is_list, unify

__all__ = ["Analysis", "check_skill", "evidence_type", "lookup_verifier"]


@dataclass(frozen=True)
class Analysis:
    """What lowering needs from the checker."""

    deps: dict            # evidence -> sorted tuple of evidence it depends on
    reads: dict           # evidence -> sorted tuple of inputs it reads
    verifiers: dict       # evidence -> VerifierSpec of its check
    warnings: tuple = ()


@dataclass
class _Scope:
    """Where an expression or template sits: which evidence owns it and what it may read."""

    owner: Evidence | None      # None: the reward expression
    role: str                   # "reward", "when", "check", "template", "answer"
    locals: dict = field(default_factory=dict)
    allow: tuple = ()


def evidence_type(ev: Evidence) -> str:
    """The type of an evidence's value in expressions."""
    spec = lookup_verifier(ev.check.func) if ev.kind == "check" else None
    return evidence_value_type(ev.kind, ev.answer.type if ev.kind == "ask" else None,
                               spec.returns if spec is not None else "bool", fanned=ev.each is not None)


def check_skill(skill: Skill) -> Analysis:
    """Check ``skill``; raises a SkillError with every error found, returns warnings otherwise."""
    return _Checker(skill).run()


class _Checker:
    def __init__(self, skill: Skill):
        self.skill = skill
        self.out = Collector()
        self.reads: dict[str, set] = {name: set() for name in skill.evidence}
        self.deps: dict[str, set] = {name: set() for name in skill.evidence}
        self.reward_refs: set[str] = set()
        self.verifiers: dict = {}
        self.prompt_refs: list[tuple[Evidence, TemplateRef]] = []   # what prompts show, for taint

    def run(self) -> Analysis:
        self.check_names()
        self.check_mode()
        self.check_backends()
        for ev in self.skill.evidence.values():
            with self.out.guard():
                self.check_evidence(ev)
        scope = _Scope(None, "reward", self.reward_locals())
        reward_type = self.typeof(self.skill.reward, scope)
        if not accepts("number", reward_type):
            self.out.error(self.skill.reward.span, f"the reward must be a number, but this is {describe(reward_type)}"
                           + _reward_hint(self.skill.reward, self.skill))
        self.check_cycles()
        self.check_derived_visibility()
        check_tests(self.skill, self.out)  # the tests: section (not part of the reward)
        if not self.out.errors:
            self.check_unused()
        self.out.raise_errors()
        return Analysis(
            deps={k: tuple(sorted(v)) for k, v in self.deps.items()},
            reads={k: tuple(sorted(v)) for k, v in self.reads.items()},
            verifiers=dict(self.verifiers), warnings=tuple(self.out.warnings),
        )

    # -- skill-level rules -----------------------------------------------------------
    def check_names(self) -> None:
        """Every name must resolve one way in expressions and templates."""
        for name, inp in self.skill.inputs.items():
            if name in self.skill.evidence:
                self.out.error(self.skill.evidence[name].span, f"'{name}' is both an input and an evidence; "
                               "rename one so expressions can tell them apart")
        for name, span in self.declared_names():
            if name in RESERVED_NAMES:
                self.out.error(span, f"'{name}' is a reserved word and cannot name an input or evidence")

    def declared_names(self):
        yield from ((n, i.span) for n, i in self.skill.inputs.items())
        yield from ((n, e.span) for n, e in self.skill.evidence.items())

    def check_mode(self) -> None:
        skill = self.skill
        mode_span = skill.spans.get("mode")
        if skill.mode == "pairwise":
            missing = [n for n in ("a", "b") if n not in skill.inputs]
            if missing:
                self.out.error(mode_span, "a pairwise skill compares inputs 'a' and 'b'; declare "
                               + " and ".join(f"'{n}'" for n in missing))
        if skill.mode == "listwise":
            self.check_candidates()
        elif skill.candidates is not None:
            self.out.error(skill.spans.get("candidates"), "'candidates' is only for listwise skills")

    def check_candidates(self) -> None:
        skill = self.skill
        span = skill.spans.get("candidates", skill.spans.get("mode"))
        inp = skill.inputs.get(skill.candidates or "")
        if skill.candidates is None:
            self.out.error(span, "a listwise skill names its list of candidates: candidates: <list input>")
        elif inp is None:
            self.out.error(span, f"candidates: '{skill.candidates}' is not an input")
        elif not is_list(inp.type) or inp.visibility == "label":
            self.out.error(span, f"candidates: '{skill.candidates}' must be a visible list input")

    def reward_locals(self) -> dict:
        """``candidate`` in a listwise skill: an element of its candidates list."""
        if self.skill.mode != "listwise":
            return {}
        inp = self.skill.inputs.get(self.skill.candidates or "")
        return {"candidate": element(inp.type) if inp is not None and is_list(inp.type) else "text"}

    def evidence_locals(self, ev: Evidence) -> dict:
        names = dict(self.reward_locals())
        if ev.each is not None:
            names.update(item=self.item_type(ev), index="integer")
        return names

    def item_type(self, ev: Evidence) -> str:
        """The type of ``item``: text for ``each: [a, b]``, else the list input's item type."""
        if isinstance(ev.each, tuple):
            return "text"
        inp = self.skill.inputs.get(ev.each)
        return element(inp.type) if inp else "any"

    # -- evidence --------------------------------------------------------------------
    def check_evidence(self, ev: Evidence) -> None:
        if ev.each is not None:
            self.check_each(ev)
        if ev.when is not None:
            t = self.typeof(ev.when, _Scope(ev, "when", self.evidence_locals(ev)))
            if not accepts("bool", t):
                self.out.error(ev.when.span, f"'when' must be true/false, but this is {describe(t)}")
        getattr(self, f"check_{ev.kind}")(ev)

    def check_each(self, ev: Evidence) -> None:
        """``each: <list input>``, or ``each: [a, b]``: distinct text inputs, one item each."""
        if not isinstance(ev.each, tuple):
            self.each_input(ev, ev.each, ev.each_span)
            return
        if not ev.each:
            self.out.error(ev.each_span, "each: the list of inputs is empty; name the text inputs "
                           "to judge one at a time, e.g. each: [a, b]")
        for i, (name, span) in enumerate(zip(ev.each, ev.each_item_spans)):
            if name in ev.each[:i]:
                self.out.error(span, f"each: '{name}' is listed twice")
            else:
                self.each_input(ev, name, span)

    def each_input(self, ev: Evidence, name: str, span: Span) -> None:
        """One input ``each`` reads: a list input, or a text input listed in ``each: [...]``."""
        inp = self.named_input(ev, "each", name, span)
        if inp is None:
            return
        listed = isinstance(ev.each, tuple)
        if listed and inp.type != "text":
            hint = f" (to fan out over its items, write each: {name})" if is_list(inp.type) else ""
            self.out.error(span, f"each: '{name}' is {describe(inp.type)}; each: [...] takes text inputs, "
                           f"one item per input{hint}")
        elif not listed and not is_list(inp.type):
            self.out.error(span, f"each: '{name}' is {describe(inp.type)}, not a list; "
                           f"declare it as list (or list[number]), or write each: [{name}, ...] to judge text "
                           "inputs one at a time")
        else:
            self.reads[ev.name].add(name)

    def check_check(self, ev: Evidence) -> None:
        call = ev.check
        spec = lookup_verifier(call.func)
        scope = _Scope(ev, "check", self.evidence_locals(ev))
        arg_types = [self.typeof(a, scope) for a in call.args]
        kw_types = {k: self.typeof(v, scope) for k, v in call.kwargs}
        if spec is None:
            hint = did_you_mean(call.func, sorted(known_verifiers()))
            self.out.error(call.func_span, f"unknown verifier '{call.func}'{hint} (`skilldsl verifiers` lists them)")
            return
        self.verifiers[ev.name] = spec
        self.check_verifier_args(call, spec, arg_types, kw_types)

    def check_verifier_args(self, call: Call, spec, arg_types: list, kw_types: dict) -> None:
        positional = spec.positional
        if len(call.args) > len(positional):
            extra = call.args[len(positional)]
            named = ", ".join(p.name for p in spec.params if not p.required)
            self.out.error(extra.span, f"{spec.name} takes {len(positional)} positional argument(s) "
                           f"({', '.join(p.name for p in positional)}); pass {named or 'no others'} by name")
        by_name = {p.name: p for p in spec.params}
        for i, ((key, value), t) in enumerate(zip(call.kwargs, kw_types.values())):
            param = by_name.get(key)
            key_span = call.kwarg_spans[i] if i < len(call.kwarg_spans) else value.span
            if param is None:
                self.out.error(key_span, f"{spec.name} has no parameter '{key}'{did_you_mean(key, by_name)} "
                               f"(parameters: {', '.join(by_name)})")
            elif any(p.name == key for p in positional[: len(call.args)]):
                self.out.error(key_span, f"{spec.name}: '{key}' is already given by position")
            else:
                self.check_arg_type(spec.name, param, value, t)
        for param, value, t in zip(positional, call.args, arg_types):
            self.check_arg_type(spec.name, param, value, t)
        given = {p.name for p in positional[: len(call.args)]} | set(kw_types)
        missing = [p.name for p in positional if p.name not in given]
        if missing:
            self.out.error(call.span, f"{spec.name} is missing argument(s): {', '.join(missing)}")

    def check_arg_type(self, func: str, param, value: Expr, t: str) -> None:
        if not accepts(param.type, t):
            self.out.error(value.span, f"{func}: '{param.name}' must be {describe(param.type)}, "
                           f"but this is {describe(t)}")

    def check_ask(self, ev: Evidence) -> None:
        self.check_prompt(ev)
        self.check_model_alias(ev)
        if ev.swap:
            self.check_swap(ev)
        if ev.think:
            self.check_think(ev)
        temperature = ev.temperature if ev.temperature is not None else self.skill.settings["temperature"]
        if ev.samples > 1 and temperature == 0:
            self.out.warning(ev.spans.get("samples"), f"'{ev.name}' samples {ev.samples} times at temperature 0: "
                             "the samples will be identical; set temperature")
        elif ev.samples > 1 and ev.swap and not ev.think and ev.answer.type == "choice":
            self.out.warning(ev.spans.get("samples"), f"'{ev.name}' counts {ev.samples} sampled votes per order: "
                             "a judge that prefers a position votes the same label in both orders, which swap "
                             "mirrors into an exact tie; without samples the distribution is read from the model")

    def check_think(self, ev: Evidence) -> None:
        """``think: N`` reasons before a verdict read as a distribution: a choice or a score."""
        if ev.answer.type not in ("choice", "score"):
            self.out.error(ev.spans.get("think"), f"think: only a choice or score answer is read after the "
                           f"judge's reasoning; a {ev.answer.type} answer is generated text already")

    def check_swap(self, ev: Evidence) -> None:
        span = ev.spans.get("swap")
        if self.skill.mode != "pairwise":
            self.out.error(span, "swap: only a pairwise skill can swap a and b")
        elif isinstance(ev.each, tuple):
            self.out.error(span, f"swap: each: [{', '.join(ev.each)}] judges each input alone, so there is "
                           "no order of a and b to cancel (and mirroring the labels would be wrong); drop swap")
        elif ev.answer.type != "choice" or len(ev.answer.labels) not in (2, 3):
            self.out.error(span, "swap needs a choice of 2 labels (A, B) or 3 (A, tie, B): "
                           "the first and last are exchanged when a and b are")
        elif len(ev.answer.labels) == 3 and tie_misplaced(ev.answer.labels):
            first, middle, last = ev.answer.labels
            self.out.error(ev.answer.span or span, f"swap exchanges the first and last labels, so "
                           f"choice({first}, {middle}, {last}) would read the swapped order's {first} as "
                           f"{last}: put the labels of a and b first and last, choice({first}, {last}, {middle})")
        elif not {"a", "b"} <= {r.name for t in ev.prompt.values() for r in t.refs}:
            self.out.warning(span, f"swap: the prompt of '{ev.name}' does not show both a and b, yet the "
                             "swapped order's labels are mirrored: it shows the other response alone, or "
                             "(neither shown) averages every verdict to even odds; show both or drop swap")

    def check_backends(self) -> None:
        """A model's ``backend:`` must be registered where the skill is built (built-in, a
        ``--plugin`` module's ``register()`` or an installed entry point), as a verifier must."""
        from ..runtime.backends import registry  # names only: no engine is imported

        named = [model for model in self.skill.models.values() if model.backend is not None]
        known = registry.names() if named else ()  # no scan of installed packages when no model names one
        for model in named:
            if model.backend not in known:
                self.out.error(model.backend_span, registry.unknown(model.backend))

    def check_model_alias(self, ev: Evidence) -> None:
        if ev.model not in self.skill.models:
            hint = did_you_mean(ev.model, self.skill.models)
            self.out.error(ev.spans.get("model"), f"unknown model alias '{ev.model}'{hint}; "
                           "declare it under models:")

    def check_prompt(self, ev: Evidence) -> None:
        """The templates an ``ask``/``route`` judge or a ``model`` reads (its "prompt")."""
        self.check_allow(ev)
        scope = _Scope(ev, "template", self.evidence_locals(ev), ev.allow)
        for template in _prompt_templates(ev):
            self.check_template(template, scope)

    def check_allow(self, ev: Evidence) -> None:
        for name in ev.allow:
            inp = self.named_input(ev, "allow", name)
            if inp is not None and inp.visibility == "visible":
                self.out.warning(ev.spans.get("allow"),
                                 f"allow: '{name}' is visible already; allow is for reference inputs")

    def check_run(self, ev: Evidence) -> None:
        for name in ev.uses:
            if self.named_input(ev, "uses", name) is not None:
                self.reads[ev.name].add(name)
        declared = set(self.skill.inputs) | set(self.skill.evidence)
        unlisted = sorted((_free_names(ev.code) & declared) - set(ev.uses) - set(self.evidence_locals(ev)))
        if unlisted:
            names = ", ".join(f"'{n}'" for n in unlisted)
            self.out.error(ev.spans.get("run", ev.span), f"the run code of '{ev.name}' reads {names}, which "
                           f"{'is' if len(unlisted) == 1 else 'are'} not in its uses: list "
                           f"{'it' if len(unlisted) == 1 else 'them'} under uses: (only inputs can be used)")

    def named_input(self, ev: Evidence, key: str, name: str, span: Span | None = None):
        """The input that ``key:`` (``allow``, ``uses`` or ``each``) of ``ev`` names; None, after an
        error at ``span`` (default: the key's), when there is no such input or it is a label."""
        inp = self.skill.inputs.get(name)
        span = span or ev.spans.get(key)
        if inp is None:
            self.out.error(span, f"{key}: '{name}' is not an input{did_you_mean(name, self.skill.inputs)}")
        elif inp.visibility == "label":
            self.out.error(span, f"{key}: '{name}' is a label input; labels reach no evidence")
        else:
            return inp
        return None

    def check_route(self, ev: Evidence) -> None:
        span = ev.spans.get("route")
        for option in ev.options:
            if option == ev.name:
                self.out.error(span, f"route '{ev.name}' cannot pick itself")
            elif option not in self.skill.evidence:
                self.out.error(span, f"route option '{option}' is not an evidence"
                               f"{did_you_mean(option, self.skill.evidence)}")
            else:
                self.deps[ev.name].add(option)
        self.check_prompt(ev)
        self.check_model_alias(ev)

    def check_model(self, ev: Evidence) -> None:
        self.check_prompt(ev)

    # -- templates ---------------------------------------------------------------------
    def check_template(self, template: Template, scope: _Scope) -> None:
        for ref in template.refs:
            if ref.name == "files":
                self.check_file_ref(ref)
            elif ref.name in scope.locals:
                if ref.name == "item":
                    self.prompt_refs.append((scope.owner, ref))
            elif ref.name in self.skill.inputs:
                self.check_template_input(ref.name, ref.span, scope)
            elif ref.name in self.skill.evidence:
                self.use_evidence(ref.name, ref.span, scope)
                self.prompt_refs.append((scope.owner, ref))
            else:
                self.unknown_template_name(ref, scope)

    def unknown_template_name(self, ref: TemplateRef, scope: _Scope) -> None:
        from ..ir.templates import unavailable  # jinja's globals: the runtime environment has none

        if unavailable(ref.name):
            self.out.error(ref.span, unavailable(ref.name))
        else:
            self.unknown_name(ref.name, ref.span, scope, "template variable")

    def check_file_ref(self, ref) -> None:
        if ref.attr is None:
            self.out.error(ref.span, "use a file by name: {{ files.<name> }}")
        else:
            self.check_file_name(ref.attr, ref.span)

    def check_file_name(self, name: str, span: Span) -> None:
        """``files.<name>`` (in a template or an expression) must name a declared file."""
        if name not in self.skill.files:
            self.out.error(span, f"files.{name}: no file '{name}' is declared under files:"
                           f"{did_you_mean(name, self.skill.files)}")

    def check_template_input(self, name: str, span: Span, scope: _Scope) -> None:
        inp = self.skill.inputs[name]
        if inp.visibility == "reference" and name not in scope.allow:
            self.out.error(span, f"'{name}' is a reference input and this prompt does not allow it; "
                           f"add allow: [{name}] to evidence '{scope.owner.name}' if the judge may see it")
            return
        self.use_input(name, span, scope)

    # -- expressions -----------------------------------------------------------------
    def typeof(self, e: Expr, scope: _Scope) -> str:
        """The type of ``e``; records reads and dependencies; reports errors (type ``any`` then)."""
        return _TYPERS[type(e)](self, e, scope)

    def type_const(self, e: Const, scope: _Scope) -> str:
        if isinstance(e.value, bool):
            return "bool"
        return {int: "integer", float: "number", str: "text"}[type(e.value)]

    def type_name(self, e: Name, scope: _Scope) -> str:
        if e.id in scope.locals:
            return scope.locals[e.id]
        if e.id in self.skill.inputs:
            return self.use_input(e.id, e.span, scope)
        if e.id in self.skill.evidence:
            return self.use_evidence(e.id, e.span, scope)
        if e.id == "files":
            self.out.error(e.span, "use a file by name: files.<name>")
        else:
            self.unknown_name(e.id, e.span, scope, "name")
        return "any"

    def use_input(self, name: str, span: Span, scope: _Scope) -> str:
        inp = self.skill.inputs[name]
        if inp.visibility == "label":
            where = "the reward" if scope.owner is None else f"evidence '{scope.owner.name}'"
            self.out.error(span, f"'{name}' is a label input: labels are for evaluation only and reach no "
                           f"evidence or reward (used in {where})")
        elif scope.owner is not None:
            self.reads[scope.owner.name].add(name)
        return inp.type

    def use_evidence(self, name: str, span: Span, scope: _Scope) -> str:
        if scope.owner is None:
            self.reward_refs.add(name)
        else:
            self.deps[scope.owner.name].add(name)
        return evidence_type(self.skill.evidence[name])

    def unknown_name(self, name: str, span: Span, scope: _Scope, what: str) -> None:
        known = list(self.skill.inputs) + list(self.skill.evidence) + list(scope.locals)
        if name in ("item", "index"):
            message = f"'{name}' is only defined inside evidence with each:"
        elif name == "candidate":
            message = "'candidate' is only defined in listwise skills"
        else:
            message = f"unknown {what} '{name}'{did_you_mean(name, known)}: not an input, evidence or file"
        self.out.error(span, message)

    def type_attr(self, e: Attr, scope: _Scope) -> str:
        if isinstance(e.obj, Name) and e.obj.id == "files" and "files" not in scope.locals:
            self.check_file_name(e.name, e.span)
            return "text"
        t = self.typeof(e.obj, scope)
        if t not in ("json", "any"):
            self.out.error(e.span, f"'.{e.name}' reads a field, but this is {describe(t)}, not JSON")
            return "any"
        return "json"

    def type_index(self, e: Index, scope: _Scope) -> str:
        t = self.typeof(e.obj, scope)
        i = self.typeof(e.index, scope)
        if t in ("json", "any"):
            return "any" if t == "any" else "json"
        if is_list(t) or t == "text":
            if not accepts("integer", i):
                self.out.error(e.index.span, f"an index must be an integer, but this is {describe(i)}")
            self.check_index_range(e)
            return element(t) if is_list(t) else "text"
        self.out.error(e.span, f"cannot index {describe(t)}")
        return "any"

    def check_index_range(self, e: Index) -> None:
        """A constant index into the list of an ``each: [...]`` evidence (whose length is known)
        must be in range; Python-style negative indexes count from the end."""
        ev, at = self.fixed_fan_out(e.obj), _const_int(e.index)
        if ev is None or at is None or -len(ev.each) <= at < len(ev.each):
            return
        self.out.error(e.index.span, f"index {at} is out of range: '{ev.name}' has {len(ev.each)} item(s), "
                       f"one per input of each: [{', '.join(ev.each)}] (indexes 0 to {len(ev.each) - 1})")

    def fixed_fan_out(self, e: Expr) -> "Evidence | None":
        """The ``each: [...]`` evidence whose per-item list ``e`` is (the evidence, or ``p``,
        ``expect``, ``vote`` of it), or None."""
        if isinstance(e, Call) and e.func in ("p", "expect", "vote") and e.args:
            e = e.args[0]
        ev = self.skill.evidence.get(e.id) if isinstance(e, Name) else None
        return ev if ev is not None and isinstance(ev.each, tuple) else None

    def type_unary(self, e: Unary, scope: _Scope) -> str:
        t = self.typeof(e.operand, scope)
        result = resolve_operator(e.op, [t])
        if result is None:
            want = "true/false" if e.op == "not" else "a number"
            self.out.error(e.operand.span, f"'{'not' if e.op == 'not' else '-'}' needs {want}, "
                           f"but this is {describe(t)}")
            return "bool" if e.op == "not" else "number"
        return result

    def type_binary(self, e: Binary, scope: _Scope) -> str:
        left, right = self.typeof(e.left, scope), self.typeof(e.right, scope)
        result = resolve_operator(e.op, [left, right])
        if result is not None:
            return result
        if e.op in ("and", "or"):
            for side, t in ((e.left, left), (e.right, right)):
                if not accepts("bool", t):
                    self.out.error(side.span, f"'{e.op}' needs true/false on both sides, but this is {describe(t)}")
            return "bool"
        self.operand_errors(e, left, right)
        return "bool" if e.op in ("<", "<=", ">", ">=") else "any"

    def operand_errors(self, e: Binary, left: str, right: str) -> None:
        """Report a side no overload of the operator takes; else the pair that does not go together."""
        overloads = OPERATORS[e.op]
        want = "numbers" if all(o.params[0] != "text" for o in overloads) else "two numbers or two texts"
        sides = ((e.left, left), (e.right, right))
        bad = [(side, t) for i, (side, t) in enumerate(sides) if not any(accepts(o.params[i], t) for o in overloads)]
        for side, t in bad:
            self.out.error(side.span, f"'{e.op}' needs {want}, but this is {describe(t)}")
        if not bad:
            self.out.error(e.span, f"'{e.op}' needs {want}, but this is {describe(left)} and {describe(right)}")

    def type_cond(self, e: Cond, scope: _Scope) -> str:
        test = self.typeof(e.test, scope)
        if not accepts("bool", test):
            self.out.error(e.test.span, f"the condition after 'if' must be true/false, but this is {describe(test)}")
        then, orelse = self.typeof(e.then, scope), self.typeof(e.orelse, scope)
        result = unify(then, orelse)
        if result is None:
            self.out.error(e.span, f"the two branches of this 'if' have different types: {describe(then)} "
                           f"and {describe(orelse)}; both must give the same kind of value")
            return "any"
        return result

    def type_call(self, e: Call, scope: _Scope) -> str:
        if "." in e.func:
            where = "as the whole of a 'check:'" if scope.role != "check" else "only as the whole 'check:' expression"
            self.out.error(e.func_span, f"verifier calls such as {e.func}(...) go {where}; give the check a "
                           "name under evidence: and use that name here")
            return "any"
        builtin = BUILTINS.get(e.func)
        if builtin is None:
            self.out.error(e.func_span, f"unknown function '{e.func}'{did_you_mean(e.func, BUILTINS)} "
                           f"(builtins: {', '.join(sorted(BUILTINS))})")
            return "any"
        for key, value in e.kwargs:
            self.out.error(value.span, f"{e.func}() takes no keyword arguments ('{key}=')")
        if not self.check_arity(e, builtin):
            return builtin.result
        return _CALL_TYPERS.get(e.func, _type_builtin)(self, e, builtin, scope)

    def check_arity(self, e: Call, builtin) -> bool:
        problem = builtin.arity_problem(len(e.args))
        if problem:
            self.out.error(e.span, problem)
        return problem is None

    # -- cycles and unused evidence ------------------------------------------------------
    def check_cycles(self) -> None:
        state: dict[str, int] = {}
        for name in self.skill.evidence:
            cycle = find_cycle(name, self.deps, state, [])
            if cycle:
                span = self.skill.evidence[cycle[0]].span
                self.out.error(span, f"evidence cycle: {' -> '.join(cycle)} (evidence cannot depend on itself)")
                return

    def check_derived_visibility(self) -> None:
        """Taint propagation: a prompt that shows an evidence (or an ``each`` item) derived from
        reference inputs must allow each of them, as if it read them itself."""
        references = {n for n, inp in self.skill.inputs.items() if inp.visibility == "reference"}
        for ev, ref in self.prompt_refs:
            for source, path in sorted(self.derived_from(ev, ref.name, references).items()):
                if source not in ev.allow:
                    self.out.error(ref.span, _leak_message(ev, ref.name, source, path))

    def derived_from(self, ev: Evidence, name: str, references: set) -> dict:
        """reference input -> evidence path, for what the prompt of ``ev`` reads as ``name``."""
        if name == "item":
            return {source: () for source in ev.each_inputs if source in references}
        return _derivations(name, self.reads, self.deps, references)

    def check_unused(self) -> None:
        used = set()
        todo = list(self.reward_refs)
        while todo:
            name = todo.pop()
            if name not in used:
                used.add(name)
                todo.extend(self.deps.get(name, ()))
        for name, ev in self.skill.evidence.items():
            if name not in used:
                self.out.warning(ev.span, f"evidence '{name}' is never used by the reward")


def _derivations(start: str, reads: dict, deps: dict, references: set) -> dict:
    """The reference inputs the value of evidence ``start`` is derived from, each with the
    shortest evidence path from ``start`` to an evidence that reads it (breadth first, so
    cycles terminate). Every read counts, ``when`` included: a condition decides whether the
    value is known, and a prompt shows an unknown value differently."""
    parents: dict = {start: None}
    queue, found = [start], {}
    for name in queue:
        for source in sorted(reads.get(name, set()) & references):
            found.setdefault(source, _path(name, parents))
        for dep in sorted(deps.get(name, ())):
            if dep not in parents:
                parents[dep] = name
                queue.append(dep)
    return found


def _path(name: str, parents: dict) -> tuple:
    """The evidence path from the search's start to ``name``."""
    path = []
    while name is not None:
        path.append(name)
        name = parents[name]
    return tuple(reversed(path))


def _leak_message(ev: Evidence, name: str, source: str, path: tuple) -> str:
    """The error for a prompt of ``ev`` that shows ``name``, derived from reference input ``source``."""
    what, reader = ("input", "the reward model") if ev.kind == "model" else ("prompt", "the judge")
    via = f" (through {' -> '.join(path)})" if len(path) > 1 else ""
    return (f"{what} of '{ev.name}' reads '{name}', which is derived from reference input '{source}'{via}; "
            f"add it to `allow` if {reader} may see it")


def _const_int(e: Expr) -> "int | None":
    """The value of a constant integer expression (``2``, ``-1``), else None."""
    if isinstance(e, Unary) and e.op == "neg":
        inner = _const_int(e.operand)
        return None if inner is None else -inner
    if isinstance(e, Const) and isinstance(e.value, int) and not isinstance(e.value, bool):
        return e.value
    return None


def _free_names(code: str) -> set:
    """Names the Python ``code`` reads but never binds (assignments, imports, defs, parameters)."""
    import ast

    tree = ast.parse(code)
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return loaded - bound


def _prompt_templates(ev: Evidence) -> tuple:
    """The templates of an ``ask``/``route`` prompt or a ``model`` input."""
    return (ev.input,) if ev.kind == "model" else tuple(ev.prompt.values())


def _reward_hint(reward: Expr, skill: Skill) -> str:
    if isinstance(reward, Name) and reward.id in skill.evidence:
        ev = skill.evidence[reward.id]
        if ev.answer is not None and ev.answer.type == "choice":
            return f'; use p({ev.name}, "{ev.answer.labels[0]}") for the probability of a label'
    return ""


# -- builtin call typing ---------------------------------------------------------------

def _type_builtin(ck: _Checker, e: Call, builtin, scope: _Scope) -> str:
    types = [ck.typeof(a, scope) for a in e.args]
    for i, (arg, t) in enumerate(zip(e.args, types)):
        problem = builtin.argument_problem(i, t)
        if problem is not None:
            ck.out.error(arg.span, f"{e.func}(): {problem}")
    result = builtin.result_type(types)
    if result is None:
        ck.out.error(e.span, f"{e.func}(): the arguments have different types ({', '.join(map(describe, types))}); "
                     "they must give the same kind of value")
        return "any"
    return result


def _evidence_arg(ck: _Checker, e: Call, scope: _Scope, answer: str) -> "Evidence | None":
    arg = e.args[0]
    ev = ck.skill.evidence.get(arg.id) if isinstance(arg, Name) else None
    if ev is None or ev.answer is None or ev.answer.type != answer or ev.kind not in ("ask", "route"):
        ck.typeof(arg, scope)
        what = "a choice" if answer == "choice" else "a score"
        also = " or a route" if answer == "choice" else ""
        ck.out.error(arg.span, f"{e.func}() takes the name of {what} evidence (ask with answer: {answer}(...){also})")
        return None
    ck.use_evidence(ev.name, arg.span, scope)
    return ev


def _type_p(ck: _Checker, e: Call, builtin, scope: _Scope) -> str:
    ev = _evidence_arg(ck, e, scope, "choice")
    label = e.args[1]
    t = ck.typeof(label, scope)
    if not accepts("text", t):
        ck.out.error(label.span, f"p(): the label must be text, but this is {describe(t)}")
    elif ev is not None and isinstance(label, Const) and label.value not in ev.answer.labels:
        ck.out.error(label.span, f"{label.value!r} is not a label of '{ev.name}' "
                     f"(labels: {', '.join(ev.answer.labels)})")
    return "list[number]" if ev is not None and ev.each is not None else "number"


def _type_expect(ck: _Checker, e: Call, builtin, scope: _Scope) -> str:
    ev = _evidence_arg(ck, e, scope, "score")
    return "list[number]" if ev is not None and ev.each is not None else "number"


def _type_vote(ck: _Checker, e: Call, builtin, scope: _Scope) -> str:
    ev = _evidence_arg(ck, e, scope, "choice")
    return "list[text]" if ev is not None and ev.each is not None else "text"


def _type_weighted(ck: _Checker, e: Call, builtin, scope: _Scope) -> str:
    if len(e.args) % 2:
        ck.out.error(e.span, "weighted() takes pairs: weighted(x1, w1, x2, w2, ...)")
    for i, arg in enumerate(e.args):
        t = ck.typeof(arg, scope)
        role = "weight" if i % 2 else "value"
        if not accepts("number", t):
            ck.out.error(arg.span, f"weighted(): a {role} must be a number, but this is {describe(t)}")
    return "number"


_CALL_TYPERS = {"p": _type_p, "expect": _type_expect, "vote": _type_vote, "weighted": _type_weighted}

_TYPERS = {
    Const: _Checker.type_const,
    NA: lambda ck, e, scope: "any",
    Name: _Checker.type_name,
    Attr: _Checker.type_attr,
    Index: _Checker.type_index,
    Unary: _Checker.type_unary,
    Binary: _Checker.type_binary,
    Cond: _Checker.type_cond,
    Call: _Checker.type_call,
}
