"""Lowering: the checked skill AST to the IR document (``skilldsl-ir/2``, docs/internals.md).

Besides translating nodes, lowering computes each evidence's cost and the plan: a
topological order by (cost, name), and the eager/lazy split. An evidence is eager when it
is cheap (cost <= 10), has no ``when`` and is demanded on every evaluation path of the
reward (a static analysis: names reached outside the branches of ``if``, the right side of
``and``/``or`` and the later arguments of ``first``/``default``), and everything it depends
on is eager too.
"""
from __future__ import annotations

import heapq
from pathlib import Path

from ..errors import InternalError
from ..ir import FORMAT, Program
from ..ir.functions import BUILTINS, LAZY_OPERATORS
from .ast import Answer, Evidence, Skill
from .checker import Analysis
from .expr import NA, Attr, Binary, Call, Cond, Const, Expr, Index, Name, Unary
from .tests_section import lower_tests

__all__ = ["lower", "lower_expr", "demanded", "EAGER_MAX_COST"]

EAGER_MAX_COST = 10
_BASE_COST = {"check": 1, "run": 10, "model": 50}
_EACH_FACTOR = 4          # unknown list length: assume a few items
_CHOICE_TOKENS = 1        # choices and scores are read from one forward's logits
_DEFAULT_MAX_TOKENS = 256
_THINK_TOKENS_PER_CALL = 64  # reasoning tokens that cost about one more judge call (the plan's cost)
_LOCALS = ("item", "index", "candidate")


def lower(skill: Skill, analysis: Analysis) -> Program:
    """The :class:`Program` for a checked skill (reward id filled in)."""
    evidence = {name: _evidence(skill, ev, analysis) for name, ev in skill.evidence.items()}
    reward = lower_expr(skill.reward, skill)
    doc = {
        "format": FORMAT,
        "skill": skill.name,
        "version": skill.version,
        "mode": skill.mode,
        "about": skill.about,
        "source": Path(skill.file).name,
        "inputs": {n: {"type": i.type, "optional": i.optional, "visibility": i.visibility}
                   for n, i in skill.inputs.items()},
        "files": {n: {"path": f.path, "sha256": f.sha256, "text": f.text} for n, f in skill.files.items()},
        "models": {a: _model(m) for a, m in skill.models.items()},
        "settings": _settings(skill.settings),
        "candidates": skill.candidates,
        "evidence": evidence,
        "reward": reward,
        "plan": plan(evidence, reward),
    }
    if skill.tests:  # outside the reward id (ir/program.py); absent when there are none
        doc["tests"] = lower_tests(skill)
    return Program.from_doc(doc)


def _settings(settings: dict) -> dict:
    out = dict(settings)
    out["temperature"] = float(out["temperature"])
    return out


def _model(m) -> dict:
    out = {"id": m.id}
    for key in ("dtype", "device", "max_context", "backend"):
        if getattr(m, key) is not None:
            out[key] = getattr(m, key)
    return out


# -- expressions ---------------------------------------------------------------------

def lower_expr(e: Expr, skill: Skill) -> dict:
    """An expression as IR JSON (no spans)."""
    return _LOWER[type(e)](e, skill)


def _name(e: Name, skill: Skill) -> dict:
    if e.id in _LOCALS and e.id not in skill.inputs:
        return {"local": e.id}
    if e.id in skill.inputs:
        return {"input": e.id}
    if e.id in skill.evidence:
        return {"evidence": e.id}
    raise InternalError(f"unresolved name {e.id!r} reached lowering")


def _attr(e: Attr, skill: Skill) -> dict:
    if isinstance(e.obj, Name) and e.obj.id == "files":
        return {"file": e.name}
    return {"get": lower_expr(e.obj, skill), "key": e.name}


def _arguments(e: Call, skill: Skill) -> dict:
    """A call's ``args`` and ``kwargs``: of a builtin call, or of a ``check``'s verifier."""
    return {"args": [lower_expr(a, skill) for a in e.args],
            "kwargs": {k: lower_expr(v, skill) for k, v in e.kwargs}}


def _call(e: Call, skill: Skill) -> dict:
    return {"call": e.func, **_arguments(e, skill)}


_LOWER = {
    Const: lambda e, s: {"const": e.value},
    NA: lambda e, s: {"na": True},
    Name: _name,
    Attr: _attr,
    Index: lambda e, s: {"index": lower_expr(e.obj, s), "at": lower_expr(e.index, s)},
    Unary: lambda e, s: {"op": e.op, "args": [lower_expr(e.operand, s)]},
    Binary: lambda e, s: {"op": e.op, "args": [lower_expr(e.left, s), lower_expr(e.right, s)]},
    Cond: lambda e, s: {"op": "if", "args": [lower_expr(x, s) for x in (e.test, e.then, e.orelse)]},
    Call: _call,
}


# -- evidence ------------------------------------------------------------------------

def _evidence(skill: Skill, ev: Evidence, analysis: Analysis) -> dict:
    common = {"deps": list(analysis.deps[ev.name]), "reads": list(analysis.reads[ev.name])}
    body = {"kind": ev.kind, "when": None if ev.when is None else lower_expr(ev.when, skill), **common}
    body.update(_KIND[ev.kind](skill, ev, analysis))
    body["cost"] = _cost(ev, skill)
    if ev.each is None:
        return body
    # `each: [a, b]` lowers to the list of input names: the runtime builds one item per input
    over = list(ev.each) if isinstance(ev.each, tuple) else ev.each
    return {"kind": "each", "over": over, "var": "item", "body": body, "when": None,
            "cost": body["cost"] * _fan_out(ev), **common}


def _cost(ev: Evidence, skill: Skill) -> int:
    if ev.kind == "ask":
        return _ask_cost(ev)
    if ev.kind == "route":
        return 100 + max((_total_cost(skill.evidence[o], skill) for o in ev.options), default=0)
    return _BASE_COST[ev.kind]


def _ask_cost(ev: Evidence) -> int:
    """100 a judge call, times the samples and the orders; reasoning adds 100 per 64 tokens of budget."""
    return 100 * (1 + ev.think // _THINK_TOKENS_PER_CALL) * ev.samples * (2 if ev.swap else 1)


def _total_cost(ev: Evidence, skill: Skill) -> int:
    return _cost(ev, skill) * _fan_out(ev)


def _fan_out(ev: Evidence) -> int:
    """How many times ``each`` runs the body: known for a list of inputs, guessed for a list input."""
    if ev.each is None:
        return 1
    return len(ev.each) if isinstance(ev.each, tuple) else _EACH_FACTOR


def _check(skill: Skill, ev: Evidence, analysis: Analysis) -> dict:
    spec = analysis.verifiers[ev.name]
    return {"verifier": {"name": spec.name, "version": spec.version}, **_arguments(ev.check, skill)}


def _decoding(skill: Skill, ev: Evidence) -> dict:
    temperature = ev.temperature if ev.temperature is not None else skill.settings["temperature"]
    if ev.answer.type in ("choice", "score"):
        max_tokens = _CHOICE_TOKENS
    else:
        max_tokens = ev.answer.max_tokens or ev.max_tokens or _DEFAULT_MAX_TOKENS
    return {"temperature": float(temperature), "max_tokens": max_tokens, "seed": skill.settings["seed"]}


def answer_json(answer: Answer, max_tokens: int) -> dict:
    """The backend-neutral output constraint of an ask."""
    if answer.type == "choice":
        return {"type": "choice", "labels": list(answer.labels)}
    if answer.type == "score":
        return {"type": "score", "min": answer.min, "max": answer.max}
    if answer.type == "regex":
        return {"type": "regex", "pattern": answer.pattern}
    if answer.type == "json":
        return {"type": "json", "schema": answer.schema}
    return {"type": "text", "max_tokens": max_tokens}


def _prompt(ev: Evidence) -> dict:
    return {role: t.source for role, t in ev.prompt.items()}


def _ask(skill: Skill, ev: Evidence, analysis: Analysis) -> dict:
    decoding = _decoding(skill, ev)
    node = {"prompt": _prompt(ev), "answer": answer_json(ev.answer, decoding["max_tokens"]),
            "samples": ev.samples, "swap": ev.swap, "model": ev.model, "decoding": decoding}
    if ev.think:  # absent when 0: the IR, and reward id, of a skill without reasoning stay as they were
        node["think"] = ev.think
    return node


def _run(skill: Skill, ev: Evidence, analysis: Analysis) -> dict:
    node = {"code": ev.code, "uses": sorted(ev.uses), "limits": {"timeout": ev.timeout, "memory_mb": ev.memory_mb}}
    if ev.on_failure is not None:  # absent: a run that does not finish is an error
        node["on_failure"] = ev.on_failure
    return node


def _route(skill: Skill, ev: Evidence, analysis: Analysis) -> dict:
    return {"options": list(ev.options), "prompt": _prompt(ev), "answer": answer_json(ev.answer, 1),
            "model": ev.model, "decoding": _decoding(skill, ev)}


def _model_kind(skill: Skill, ev: Evidence, analysis: Analysis) -> dict:
    return {"model": ev.model, "input": ev.input.source}


_KIND = {"check": _check, "ask": _ask, "run": _run, "route": _route, "model": _model_kind}


# -- plan ----------------------------------------------------------------------------

def plan(evidence: dict, reward: dict) -> dict:
    """Topological (cost, name) order and the eager/lazy split (see the module doc)."""
    order = _topological(evidence)
    always = demanded(reward)
    eager: list[str] = []
    for name in order:  # dependencies come first, so their eagerness is known
        node = evidence[name]
        if (name in always and node["cost"] <= EAGER_MAX_COST and _unconditional(node)
                and all(d in eager for d in node["deps"])):
            eager.append(name)
    return {"order": order, "eager": eager, "lazy": [n for n in order if n not in eager]}


def _unconditional(node: dict) -> bool:
    return node.get("when") is None and node.get("body", {}).get("when") is None


def _topological(evidence: dict) -> list[str]:
    waiting = {name: set(node["deps"]) for name, node in evidence.items()}
    ready = [(node["cost"], name) for name, node in evidence.items() if not waiting[name]]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for other, deps in waiting.items():
            if name in deps:
                deps.discard(name)
                if not deps:
                    heapq.heappush(ready, (evidence[other]["cost"], other))
    if len(order) != len(evidence):
        raise InternalError("evidence cycle reached lowering")
    return order


def demanded(e: dict) -> set:
    """Evidence names every evaluation of the IR expression ``e`` reaches (what the eager plan may
    run up front). Which operands an operator or builtin always evaluates comes from the same
    table the evaluator follows (``ir/functions.py``)."""
    if "evidence" in e:
        return {e["evidence"]}
    if "get" in e:
        return demanded(e["get"])
    if "index" in e:
        return demanded(e["index"]) | demanded(e["at"])
    args = e.get("args", [])
    if e.get("op") == "if":
        return demanded(args[0]) | (demanded(args[1]) & demanded(args[2]))
    if e.get("op") in LAZY_OPERATORS:
        return demanded(args[0])  # and / or: the right side may be short-circuited
    if "call" in e and e["call"] in BUILTINS:
        args = args[BUILTINS[e["call"]].always_evaluated]
    out: set = set()
    for arg in list(args) + list(e.get("kwargs", {}).values()):
        out |= demanded(arg)
    return out
