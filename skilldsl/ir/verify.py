"""Verify a compiled skill before any model runs: the checker's rules, applied to the IR.

A ``.skillc`` is data: anyone can write one, with a matching reward id (``compute_reward_id`` is
public). The schema checks its shape; :func:`verify` checks its meaning, so a program that no
source would compile to is refused on load, never met half-way through scoring. Each problem names
its place (``evidence 'judge': when: unknown evidence 'zz'``). Checked:

- names: every input, evidence, file and local (``item``/``index`` in an ``each`` body,
  ``candidate`` in a listwise skill) that an expression or a template reads exists there; no name
  is both an input and an evidence, none is reserved; ``each`` reads a list input or text inputs;
- types, by the tables the checker and the evaluator share (``ir/types.py``, ``ir/functions.py``):
  operators and builtins, ``when`` (true/false) and the reward (a number);
- choices: ``p()``/``vote()``/``expect()`` name a choice (score) evidence, a constant label is one
  of its labels; labels are distinct; ``swap`` only on a pairwise choice of 2 or 3 labels, the tie
  in the middle; a route's labels are its options;
- each evidence's ``deps`` are exactly the evidence it reads, its ``reads`` list only inputs it reads
  and every reference input its prompt shows; no dependency cycle; the plan's ``order`` is a
  topological order of all evidence, once each, split into ``eager``/``lazy``;
- honesty: a ``label`` input reaches no expression, template, ``each``, ``run`` or ``allow``;
- verifiers: registered here (a missing plugin is named), at the version the skill was built with,
  called with the arguments they declare; model aliases are declared;
- what lowering copies from the source as written keeps the source schema's rules
  (``skill.schema.json``): names are identifiers; ``settings``, a model's fields, an evidence's
  ``samples``/``think``/``limits``/``on_failure``;
- bounded work: the regex/json answers' probes share a budget (:data:`_PROBE_BUDGET`), and only
  the first problems get a "did you mean" (each scans every name).

Not checked here: a ``run``'s code reading names outside its ``uses`` and a constant index past an
``each: [...]`` list (an error, a ``na``, per row at run time), whether the plan's eager split is
the one lowering would choose, and which reference inputs a prompt was allowed (the IR records
``reads``, not the source's ``allow``).
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from time import monotonic
from typing import Any

from .constraints import PROBE_SECONDS, engine_problem
from .functions import BUILTINS, resolve_operator
from .schema_messages import did_you_mean, problems
from .types import accepts, describe, element, evidence_value_type, is_list, unify

__all__ = ["verify", "check_program", "RESERVED_NAMES", "tie_misplaced", "lookup_verifier", "known_verifiers",
           "find_cycle"]

# locals, `files` and the expression keywords: an input or evidence with such a name could not be read
RESERVED_NAMES = frozenset({"item", "index", "candidate", "files", "if", "else", "and", "or", "not", "true",
                            "false", "na"})
# swap mirrors a 3-label choice by exchanging its first and last labels (runtime/evidence.py _mirror):
# the labels of a and b must sit there, the tie between. What gives a misplaced tie away:
_SIDE_WORDS = frozenset({"a", "b", "1", "2", "first", "second", "left", "right"})
_TIE_WORDS = frozenset({"tie", "equal", "same", "draw", "neither", "both", "none"})
_MAX_SCORE_VALUES = 101
# a document's regex/json answers share this much probing (each probe alone is bounded by
# PROBE_SECONDS): a .skillc of many slow automata is refused, not minutes of loading
_PROBE_BUDGET = 3 * PROBE_SECONDS
_SUGGESTED = 10  # problems that get a "did you mean": only the first is shown; each costs a scan of the names
# evidence options lowering copies as written: the source's option -> where the IR keeps it
_COPIED_OPTIONS = {"samples": ("samples",), "think": ("think",), "timeout": ("limits", "timeout"),
                   "memory_mb": ("limits", "memory_mb"), "on_failure": ("on_failure",)}
_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!=", "and", "or", "not"})
_SHOWN = {"neg": "-"}


def tie_misplaced(labels) -> bool:
    """Whether a 3-label choice reads as (side, side, tie): its middle label names a response (B,
    second, or the first label's next letter: Response A, Response B) or its last is a tie word."""
    first, middle, last = (label.casefold() for label in labels)
    next_of_first = (0 < len(first) == len(middle) and first[:-1] == middle[:-1]
                     and ord(middle[-1]) == ord(first[-1]) + 1)
    return middle in _SIDE_WORDS or next_of_first or last in _TIE_WORDS


def known_verifiers() -> dict:
    """Every verifier by name; if a built-in module is broken, those registered anyway (plugins)."""
    from ..verifiers import registry

    try:
        return {v.name: v for v in registry.all_verifiers()}
    except ImportError:
        return registry.registered()


def lookup_verifier(name: str):
    """The registered verifier ``name`` or None (a broken built-in module must not stop a build)."""
    return known_verifiers().get(name)


def verify(doc: dict) -> list[str]:
    """Every problem of a schema-valid IR document that the checker would have refused, each
    starting with its place; empty when the program is one the checker accepts."""
    return _Verifier(doc).run()


def check_program(doc: dict) -> None:
    """Raise ``ValueError`` with the first problem :func:`verify` finds (and how many more) in a
    document whose shape is valid (:func:`~skilldsl.ir.program.validate_doc`): what
    :meth:`Program.load <skilldsl.ir.program.Program.load>` applies to every ``.skillc``."""
    from .program import FORMAT

    try:
        found = verify(doc)
    except RecursionError:  # the schema accepts any depth; no source nests this deep
        found = ["an expression is nested too deeply"]
    if found:
        more = f" (and {len(found) - 1} more problem(s))" if len(found) > 1 else ""
        raise ValueError(f"not a valid {FORMAT} program: {found[0]}{more}")


@dataclass
class _Scope:
    """Where an expression or template sits, what it may read, and what its reads are recorded in
    (the owning evidence's ``deps``/``reads``; the reward records nothing)."""

    place: str
    locals: dict
    deps: "set | None" = None
    reads: "set | None" = None
    shown: "set | None" = None  # the reference inputs its templates show


class _Verifier:
    def __init__(self, doc: dict):
        self.doc = doc
        self.inputs: dict = doc["inputs"]
        self.evidence: dict = doc["evidence"]
        self.problems: list[str] = []
        self.deps: dict[str, set] = {}  # evidence -> what it depends on, as found
        self.over_of = {id(n["body"]): n["over"] for n in self.evidence.values() if n["kind"] == "each"}
        self.probe_seconds = 0.0

    def suggest(self, word: str, options) -> str:
        """``did_you_mean`` for the first :data:`_SUGGESTED` problems only: it scans every option,
        and a document of thousands of unknown names must not take minutes to refuse."""
        return did_you_mean(word, options) if len(self.problems) < _SUGGESTED else ""

    def problem(self, place: str, message: str) -> None:
        self.problems.append(f"{place}: {message}")

    def run(self) -> list[str]:
        self.check_names()
        self.check_source_rules()
        self.check_mode()
        for name, node in self.evidence.items():
            self.check_evidence(name, node)
        reward_type = self.typeof(self.doc["reward"], _Scope("reward", self.reward_locals()))
        if not accepts("number", reward_type):
            self.problem("reward", f"the reward must be a number, but this is {describe(reward_type)}")
        self.check_cycles()
        self.check_plan()
        return self.problems

    # -- skill-level rules ------------------------------------------------------------------
    def check_names(self) -> None:
        named = {"skill": [self.doc["skill"]], "input": self.inputs, "evidence": self.evidence,
                 "file": self.doc["files"], "model alias": self.doc["models"]}
        identifier = re.compile(_source_schema()["$defs"]["identifier"]["pattern"])
        for what, names in named.items():
            for name in names:
                if not identifier.fullmatch(name):
                    self.problem(f"{what} {name!r}", "a name is a letter or _, then letters, digits and _")
        for name in self.inputs:
            if name in self.evidence:
                self.problem(f"evidence '{name}'", f"'{name}' is both an input and an evidence")
        for name in [*self.inputs, *self.evidence]:
            if name in RESERVED_NAMES:
                self.problem(f"'{name}'", "a reserved word cannot name an input or evidence")

    def check_source_rules(self) -> None:
        """What lowering copies from the source as written obeys the source schema: ``settings``
        (the runtime reads ``retries`` before any row exists), each model's fields, and each
        evidence's ``samples``, ``think``, ``limits`` and ``on_failure``."""
        rules = _source_schema()
        for key, value in self.doc["settings"].items():
            self.check_rule("settings", key, value, rules["properties"]["settings"]["properties"].get(key))
        for alias, spec in self.doc["models"].items():
            for key, value in spec.items():
                self.check_rule(f"model '{alias}'", key, value,
                                rules["properties"]["models"]["additionalProperties"]["properties"].get(key))
        for name, node in self.evidence.items():
            for option, at in _COPIED_OPTIONS.items():
                value = _get_path(node.get("body", node), at)
                if value is not None:
                    self.check_rule(f"evidence '{name}'", ".".join(at), value,
                                    rules["$defs"]["evidence"]["properties"][option])

    def check_rule(self, place: str, key: str, value: Any, rule: "dict | None") -> None:
        """``value`` (at ``key``) keeps the source schema's ``rule`` (None: the source has none)."""
        from jsonschema import Draft202012Validator

        found = problems(Draft202012Validator(rule), value, root=key) if rule is not None else []
        if found:
            self.problem(place, found[0].message)

    def check_mode(self) -> None:
        mode, candidates = self.doc["mode"], self.doc["candidates"]
        if mode == "pairwise":
            missing = [n for n in ("a", "b") if n not in self.inputs]
            if missing:
                self.problem("mode", f"a pairwise skill compares inputs 'a' and 'b'; missing {', '.join(missing)}")
        if mode != "listwise":
            if candidates is not None:
                self.problem("candidates", "only a listwise skill has candidates")
            return
        spec = self.inputs.get(candidates or "")
        if spec is None or not is_list(spec["type"]) or _is_label(spec):
            self.problem("candidates", f"{candidates!r} must name a visible list input")

    def reward_locals(self) -> dict:
        """``candidate`` in a listwise skill: an element of its candidates list."""
        if self.doc["mode"] != "listwise":
            return {}
        spec = self.inputs.get(self.doc.get("candidates") or "")
        return {"candidate": element(spec["type"]) if spec is not None and is_list(spec["type"]) else "text"}

    # -- evidence ---------------------------------------------------------------------------
    def check_evidence(self, name: str, node: dict) -> None:
        place = f"evidence '{name}'"
        scope = _Scope(place, self.reward_locals(), set(), set(), set())
        body = node
        if node["kind"] == "each":
            self.check_when(node, scope)  # lowering puts `when` on the body; here it has no item
            item = self.check_over(place, node, scope.reads)
            if node["var"] != "item":
                self.problem(place, f"each: the item is called 'item', not {node['var']!r}")
            body = node["body"]
            scope = replace(scope, locals={**scope.locals, "item": item, "index": "integer"})
        self.check_when(body, scope)
        getattr(self, f"check_{body['kind']}")(name, body, scope)
        self.check_allow(place, body)
        self.check_recorded(place, node, scope)
        if body is not node:  # lowering writes the evidence's deps and reads on its body too
            self.check_recorded(f"{place}: body", body, scope)
        self.deps[name] = scope.deps

    def check_when(self, node: dict, scope: _Scope) -> None:
        if node.get("when") is None:
            return
        where = replace(scope, place=f"{scope.place}: when")
        t = self.typeof(node["when"], where)
        if not accepts("bool", t):
            self.problem(where.place, f"'when' must be true/false, but this is {describe(t)}")

    def check_over(self, place: str, node: dict, reads: set) -> str:
        """The type of ``item``: a list input's item type, or text for ``over: [a, b]``."""
        over = node["over"]
        if isinstance(over, str):
            spec = self.read_input(f"{place}: each", over, reads)
            if spec is not None and not is_list(spec["type"]):
                self.problem(f"{place}: each", f"'{over}' is {describe(spec['type'])}, not a list")
            return element(spec["type"]) if spec is not None else "any"
        for name in over:
            spec = self.read_input(f"{place}: each", name, reads)
            if spec is not None and spec["type"] != "text":
                self.problem(f"{place}: each", f"'{name}' is {describe(spec['type'])}; each: [...] takes text inputs")
        return "text"

    def read_input(self, place: str, name: str, reads: "set | None") -> "dict | None":
        """The input ``name`` read at ``place`` (recorded in ``reads``), or None after a problem:
        no such input, or a label input, which reaches no evidence."""
        spec = self.inputs.get(name)
        if spec is None:
            self.problem(place, f"unknown input '{name}'{self.suggest(name, self.inputs)}")
        elif _is_label(spec):
            self.problem(place, f"'{name}' is a label input: labels reach no evidence, prompt or reward")
        else:
            if reads is not None:
                reads.add(name)
            return spec
        return None

    def check_allow(self, place: str, node: dict) -> None:
        """``allow`` (not written by lowering, but read by the runtime) may show no label input."""
        allow = node.get("allow", [])
        if not isinstance(allow, list) or not all(isinstance(n, str) for n in allow):
            self.problem(f"{place}: allow", "must be a list of input names")
            return
        for name in allow:
            self.read_input(f"{place}: allow", name, None)

    def check_recorded(self, place: str, node: dict, scope: _Scope) -> None:
        """``deps`` (what runs first, and what a prompt may show) is exactly what the evidence reads.
        ``reads`` matters to the runtime only as the reference inputs a prompt may show: it lists
        no input the evidence does not read, and every reference input its templates show."""
        if set(node["deps"]) != scope.deps:
            self.problem(place, f"deps lists {_names(set(node['deps']))}, but the evidence reads {_names(scope.deps)}")
        recorded = set(node["reads"])
        for name in sorted(recorded):
            self.read_input(f"{place}: reads", name, None)
        unread = recorded - scope.reads
        if unread:
            self.problem(place, f"reads lists {_names(unread)}, which the evidence does not read")
        hidden = scope.shown - recorded - _allowed(node)
        if hidden:
            self.problem(place, f"a prompt shows reference input(s) {_names(hidden)}, which its reads do not list")

    def check_check(self, name: str, node: dict, scope: _Scope) -> None:
        args = [self.typeof(a, scope) for a in node["args"]]
        kwargs = {k: self.typeof(v, scope) for k, v in node["kwargs"].items()}
        ref = node["verifier"]
        spec = lookup_verifier(ref["name"])
        if spec is None:
            self.problem(scope.place, f"unknown verifier '{ref['name']}'{self.suggest(ref['name'], known_verifiers())}"
                         ": it is not registered here; import the module that registers it "
                         "(--plugin MODULE, $SKILLDSL_PLUGINS or an installed entry point)")
        elif str(ref["version"]) != spec.version:
            self.problem(scope.place, f"verifier {spec.name} is version {spec.version} here, but the skill was "
                         f"built with version {ref['version']}; rebuild it from its .skill")
        else:
            for message in _verifier_arg_problems(spec, args, kwargs):
                self.problem(scope.place, message)

    def check_ask(self, name: str, node: dict, scope: _Scope) -> None:
        self.check_prompt(node, scope)
        self.check_model_alias(node, scope.place)
        self.check_answer(node["answer"], scope.place)
        kind = node["answer"]["type"]
        if node.get("think") and kind not in ("choice", "score"):
            self.problem(scope.place, f"think: only a choice or score answer is read after reasoning, not {kind}")
        if node["swap"]:
            self.check_swap(node, scope.place)

    def check_swap(self, node: dict, place: str) -> None:
        labels = node["answer"].get("labels", ())
        if self.doc["mode"] != "pairwise":
            self.problem(place, "swap: only a pairwise skill can swap a and b")
        elif isinstance(self.each_over(node), list):
            self.problem(place, "swap: each: [...] judges each input alone; there is no order of a and b to swap")
        elif node["answer"]["type"] != "choice" or len(labels) not in (2, 3):
            self.problem(place, "swap needs a choice of 2 labels (A, B) or 3 (A, tie, B)")
        elif len(labels) == 3 and tie_misplaced(labels):
            self.problem(place, f"swap exchanges the first and last labels, so the tie must be in the middle, "
                         f"not {', '.join(labels)}")

    def each_over(self, body: dict) -> Any:
        """The ``over`` of the ``each`` whose body is ``body`` (None: not an each body)."""
        return self.over_of.get(id(body))

    def check_answer(self, answer: dict, place: str) -> None:
        if answer["type"] == "choice":
            labels = answer["labels"]
            if len(labels) < 2 or len(set(labels)) != len(labels) or not all(labels):
                self.problem(f"{place}: answer", f"a choice needs two or more distinct labels, not {labels}")
        elif answer["type"] == "score":
            lo, hi = answer["min"], answer["max"]
            if not lo < hi or hi - lo + 1 > _MAX_SCORE_VALUES:
                self.problem(f"{place}: answer", f"score({lo}, {hi}): need min < max and at most "
                             f"{_MAX_SCORE_VALUES} values")
        elif answer["type"] in ("regex", "json"):
            problem = self.probe(answer)
            if problem is not None:
                self.problem(f"{place}: answer", f"constrained decoding (outlines) cannot use this "
                             f"{answer['type']} answer ({problem})")

    def probe(self, answer: dict) -> "str | None":
        """``engine_problem`` within the document's :data:`_PROBE_BUDGET`."""
        if self.probe_seconds > _PROBE_BUDGET:
            return (f"the document's regex/json answers take over {_PROBE_BUDGET:g} s in all to build; "
                    "no skill needs that many slow automata")
        start = monotonic()
        try:
            return engine_problem(answer)
        finally:
            self.probe_seconds += monotonic() - start

    def check_run(self, name: str, node: dict, scope: _Scope) -> None:
        for used in node["uses"]:
            self.read_input(f"{scope.place}: uses", used, scope.reads)

    def check_route(self, name: str, node: dict, scope: _Scope) -> None:
        for option in node["options"]:
            if option == name or option not in self.evidence:
                self.problem(scope.place, f"route option '{option}' is not another evidence")
            else:
                scope.deps.add(option)
        answer = node["answer"]
        if answer["type"] != "choice" or list(answer["labels"]) != list(node["options"]):
            self.problem(f"{scope.place}: answer", "a route's answer is the choice of its options, in order")
        self.check_answer(answer, scope.place)
        self.check_prompt(node, scope)
        self.check_model_alias(node, scope.place)

    def check_model(self, name: str, node: dict, scope: _Scope) -> None:
        self.check_template(node["input"], replace(scope, place=f"{scope.place}: input"))

    def check_model_alias(self, node: dict, place: str) -> None:
        models = self.doc["models"]
        if node["model"] not in models:
            self.problem(place, f"unknown model alias '{node['model']}'{self.suggest(node['model'], models)}")

    # -- cycles and the plan ---------------------------------------------------------------
    def check_cycles(self) -> None:
        state: dict[str, int] = {}
        for name in self.deps:
            cycle = find_cycle(name, self.deps, state, [])
            if cycle:
                self.problem(f"evidence '{cycle[0]}'", f"evidence cycle: {' -> '.join(cycle)}")
                return

    def check_plan(self) -> None:
        """``order``: every evidence once, after what it depends on; ``eager``/``lazy`` split it."""
        plan, names = self.doc["plan"], sorted(self.evidence)
        order = plan["order"]
        if sorted(order) != names:
            self.problem("plan", f"order must list every evidence exactly once: {_names(set(names))}, "
                         f"not {order}")
        else:
            at = {name: i for i, name in enumerate(order)}
            late = [(n, d) for n in order for d in sorted(self.deps.get(n, ())) if at.get(d, -1) > at[n]]
            if late:
                self.problem("plan", f"order runs '{late[0][0]}' before '{late[0][1]}', which it depends on")
        if sorted(plan["eager"] + plan["lazy"]) != names:
            self.problem("plan", "eager and lazy must split the evidence, each listed once")

    # -- templates --------------------------------------------------------------------------
    def check_prompt(self, node: dict, scope: _Scope) -> None:
        for role, source in node["prompt"].items():
            self.check_template(source, replace(scope, place=f"{scope.place}: prompt.{role}"))

    def check_template(self, source: str, scope: _Scope) -> None:
        """The template parses, uses only what skill templates may, and reads only declared names."""
        from jinja2 import TemplateSyntaxError

        from . import templates

        try:
            tree = templates.parse(source)
        except TemplateSyntaxError as exc:
            self.problem(scope.place, f"template syntax error: {exc.message}")
            return
        refused = templates.refusals(tree)
        if refused:
            self.problem(scope.place, f"line {refused[0].lineno}: {refused[0].message}")
            return
        for name in sorted(templates.free_names(tree)):
            if name == "files":
                self.check_template_files(tree, scope.place)
            elif name not in scope.locals:
                self.read_name(name, scope, "template variable")
                if self.inputs.get(name, {}).get("visibility") == "reference" and scope.shown is not None:
                    scope.shown.add(name)

    def check_template_files(self, tree: Any, place: str) -> None:
        """``files`` is read by name only (``files.rubric``), and each name is declared."""
        from jinja2 import nodes

        named = {}
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            if isinstance(node.node, nodes.Name) and node.node.name == "files":
                key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
                named[id(node.node)] = key if isinstance(key, str) else None
        for node in tree.find_all(nodes.Name):
            if node.name == "files" and node.ctx == "load":
                self.check_file(named.get(id(node)), place)

    def check_file(self, name: "str | None", place: str) -> None:
        files = self.doc["files"]
        if name is None:
            self.problem(place, "use a file by name: files.<name>")
        elif name not in files:
            self.problem(place, f"unknown file '{name}'{self.suggest(name, files)}")

    def read_name(self, name: str, scope: _Scope, what: str) -> str:
        """The type of input or evidence ``name`` read in ``scope`` (recorded), or ``any`` after a problem."""
        if name in self.inputs:
            spec = self.read_input(scope.place, name, scope.reads)
            return spec["type"] if spec is not None else "any"
        if name in self.evidence:
            return self.use_evidence(name, scope)
        from .templates import unavailable

        if name in ("item", "index", "candidate"):
            self.problem(scope.place, f"'{name}' is not defined here")
        else:
            known = [*self.inputs, *self.evidence, *scope.locals]
            self.problem(scope.place, unavailable(name) or f"unknown {what} '{name}'{self.suggest(name, known)}")
        return "any"

    def use_evidence(self, name: str, scope: _Scope) -> str:
        if scope.deps is not None:
            scope.deps.add(name)
        node = self.evidence[name]
        body = node.get("body", node)
        returns = "bool"
        if body["kind"] == "check":
            spec = lookup_verifier(body["verifier"]["name"])
            returns = spec.returns if spec is not None else "bool"
        answer = body.get("answer", {}).get("type")
        return evidence_value_type(body["kind"], answer, returns, fanned=node["kind"] == "each")

    # -- expressions ------------------------------------------------------------------------
    def typeof(self, e: dict, scope: _Scope) -> str:
        """The type of IR expression ``e``; records reads and dependencies; ``any`` after a problem."""
        for key, typer in _TYPERS:
            if key in e:
                return typer(self, e, scope)
        self.problem(scope.place, f"not an expression node: {sorted(e)}")
        return "any"

    def type_const(self, e: dict, scope: _Scope) -> str:
        value = e["const"]
        if isinstance(value, bool):
            return "bool"
        return "integer" if isinstance(value, int) else "number" if isinstance(value, float) else "text"

    def type_input(self, e: dict, scope: _Scope) -> str:
        name = e["input"]
        if name not in self.inputs:
            self.problem(scope.place, f"unknown input '{name}'{self.suggest(name, self.inputs)}")
            return "any"
        return self.read_name(name, scope, "input")

    def type_evidence(self, e: dict, scope: _Scope) -> str:
        name = e["evidence"]
        if name not in self.evidence:
            self.problem(scope.place, f"unknown evidence '{name}'{self.suggest(name, self.evidence)}")
            return "any"
        return self.use_evidence(name, scope)

    def type_local(self, e: dict, scope: _Scope) -> str:
        if e["local"] not in scope.locals:
            self.problem(scope.place, f"'{e['local']}' is not defined here")
            return "any"
        return scope.locals[e["local"]]

    def type_file(self, e: dict, scope: _Scope) -> str:
        self.check_file(e["file"], scope.place)
        return "text"

    def type_get(self, e: dict, scope: _Scope) -> str:
        t = self.typeof(e["get"], scope)
        if t not in ("json", "any"):
            self.problem(scope.place, f"'.{e['key']}' reads a field, but this is {describe(t)}, not JSON")
            return "any"
        return "json"

    def type_index(self, e: dict, scope: _Scope) -> str:
        t, i = self.typeof(e["index"], scope), self.typeof(e["at"], scope)
        if t in ("json", "any"):
            return t
        if not (is_list(t) or t == "text"):
            self.problem(scope.place, f"cannot index {describe(t)}")
            return "any"
        if not accepts("integer", i):
            self.problem(scope.place, f"an index must be an integer, but this is {describe(i)}")
        return element(t) if is_list(t) else "text"

    def type_op(self, e: dict, scope: _Scope) -> str:
        op, args = e["op"], e["args"]
        want = 3 if op == "if" else 1 if op in ("not", "neg") else 2
        if len(args) != want:
            self.problem(scope.place, f"'{_SHOWN.get(op, op)}' takes {want} operand(s), got {len(args)}")
            return "any"
        if op == "if":
            return self.type_if(args, scope)
        types = [self.typeof(a, scope) for a in args]
        result = resolve_operator(op, types)
        if result is None:
            self.problem(scope.place, f"'{_SHOWN.get(op, op)}' does not apply to "
                         f"{' and '.join(describe(t) for t in types)}")
            return "bool" if op in _COMPARISONS else "any"
        return result

    def type_if(self, args: list, scope: _Scope) -> str:
        test, then, orelse = (self.typeof(a, scope) for a in args)
        if not accepts("bool", test):
            self.problem(scope.place, f"the condition of 'if' must be true/false, but this is {describe(test)}")
        result = unify(then, orelse)
        if result is None:
            self.problem(scope.place, f"the branches of 'if' have different types: {describe(then)} and "
                         f"{describe(orelse)}")
            return "any"
        return result

    def type_call(self, e: dict, scope: _Scope) -> str:
        name, args = e["call"], e["args"]
        builtin = BUILTINS.get(name)
        if builtin is None:
            why = ("a verifier is called only as a check evidence" if "." in name else
                   f"unknown function '{name}'{self.suggest(name, BUILTINS)}")
            self.problem(scope.place, why)
            return "any"
        if e.get("kwargs"):
            self.problem(scope.place, f"{name}() takes no keyword arguments")
        arity = builtin.arity_problem(len(args))
        if arity:
            self.problem(scope.place, arity)
            return "any"
        return _CALL_TYPERS.get(name, _type_builtin)(self, e, builtin, scope)

    def distribution(self, e: dict, scope: _Scope, answer: str) -> "tuple[str, dict] | None":
        """(name, ask/route node) of the choice or score evidence ``p``/``vote``/``expect`` reads."""
        name = e["args"][0].get("evidence")
        node = self.evidence.get(name) if isinstance(name, str) else None
        body = node.get("body", node) if node is not None else None
        if body is None or body["kind"] not in ("ask", "route") or body["answer"]["type"] != answer:
            before = len(self.problems)
            self.typeof(e["args"][0], scope)
            if len(self.problems) == before:  # an unknown evidence is reported once, as that
                self.problem(scope.place, f"{e['call']}() takes the name of a {answer} evidence")
            return None
        self.use_evidence(name, scope)
        return name, body


def find_cycle(name: str, deps: dict, state: dict, stack: list) -> "list[str] | None":
    """A dependency cycle through ``name`` (``[n, ..., n]``) or None: a depth-first search over
    ``deps`` (name -> names it depends on); ``state`` marks names 1 = on the stack, 2 = done."""
    if state.get(name) == 2:
        return None
    if state.get(name) == 1:
        return stack[stack.index(name):] + [name]
    state[name] = 1
    stack.append(name)
    for dep in sorted(deps.get(name, ())):
        cycle = find_cycle(dep, deps, state, stack)
        if cycle:
            return cycle
    stack.pop()
    state[name] = 2
    return None


@functools.lru_cache(maxsize=1)
def _source_schema() -> dict:
    """The ``.skill`` schema, whose rules hold for what lowering copies as written."""
    path = Path(__file__).resolve().parent.parent / "schema" / "skill.schema.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _get_path(node: dict, at: tuple) -> Any:
    """``node[at[0]][at[1]]...`` or None where a step is missing."""
    for key in at:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _allowed(node: dict) -> set:
    """The names in a node's ``allow`` (a malformed one is reported by ``check_allow``)."""
    allow = node.get("allow", [])
    return {n for n in allow if isinstance(n, str)} if isinstance(allow, list) else set()


def _names(names: set) -> str:
    return "[" + ", ".join(sorted(names)) + "]"


def _is_label(spec: dict) -> bool:
    return spec.get("visibility") == "label"


def _verifier_arg_problems(spec, args: list, kwargs: dict) -> list[str]:
    """What is wrong with a check's arguments (their types) against the verifier's parameters."""
    positional, by_name = spec.positional, {p.name: p for p in spec.params}
    found = []
    if len(args) > len(positional):
        found.append(f"{spec.name} takes {len(positional)} positional argument(s), got {len(args)}")
    given = [(p, t) for p, t in zip(positional, args)]
    for key, t in kwargs.items():
        param = by_name.get(key)
        if param is None or param in positional[:len(args)]:
            found.append(f"{spec.name}: no parameter '{key}' to give by name")
        else:
            given.append((param, t))
    named = {p.name for p, _ in given}
    missing = [p.name for p in positional if p.name not in named]
    if missing:
        found.append(f"{spec.name} is missing argument(s): {', '.join(missing)}")
    found += [f"{spec.name}: '{p.name}' must be {describe(p.type)}, but this is {describe(t)}"
              for p, t in given if not accepts(p.type, t)]
    return found


# -- builtin call typing (the tables are ir/functions.py's; p/expect/vote read a distribution) --

def _type_builtin(v: _Verifier, e: dict, builtin, scope: _Scope) -> str:
    types = [v.typeof(a, scope) for a in e["args"]]
    for i, t in enumerate(types):
        problem = builtin.argument_problem(i, t)
        if problem is not None:
            v.problem(scope.place, f"{e['call']}(): {problem}")
    result = builtin.result_type(types)
    if result is None:
        v.problem(scope.place, f"{e['call']}(): the arguments have different types "
                  f"({', '.join(map(describe, types))})")
        return "any"
    return result


def _type_p(v: _Verifier, e: dict, builtin, scope: _Scope) -> str:
    found = v.distribution(e, scope, "choice")
    label = e["args"][1]
    t = v.typeof(label, scope)
    if not accepts("text", t):
        v.problem(scope.place, f"p(): the label must be text, but this is {describe(t)}")
    elif found is not None and "const" in label and label["const"] not in found[1]["answer"]["labels"]:
        name, labels = found[0], found[1]["answer"]["labels"]
        v.problem(scope.place, f"p(): label {label['const']!r} is not one of {name}'s labels {', '.join(labels)}")
    return _per_item(v, found, "number")


def _type_expect(v: _Verifier, e: dict, builtin, scope: _Scope) -> str:
    return _per_item(v, v.distribution(e, scope, "score"), "number")


def _type_vote(v: _Verifier, e: dict, builtin, scope: _Scope) -> str:
    return _per_item(v, v.distribution(e, scope, "choice"), "text")


def _per_item(v: _Verifier, found: "tuple | None", base: str) -> str:
    """``base``, or a list of it when the evidence is an ``each`` (one value per item)."""
    return f"list[{base}]" if found is not None and v.evidence[found[0]]["kind"] == "each" else base


def _type_weighted(v: _Verifier, e: dict, builtin, scope: _Scope) -> str:
    if len(e["args"]) % 2:
        v.problem(scope.place, "weighted() takes pairs: weighted(x1, w1, x2, w2, ...)")
    for i, arg in enumerate(e["args"]):
        t = v.typeof(arg, scope)
        if not accepts("number", t):
            role = "weight" if i % 2 else "value"
            v.problem(scope.place, f"weighted(): a {role} must be a number, but this is {describe(t)}")
    return "number"


_CALL_TYPERS = {"p": _type_p, "expect": _type_expect, "vote": _type_vote, "weighted": _type_weighted}

# in the evaluator's order (runtime/evaluate.py _NODES)
_TYPERS = [
    ("const", _Verifier.type_const),
    ("na", lambda v, e, scope: "any"),
    ("input", _Verifier.type_input),
    ("evidence", _Verifier.type_evidence),
    ("local", _Verifier.type_local),
    ("file", _Verifier.type_file),
    ("get", _Verifier.type_get),
    ("index", _Verifier.type_index),
    ("op", _Verifier.type_op),
    ("call", _Verifier.type_call),
]
