"""Ask a skill about benchmark items without leaking the label.

The judge builds sample dicts from an item's visible fields, restricted to the inputs the
skill declares (never ``label``-visibility inputs, never ids or hidden fields). For pairwise
skills every comparison's orientation is a coin seeded by ``(seed, item id, pair)`` — the
label plays no part — or both orders are asked (``both_orders``) and averaged; the skill's
P(a better) is mapped back to the candidate it concerns.

Each item is evaluated by a generator that yields lists of samples and receives their
results, so :func:`drive` can batch the samples of many items (and each knockout round)
into one ``scorer.score`` call.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from typing import Generator

from . import benchmarks as bm
from . import tournament as tour
from .items import EvalError, EvalItem, UsageError

__all__ = ["SkillInfo", "describe", "JudgeOptions", "Judge", "drive", "METHODS", "default_method", "disagrees",
           "trace_record", "MAX_TRACES"]

METHODS = ("argmax", "knockout", "round-robin")


@dataclass(frozen=True)
class SkillInfo:
    """What the evaluator needs to know about a scorer: name, mode, declared inputs, reward id."""

    name: str
    mode: str
    inputs: dict
    reward_id: str
    candidates: "str | None" = None  # listwise: the list input holding the candidates


def describe(scorer) -> SkillInfo:
    """Read a scorer's :class:`SkillInfo` from its ``program`` (a runtime Skill) or from
    ``name``/``mode``/``inputs``/``reward_id`` attributes (a test double)."""
    source = getattr(scorer, "program", None) or scorer
    doc = getattr(source, "doc", None)
    get = (lambda k, d=None: doc.get(k, d)) if isinstance(doc, dict) else (lambda k, d=None: getattr(source, k, d))
    inputs = {k: (v if isinstance(v, dict) else {"type": v}) for k, v in (get("inputs") or {}).items()}
    return SkillInfo(name=str(get("skill") or get("name") or "skill"), mode=str(get("mode") or "pointwise"),
                     inputs=inputs, reward_id=str(get("reward_id") or ""), candidates=get("candidates"))


@dataclass(frozen=True)
class JudgeOptions:
    """How items are put to the skill."""

    seed: int = 0
    both_orders: bool = False
    tie_margin: float = 0.0          # |P(a better) - 0.5| <= margin predicts a tie
    method: "str | None" = "argmax"  # best-of-N selection: argmax | knockout | round-robin; None: default_method
    rating: str = "bt"               # round-robin ratings: bt | elo | borda
    votes: int = 1                   # ask each comparison this many times (majority decides)
    withhold: tuple = field(default_factory=tuple)  # visible fields never to pass (e.g. reference)


def default_method(mode: str) -> str:
    """The best-of-N selection a skill of ``mode`` can serve when none is asked for: a pairwise
    skill plays a knockout (N - 1 comparisons), a pointwise or listwise one scores each candidate."""
    return "knockout" if mode == "pairwise" else "argmax"


class Judge:
    """Evaluates :class:`EvalItem` s with one scorer under :class:`JudgeOptions`."""

    def __init__(self, scorer, options: JudgeOptions = JudgeOptions()):
        self.scorer = scorer
        self.info = describe(scorer)
        if options.method is None:  # resolved here, so a checkpoint header records the method used
            options = replace(options, method=default_method(self.info.mode))
        self.options = options
        self._check_mode()

    def _check_mode(self) -> None:
        mode, names = self.info.mode, set(self.info.inputs)
        need = {"pointwise": {"response"}, "pairwise": {"a", "b"}, "listwise": {self.info.candidates}}.get(mode)
        if need is None:
            raise EvalError(f"skill {self.info.name!r} has unknown mode {mode!r}")
        if not need <= names:
            raise EvalError(f"{mode} skill {self.info.name!r} must declare input(s) {sorted(need - names)}")
        if self.options.method not in METHODS:
            raise UsageError(f"unknown method {self.options.method!r}; one of {', '.join(METHODS)}")

    # -- what the skill may see ---------------------------------------------------------
    def visible(self, item: EvalItem) -> dict:
        """The item's fields the skill declares (visible or reference), minus withheld ones."""
        out = {}
        for name, value in item.inputs.items():
            spec = self.info.inputs.get(name)
            if spec is None or name in self.options.withhold or spec.get("visibility") == "label":
                continue
            out[name] = value
        return out

    def missing_inputs(self, item: EvalItem) -> list:
        """Required skill inputs the item cannot fill (the item is then skipped)."""
        filled = set(self.visible(item)) | {"response", "a", "b", self.info.candidates}
        return [n for n, spec in self.info.inputs.items()
                if not spec.get("optional") and spec.get("visibility") != "label" and n not in filled]

    # -- evaluation generators ----------------------------------------------------------
    def evaluate(self, item: EvalItem) -> Generator[list, list, dict]:
        """Generator: yields sample lists, receives result lists, returns the item record."""
        record = _Record(item)
        handler = getattr(self, "_eval_" + item.kind)
        try:
            yield from handler(item, record)
        except _Failed as failed:
            record.fail(failed.status, failed.reason)
        return record.finish()

    def _eval_pair(self, item: EvalItem, record: "_Record"):
        if self.info.mode == "pairwise":
            (p,) = yield from self._prefer(item, [(0, 1)], record)
            verdicts = record.asked[0]
        else:
            s0, s1 = yield from self._points(item, record)
            p = 0.5 if s0 == s1 else float(s0 > s1)
            record.data["scores"] = [s0, s1]
            verdicts = [self._verdict(p)]
        record.data["p_first"] = p
        pred = self._verdict(p)
        # each ask's own verdict (0: the first candidate, 1: the second, None: a tie), for scores
        # that count orders apart (JudgeBench's)
        record.data.update(pred=pred, label=item.label, verdicts=verdicts)
        record.value = float(pred == item.label)

    def _verdict(self, p: float) -> "int | None":
        margin = self.options.tie_margin
        if p > 0.5 + margin:
            return 0
        if p < 0.5 - margin:
            return 1
        return None

    def _eval_bestof(self, item: EvalItem, record: "_Record"):
        scores = yield from self._scores(item, record)
        record.data.update(scores=scores, num_correct=item.num_correct, row_id=item.hidden.get("id", item.id))
        if item.subset.lower() == "ties":
            record.value = float(bm.rb2_prompt_stats(scores, item.num_correct)[0])
        else:
            record.value = bm.rb2_row_result(scores)

    def _eval_matrix(self, item: EvalItem, record: "_Record"):
        k = item.num_correct
        if self.info.mode == "pairwise":
            pairs = [(i, k + j) for i in range(k) for j in range(k)]
            probs = yield from self._prefer(item, pairs, record)
            matrix = [[float(probs[i * k + j] > 0.5) for j in range(k)] for i in range(k)]
        else:
            scores = yield from self._points(item, record)
            record.data["scores"] = scores
            matrix = bm.rmbench_matrix(scores[:k], scores[k:])
        record.data.update(matrix=matrix, domain=item.hidden.get("domain", item.subset))
        record.value = sum(map(sum, matrix)) / (k * k)

    def _eval_bon(self, item: EvalItem, record: "_Record"):
        selected = yield from self._select(item, record)
        record.data["selected"] = selected
        correct = item.hidden.get("correct")
        if correct is not None:
            record.data["correct"] = correct
            record.value = float(correct[selected])

    _eval_rank = _eval_bon

    # -- building blocks ----------------------------------------------------------------
    def _points(self, item: EvalItem, record: "_Record"):
        """One reward per candidate from a pointwise or listwise skill."""
        base = self.visible(item)
        if self.info.mode == "listwise":
            return (yield from self._listwise(item, base, record))
        results = yield [dict(base, response=c) for c in item.candidates]
        return record.rewards(results)

    def _listwise(self, item: EvalItem, base: dict, record: "_Record"):
        # the list goes in seeded-random order: the file's order (chosen first) must not show
        order = self._shuffled(item)
        (result,) = yield [dict(base, **{self.info.candidates: [item.candidates[k] for k in order]})]
        record.rewards([result])
        shown = getattr(result, "scores", None) or []
        if len(shown) != len(order) or any(x is None for x in shown):
            raise _Failed("na", f"listwise result has scores {shown} for {len(order)} candidates")
        scores = [0.0] * len(order)
        for position, index in enumerate(order):
            scores[index] = float(shown[position])
        return scores

    def _scores(self, item: EvalItem, record: "_Record"):
        """One score per candidate: rewards (pointwise/listwise) or round-robin ratings (pairwise)."""
        if self.info.mode != "pairwise":
            return (yield from self._points(item, record))
        pairs = tour.round_robin(len(item.candidates))
        probs = yield from self._prefer(item, pairs, record)
        rate = tour.RATINGS[self.options.rating]
        return rate(len(item.candidates), [(i, j, p) for (i, j), p in zip(pairs, probs)])

    def check_kinds(self, kinds: set) -> None:
        """Refuse, before any scoring, a selection method the skill's mode cannot serve."""
        method = self.options.method
        if kinds & {"bon", "rank"} and (method == "argmax") == (self.info.mode == "pairwise"):
            need = "pointwise or listwise" if method == "argmax" else "pairwise"
            raise EvalError(f"method {method!r} needs a {need} skill; {self.info.name!r} is {self.info.mode}")

    def _select(self, item: EvalItem, record: "_Record"):
        order = self._shuffled(item)
        if self.options.method == "knockout":
            return (yield from self._knockout(item, order, record))
        scores = yield from self._scores(item, record)
        record.data["scores"] = scores
        return tour.argmax(scores, order)

    def _knockout(self, item: EvalItem, order: list, record: "_Record"):
        game = tour.knockout(order)
        try:
            pairs = next(game)
            while True:
                probs = yield from self._prefer(item, pairs, record)
                pairs = game.send(probs)
        except StopIteration as done:
            return done.value

    def _shuffled(self, item: EvalItem) -> list:
        order = list(range(len(item.candidates)))
        random.Random(f"{self.options.seed}:{item.id}:order").shuffle(order)
        return order

    def _prefer(self, item: EvalItem, pairs: list, record: "_Record"):
        """P(i beats j) for each pair, each asked in seeded or both orientations."""
        base, asks = self.visible(item), []
        for i, j in pairs:
            asks.append(self._orientations(item, i, j))
        samples = [dict(base, a=item.candidates[x], b=item.candidates[y]) for o in asks for x, y in o]
        results = yield samples
        rewards = iter(record.rewards(results))
        return [self._combine(i, o, [next(rewards) for _ in o], record) for (i, _), o in zip(pairs, asks)]

    def _orientations(self, item: EvalItem, i: int, j: int) -> list:
        if self.options.both_orders:
            return [(i, j), (j, i)] * self.options.votes
        coin = random.Random(f"{self.options.seed}:{item.id}:{i}:{j}")
        out = []
        for _ in range(self.options.votes):
            out.append((i, j) if coin.random() < 0.5 else (j, i))
        return out

    def _combine(self, i: int, orientations: list, rewards: list, record: "_Record") -> float:
        # P(a better) -> P(i better) for each ask; the mean is the soft answer
        probs = [p if a == i else 1 - p for (a, _), p in zip(orientations, rewards)]
        record.asked.append([self._verdict(p) for p in probs])
        if self.options.both_orders:
            record.consistency(probs, self._verdict)
        return sum(probs) / len(probs)


class _Failed(Exception):
    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class _Record:
    """Accumulates one item's outcome, evidence use and cost."""

    def __init__(self, item: EvalItem):
        self.item = item
        self.value = None
        self.status, self.reason = "ok", None
        self.data: dict = {}
        self.cost = {"tokens_in": 0, "tokens_out": 0, "seconds": 0.0, "calls": 0}
        self.evidence: dict = {}
        self.checks: list = []
        self.asked: list = []  # per pair compared, each ask's verdict on it (see Judge._combine)
        self.traces: list = []  # the first MAX_TRACES results' traces, kept when the item is not fully right
        self.started = time.perf_counter()

    def rewards(self, results: list) -> list:
        """The results' rewards, after booking the cost and evidence of all of them; the
        first na/error result ends the item (an error is never turned into a number)."""
        for result in results:
            self._book(result)
        for result in results:
            status = getattr(result, "status", "error")
            if status != "ok" or getattr(result, "reward", None) is None:
                raise _Failed("na" if status == "na" else "error", getattr(result, "reason", None) or status)
        return [float(r.reward) for r in results]

    def _book(self, result) -> None:
        self.cost["tokens_in"] += int(getattr(result, "tokens_in", 0) or 0)
        self.cost["tokens_out"] += int(getattr(result, "tokens_out", 0) or 0)
        self.cost["seconds"] += float(getattr(result, "seconds", 0.0) or 0.0)
        self.cost["calls"] += 1
        self._book_evidence(getattr(result, "trace", None) or {})
        if len(self.traces) < MAX_TRACES:
            self.traces.append(trace_record(result))

    def _book_evidence(self, trace: dict) -> None:
        for name, ev in trace.items():
            counts = self.evidence.setdefault(name, {"kind": getattr(ev, "kind", None), "ok": 0, "na": 0,
                                                     "error": 0, "skipped": 0})
            key = "skipped" if getattr(ev, "skipped", None) else getattr(ev, "status", "error")
            counts[key if key in counts else "error"] += 1

    def consistency(self, probs: list, verdict) -> None:
        """Both-orders agreement: the two orientations predict the same winner (or tie)."""
        self.checks.append(len({verdict(p) for p in probs}) == 1)

    def fail(self, status: str, reason: str) -> None:
        self.status, self.reason, self.value = status, reason, None

    def finish(self) -> dict:
        item = self.item
        out = {"id": item.id, "subset": item.subset, "kind": item.kind, "status": self.status,
               "value": self.value, "reason": self.reason, **self.data, "evidence": self.evidence, **self.cost}
        if self.checks:
            out["consistent"] = all(self.checks)
        if disagrees(out):  # the report links each disagreement to these (eval/report.py)
            out["traces"] = self.traces
        return out


MAX_TRACES = 8  # results kept per item: a tournament asks many comparisons
MAX_TRACED_ITEMS = 60  # items of a run that keep their traces: the report shows as many disagreements


def keep_traces(records: list, kept: int) -> int:
    """Drop the traces of ``records`` past the first :data:`MAX_TRACED_ITEMS` of a run that have
    them (``kept`` so far), so a run's checkpoint and memory do not grow with every wrong item;
    returns how many are kept now."""
    for record in records:
        if record.get("traces"):
            if kept < MAX_TRACED_ITEMS:
                kept += 1
            else:
                del record["traces"]
    return kept


def disagrees(record: dict) -> bool:
    """Whether an item's record is not fully right: not ok, or a value below 1."""
    return record["status"] != "ok" or (record.get("value") is not None and record["value"] < 1)


_TRACE_FIELDS = ("name", "status", "value", "reason", "kind", "seconds", "tokens_in", "tokens_out", "skipped", "detail")


def trace_record(result) -> dict:
    """One scored sample's reward and evidence trace, as JSON (for the report's trace links)."""
    trace = {}
    for name, ev in (getattr(result, "trace", None) or {}).items():
        data = ev.to_dict() if hasattr(ev, "to_dict") else {k: getattr(ev, k) for k in _TRACE_FIELDS if hasattr(ev, k)}
        trace[name] = {**data, "name": name}
    return {"reward": getattr(result, "reward", None), "status": getattr(result, "status", "error"),
            "reason": getattr(result, "reason", None), "trace": trace}


def drive(scorer, generators: list) -> list:
    """Run item generators in lockstep, one ``scorer.score`` call per step for all of them."""
    records = [None] * len(generators)
    active = {}
    for k, gen in enumerate(generators):
        _advance(k, gen, None, active, records)
    while active:
        batch, spans = [], []
        for k, (gen, samples) in active.items():
            spans.append((k, gen, len(batch), len(samples)))
            batch += samples
        results = _score(scorer, batch)
        for k, gen, start, size in spans:
            _advance(k, gen, results[start:start + size], active, records)
    return records


def _advance(k: int, gen, sent, active: dict, records: list) -> None:
    try:
        samples = gen.send(sent) if sent is not None else next(gen)
        active[k] = (gen, samples)
    except StopIteration as done:
        active.pop(k, None)
        records[k] = done.value


class _ErrorResult:
    """Stands in for results when the scorer itself raised: every sample errs, none is lost."""

    def __init__(self, reason: str):
        self.reward, self.status, self.reason, self.trace = None, "error", reason, {}


def _score(scorer, batch: list) -> list:
    if not batch:
        return []
    try:
        results = list(scorer.score(batch))
    except Exception as exc:  # the runtime must not crash a batch; if it does, no row is lost
        return [_ErrorResult(f"scorer raised {type(exc).__name__}: {exc}")] * len(batch)
    if len(results) != len(batch):
        return [_ErrorResult(f"scorer returned {len(results)} results for {len(batch)} samples")] * len(batch)
    return results
