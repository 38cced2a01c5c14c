"""Evidence coroutines, one per kind: ``check``, ``ask``, ``each``, ``run``, ``route``, ``model``.

Each is a generator driven by :class:`~skilldsl.runtime.scheduler.Scheduler`: it yields what it
waits for (other evidence, LLM requests, verifier calls) and returns an
:class:`~skilldsl.runtime.evaluate.Outcome`. Failures become error values with reasons.
"""
from __future__ import annotations

import json
import math
import re
from types import MappingProxyType
from typing import Any, Callable, Generator

from ..data import MAX_DEPTH, AnyOf, deeper_than, list_reference_refused
from ..ir.types import describe, value_accepts
from ..values import Value, error, na, ok
from .backends.base import ChoiceRequest, GenerateRequest
from .evaluate import TYPE_ERROR, Outcome, Pending, evaluate
from .render import RenderError, render_messages, render_text
from .result import plain
from .scheduler import Job, JobOutcome, Need, Spawn
from .unknowns import render_failure, shown

__all__ = ["compute", "evaluate_all", "softmax"]

Co = Generator[Any, Any, Outcome]


class _Memo:
    """Facts about IR nodes that are the same for every sample, keyed by the identity of the
    objects they derive from. Each entry holds its key objects, so their ids cannot be reused
    while it is cached; the memo is emptied when full (programs come and go in tests)."""

    def __init__(self, size: int = 2048):
        self._entries: dict[tuple, tuple] = {}
        self._size = size

    def lookup(self, keys: tuple, make: Callable[[], Any], keep: Callable[[Any], bool] = lambda v: True) -> Any:
        """The value cached for these objects, else ``make()`` (cached if ``keep`` says so)."""
        ids = tuple(map(id, keys))
        hit = self._entries.get(ids)
        if hit is not None:
            return hit[1]
        value = make()
        if keep(value):
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[ids] = (keys, value)
        return value


_VIEWS = _Memo()   # (program doc, ask/route/model node) -> what its prompt may read
_CHECKS = _Memo()  # check node -> (verifier spec, argument expressions, kwarg names)


def evaluate_all(exprs: list, row: Any, locals_: dict) -> Generator[Any, Any, list[Value]]:
    """Evaluate expressions, demanding (all at once) the evidence they are pending on."""
    while True:
        env = row.env(locals_)
        results = [evaluate(e, env) for e in exprs]
        names = set()
        for r in results:
            if isinstance(r, Pending):
                names |= r.names
        if not names:
            return results
        yield Need(tuple(sorted(names)))


def compute(row: Any, node: dict, locals_: dict) -> Co:
    """Compute one evidence node (top level or an ``each`` body) for ``row``."""
    # a route's options are in its deps for plan ordering, but only the chosen one may run
    deps = tuple(d for d in node.get("deps", ()) if d not in node.get("options", ()))
    if deps:
        yield Need(deps)
    skipped = yield from _when(row, node, locals_)
    if skipped is not None:
        skipped.kind = node["kind"]
        return skipped
    handler = _KINDS.get(node["kind"])
    if handler is None:
        return Outcome(error(f"unknown evidence kind {node['kind']!r}"), node["kind"])
    outcome = yield from handler(row, node, locals_)
    outcome.kind = node["kind"]
    return outcome


def _when(row: Any, node: dict, locals_: dict) -> Generator[Any, Any, "Outcome | None"]:
    """None if the evidence applies; else its outcome (``na`` "when: false", or an error)."""
    if node.get("when") is None:
        return None
    (cond,) = yield from evaluate_all([node["when"]], row, locals_)
    if cond.is_ok and cond.value is True:
        return None
    if cond.is_ok and cond.value is False:
        return Outcome(na("when: false"), skipped="when: false")
    if cond.is_na:
        return Outcome(na(f"when: na ({cond.reason})"), skipped="when: na")
    if cond.is_error:
        return Outcome(error(f"when: {cond.reason}"))
    return Outcome(error(f"when must be true or false, not {cond.value!r}"))


def _first_unknown(values: list[Value], what: str) -> "Outcome | None":
    bad = next((v for v in values if v.is_error), None) or next((v for v in values if v.is_na), None)
    if bad is None:
        return None
    return Outcome(Value(bad.status, None, f"{what}: {bad.reason}"))


def _from_verdict(out: JobOutcome) -> Outcome:
    if out.failure is not None:
        return Outcome(error(out.failure), seconds=out.seconds)
    v = out.result
    return Outcome(Value(v.status, v.value, v.reason), detail=dict(v.detail or {}), seconds=out.seconds)


# -- check ----------------------------------------------------------------------------------


def _check(row: Any, node: dict, locals_: dict) -> Co:
    # a verifier that is not (yet) registered is looked up again next time: a plugin may add it
    found = _CHECKS.lookup((node,), lambda: _verifier_call(node), keep=lambda v: not isinstance(v, Outcome))
    if isinstance(found, Outcome):
        return found
    spec, exprs, keys = found
    values = yield from evaluate_all(exprs, row, locals_)
    bad = _first_unknown(values, "argument")
    if bad is not None:
        return bad
    n = len(node.get("args", []))
    args, kwargs = [v.value for v in values[:n]], dict(zip(keys, (v.value for v in values[n:])))
    (out,) = yield [Job("verify", (spec, args, kwargs))]
    outcome = _from_verdict(out)
    value = outcome.value
    if value.is_ok and not value_accepts(spec.returns, value.value):  # what the checker typed it as
        outcome.value = error(f"{TYPE_ERROR}{spec.name} returned {value.value!r}, but it declares "
                              f"{describe(spec.returns)}")
    return outcome


def _verifier_call(node: dict) -> "tuple | Outcome":
    """(spec, argument expressions, kwarg names) of a check node, or the error outcome."""
    from ..verifiers import registry

    ref = node["verifier"]
    spec = registry.get(ref["name"])
    if spec is None:
        return Outcome(error(f"unknown verifier {ref['name']!r}"))
    if str(ref.get("version", spec.version)) != spec.version:
        # the reward id promised this version; another one could score differently
        return Outcome(error(f"verifier {spec.name} is version {spec.version}, the skill was built with {ref['version']}"))
    keys = sorted(node.get("kwargs", {}))
    return spec, list(node.get("args", [])) + [node["kwargs"][k] for k in keys], keys


# -- run --------------------------------------------------------------------------------------


def _run(row: Any, node: dict, locals_: dict) -> Co:
    missing = next((n for n in node.get("uses", []) if n in row.inputs and not row.inputs[n].is_ok), None)
    if missing is not None:  # the code never sees None for an absent input: the evidence does not apply
        return Outcome(row.inputs[missing].with_reason(f"uses: {missing!r}"))
    inputs = {n: (row.inputs[n].value if n in row.inputs else locals_.get(n)) for n in node.get("uses", [])}
    inputs.update({k: v for k, v in locals_.items() if not isinstance(v, Value)})  # item, index, candidate
    listed = next((n for n, v in inputs.items() if isinstance(v, AnyOf)), None)
    if listed is not None:  # the code would get the text "D or J" and could take it for an answer
        return Outcome(error(list_reference_refused(f"uses: {listed!r}", inputs[listed])))
    payload = (node["code"], inputs, dict(node.get("limits", {})))
    if "on_failure" in node:  # the value of a run that did not finish (see sandbox/code.py)
        payload += (node["on_failure"],)
    (out,) = yield [Job("run", payload)]
    return _from_verdict(out)


# -- model --------------------------------------------------------------------------------------


def _model(row: Any, node: dict, locals_: dict) -> Co:
    """A scalar reward model scores the rendered ``input``; the value is its reward."""
    try:
        text = render_text(node["input"], template_context(row, node, locals_))
    except RenderError as exc:
        return _render_error(exc)
    (out,) = yield [Job("reward_model", text, node["model"])]
    if out.failure is not None:
        return Outcome(error(out.failure), seconds=out.seconds)
    score = out.result
    return Outcome(ok(float(score.value)), detail={"truncated": bool(score.truncated)},
                   tokens_in=int(score.tokens_in), seconds=out.seconds)


# -- each --------------------------------------------------------------------------------------


def _each(row: Any, node: dict, locals_: dict) -> Co:
    """One body per item of ``over``: a list input's items, or (``over`` a list of input names,
    ``each: [a, b]``) those inputs' values; a missing one makes the evidence na, as a missing list does."""
    names = node["over"] if isinstance(node["over"], list) else [node["over"]]
    values = [row.inputs[n] if n in row.inputs else locals_.get(n, error(f"unknown input {n!r}")) for n in names]
    bad = next((v for v in values if not v.is_ok), None)
    if bad is not None:
        return Outcome(bad)
    over = ok([v.value for v in values]) if isinstance(node["over"], list) else values[0]
    if not isinstance(over.value, list):
        return Outcome(error(f"each: {node['over']!r} is not a list"))
    var = node.get("var", "item")
    children = [compute(row, node["body"], {**locals_, var: item, "index": i}) for i, item in enumerate(over.value)]
    outs = yield Spawn(children)
    items = [{"status": o.value.status, "value": o.value.value, "reason": o.value.reason,
              "skipped": o.skipped, **o.detail} for o in outs]
    return Outcome(
        ok([o.value for o in outs]),
        detail={"items": items, "truncated": any(o.detail.get("truncated") for o in outs)},
        tokens_in=sum(o.tokens_in for o in outs),
        tokens_out=sum(o.tokens_out for o in outs),
        seconds=sum(o.seconds for o in outs),
    )


# -- ask -------------------------------------------------------------------------------------


def softmax(logprobs: "list[float] | tuple[float, ...]") -> list[float]:
    """Normalise option log-probabilities into a distribution over the options."""
    top = max(logprobs)
    exps = [math.exp(x - top) if math.isfinite(x) else 0.0 for x in logprobs]
    total = sum(exps)
    return [e / total for e in exps]


def answer_labels(answer: dict) -> list[str]:
    """The options of a choice (its labels) or a score (the integers as text)."""
    if answer["type"] == "score":
        return [str(i) for i in range(int(answer["min"]), int(answer["max"]) + 1)]
    return [str(x) for x in answer["labels"]]


def _mirror(dist: list[float], answer: dict) -> list[float]:
    """Map a distribution asked with a and b exchanged back to the original order:
    a choice swaps its first and last labels; a score is reversed (s -> min + max - s)."""
    if answer["type"] == "score":
        return list(reversed(dist))
    out = list(dist)
    out[0], out[-1] = dist[-1], dist[0]
    return out


def template_context(row: Any, node: dict, locals_: dict, swapped: bool = False) -> dict:
    """What a prompt may read: visible inputs (+ allowed reference inputs), files,
    the values of the evidence it depends on, and locals. Label inputs never."""
    # the compiler checked visibility: a reference input it lets a prompt read is in its
    # `reads` (or `allow`); anything else stays out of the context, label inputs always do
    names, files = _VIEWS.lookup((row.program.doc, node), lambda: _prompt_view(row.program, node))
    ctx: dict[str, Any] = {name: shown(row.inputs[name], name) for name in names}
    if swapped:
        ctx["a"], ctx["b"] = ctx.get("b"), ctx.get("a")
    ctx["files"] = files
    for dep in node.get("deps", []):
        if dep in row.outcomes:
            value = row.outcomes[dep].value
            ctx[dep] = plain(value) if value.is_ok else shown(value, dep)
    ctx.update(locals_)
    return ctx


def _render_error(exc: RenderError) -> Outcome:
    """A failed render: na or error as the unknown value it met, else an error with jinja's message."""
    return Outcome(render_failure(exc) or error(str(exc)))


def _prompt_view(program: Any, node: dict) -> tuple:
    """(names of the inputs ``node``'s prompt may read, the read-only files mapping): the
    same for every sample, so computed once per program and node."""
    allowed = set(node.get("allow", ())) | set(node.get("reads", ()))
    names = tuple(name for name, spec in program.inputs.items()
                  if _shown(spec.get("visibility", "visible"), name, allowed))
    files = MappingProxyType({k: f.get("text", "") for k, f in program.doc.get("files", {}).items()})
    return names, files


def _shown(visibility: str, name: str, allowed: set) -> bool:
    """Label inputs never reach a prompt; reference inputs only where read or allowed."""
    return not (visibility == "label" or (visibility == "reference" and name not in allowed))


def _orders(row: Any, node: dict, locals_: dict) -> list[tuple[dict, ...]]:
    """The rendered messages of each order (original, then swapped if ``swap``)."""
    orders = [False, True] if node.get("swap") else [False]
    return [render_messages(node["prompt"], template_context(row, node, locals_, s)) for s in orders]


def _failed(outs: list[JobOutcome], row: Any) -> "Outcome | None":
    """An error outcome if a request failed, or was truncated under ``truncate: error``."""
    bad = next((o for o in outs if o.failure is not None), None)
    if bad is not None:
        return Outcome(error(bad.failure), seconds=sum(o.seconds for o in outs))
    policy = row.program.doc.get("settings", {}).get("truncate")
    if policy == "error" and any(o.result.truncated for o in outs):
        return Outcome(error("the prompt is longer than the model context (truncate: error)"), **_costs(outs))
    return None


def _flags(outs: list[JobOutcome]) -> dict:
    """Trace flags of an ask: was any prompt truncated, were all answers served from the cache; and
    ``sampled`` (only when set): how many sampled answers stand in for model probabilities."""
    flags = {"truncated": any(o.result.truncated for o in outs),
             "cached": bool(outs) and all(getattr(o.result, "cached", False) for o in outs)}
    votes = sum(getattr(o.result, "sampled", 0) for o in outs)
    if votes:
        flags["sampled"] = votes
    return flags


def _costs(outs: list[JobOutcome]) -> dict:
    return {
        "tokens_in": sum(o.result.tokens_in for o in outs),
        "tokens_out": sum(o.result.tokens_out for o in outs),
        "seconds": sum(o.seconds for o in outs),
    }


def _ask(row: Any, node: dict, locals_: dict) -> Co:
    try:
        orders = _orders(row, node, locals_)
    except RenderError as exc:
        return _render_error(exc)
    if node["answer"]["type"] in ("choice", "score"):
        return (yield from _ask_distribution(row, node, orders))
    return (yield from _ask_generate(row, node, orders))


def _regex_of(labels: list[str]) -> dict:
    return {"type": "regex", "pattern": "|".join(re.escape(x) for x in labels)}


def _ask_distribution(row: Any, node: dict, orders: list) -> Co:
    """Choice / score: one forward per order gives the distribution; ``samples`` > 1 samples
    constrained answers instead and the distribution is the vote frequencies. With ``think`` the
    judge reasons first, once per sample, and the distributions read after each reasoning are
    averaged (RRM's parallel + sequential scaling); the reasoning texts are in the trace."""
    answer, samples = node["answer"], int(node.get("samples", 1) or 1)
    labels = answer_labels(answer)
    jobs = _distribution_jobs(row, node, orders, labels, samples)
    outs = yield jobs
    failed = _failed(outs, row)
    if failed is not None:
        return failed
    per_order = [_order_distribution(outs[i * samples:(i + 1) * samples], labels) for i in range(len(orders))]
    if any(d is None for d in per_order):
        return Outcome(error(f"the model's answers are none of the labels {labels}"), **_costs(outs))
    dists = [per_order[0]] + [_mirror(d, answer) for d in per_order[1:]]
    avg = [sum(col) / len(dists) for col in zip(*dists)]
    detail = {"distribution": dict(zip(labels, avg)), **_flags(outs)}
    if len(orders) > 1:
        detail["orders"] = [dict(zip(labels, d)) for d in per_order]
    if node.get("think"):
        detail["reasoning"] = [o.result.reasoning for o in outs]  # per order, then per sample
    elif samples > 1:
        detail["samples"] = [o.result.text for o in outs]
    best = labels[max(range(len(labels)), key=lambda i: avg[i])]
    value = int(best) if answer["type"] == "score" else best
    return Outcome(ok(value), detail=detail, **_costs(outs))


def _distribution_jobs(row: Any, node: dict, orders: list, labels: list[str], samples: int) -> list[Job]:
    model = node.get("model", "default")
    if node.get("think"):
        return _reasoning_jobs(row, node, orders, labels, samples)
    if samples == 1:
        return [Job("choice", ChoiceRequest(m, tuple(labels)), model) for m in orders]
    dec = node.get("decoding", {})
    temperature, seed = _sampling(row, node)
    # a label may take several tokens; a token is at least one character
    max_tokens = max(int(dec.get("max_tokens", 1)), max(len(x) for x in labels) + 1)
    return [
        Job("generate", GenerateRequest(m, _regex_of(labels), max_tokens, temperature, seed + k), model)
        for m in orders
        for k in range(samples)
    ]


def _sampling(row: Any, node: dict) -> tuple[float, int]:
    """(temperature, seed) of an ask's sampled answers or reasoning; sample k uses seed + k."""
    dec = node.get("decoding", {})
    temperature = float(dec.get("temperature", row.program.doc.get("settings", {}).get("temperature", 0.0)))
    return temperature, int(dec.get("seed", 0))


def _reasoning_jobs(row: Any, node: dict, orders: list, labels: list[str], samples: int) -> list[Job]:
    """One choice request per order and sample, each reasoning up to ``think`` tokens first."""
    temperature, seed = _sampling(row, node)
    think, model = int(node["think"]), node.get("model", "default")
    return [Job("choice", ChoiceRequest(m, tuple(labels), think, temperature, seed + k), model)
            for m in orders for k in range(samples)]


def _order_distribution(outs: list[JobOutcome], labels: list[str]) -> "list[float] | None":
    """The mean softmax of choice results (one, or one per reasoning sample), or the vote
    frequencies of sampled answers (None if no answer is a label: a backend broke its constraint)."""
    if all(hasattr(o.result, "logprobs") for o in outs):
        dists = [softmax(o.result.logprobs) for o in outs]
        return [sum(col) / len(dists) for col in zip(*dists)]
    texts = [o.result.text.strip() for o in outs]
    votes = [texts.count(label) for label in labels]
    return [v / sum(votes) for v in votes] if sum(votes) else None


def _ask_generate(row: Any, node: dict, orders: list) -> Co:
    """Regex / json / text answers: generated under the constraint; with ``samples`` > 1
    the value is the most common answer (all kept in the detail)."""
    answer, dec = node["answer"], node.get("decoding", {})
    samples, model = int(node.get("samples", 1) or 1), node.get("model", "default")
    max_tokens = int(answer.get("max_tokens") or dec.get("max_tokens", 256))
    jobs = [
        Job("generate", GenerateRequest(m, dict(answer), max_tokens, float(dec.get("temperature", 0.0)),
                                        int(dec.get("seed", 0)) + k), model)
        for m in orders[:1]  # swapping a and b has no mirror for free-form answers
        for k in range(samples)
    ]
    outs = yield jobs
    failed = _failed(outs, row)
    if failed is not None:
        return failed
    texts = [o.result.text for o in outs]
    best = max(texts, key=texts.count)
    detail = _flags(outs)
    if samples > 1:
        detail["samples"] = texts
    return Outcome(_parse_answer(best, answer), detail=detail, **_costs(outs))


def _parse_answer(text: str, answer: dict) -> Value:
    if answer["type"] != "json":
        return ok(text)
    too_deep = error(f"the model's JSON answer is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text)
    except ValueError as exc:
        return error(f"the model's answer is not valid JSON: {exc}")
    except RecursionError:  # deeper than even the decoder goes
        return too_deep
    # the trace and every reader of the value recurse: a deeper one fails this row here, not the batch
    return too_deep if deeper_than(value) else ok(value)


# -- route ----------------------------------------------------------------------------------


def _route(row: Any, node: dict, locals_: dict) -> Co:
    """The judge picks one of the named evidence (a constrained choice over their names). The
    route is a choice evidence: its value is the chosen name, ``p(route, name)`` the probability
    of picking it. The reward consults the chosen evidence (``exact if pick == "exact" else ...``),
    so only that one runs."""
    try:
        messages = render_messages(node["prompt"], template_context(row, node, locals_))  # a route never swaps
    except RenderError as exc:
        return _render_error(exc)
    labels = [str(x) for x in node.get("answer", {}).get("labels") or node["options"]]
    outs = yield [Job("choice", ChoiceRequest(messages, tuple(labels)), node.get("model", "default"))]
    failed = _failed(outs, row)
    if failed is not None:
        return failed
    dist = softmax(outs[0].result.logprobs)
    chosen = labels[max(range(len(labels)), key=lambda i: dist[i])]
    detail = {"chosen": chosen, "distribution": dict(zip(labels, dist)), **_flags(outs)}
    return Outcome(ok(chosen), detail=detail, **_costs(outs))


_KINDS = {"check": _check, "ask": _ask, "each": _each, "run": _run, "route": _route, "model": _model}
