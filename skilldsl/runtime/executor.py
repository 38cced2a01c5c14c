"""Waves over a batch of samples: validate, run eager evidence, evaluate rewards, run what they
demand — all LLM requests of a wave in one backend call per request type — until every row is
decided.

A row is one sample (or, for a listwise skill, one candidate of a sample). Nothing a row does
can crash the batch or drop another row: failures are error values with reasons.
"""
from __future__ import annotations

from collections import defaultdict
from functools import partial
from typing import Any, Callable

from ..ir import Program
from .backends.base import serve_choices
from .evaluate import Outcome, Pending, evaluate
from .evidence import compute
from .inputs import SampleError, validate_sample
from .result import EvidenceTrace, Result, plain
from .scheduler import JobOutcome, Scheduler, timed
from ..values import Value, error, ok

__all__ = ["Executor", "JobRunner", "Row"]


class Row:
    """One unit of reward evaluation: inputs, locals, computed evidence and their waiters."""

    def __init__(self, program: Program, inputs: dict[str, Value], locals_: dict | None = None):
        self.program = program
        self.inputs = inputs
        self.locals = dict(locals_ or {})
        self.outcomes: dict[str, Outcome] = {}
        self.tasks: dict = {}
        self.waiters: dict = defaultdict(list)
        self.reward: Value | None = None
        # errors caught on purpose (catch, is_error): by the deciding evaluation of the reward, and
        # by the expressions of evidence (`when`, verifier arguments), whose outcomes are final
        self.caught: list[str] = []
        self.caught_by_evidence: list[str] = []

    def env(self, locals_: dict | None = None) -> "_RowEnv":
        """The expression environment of evidence of this row (with extra locals for ``each`` items)."""
        return _RowEnv(self, self.locals if locals_ is None else locals_, self.caught_by_evidence)


class _RowEnv:
    def __init__(self, row: Row, locals_: dict, caught: "list | None" = None):
        self.row, self.locals = row, locals_
        self.caught = caught  # where catch / is_error record what they caught (None: not recorded)

    def input(self, name: str) -> Value:
        return self.row.inputs.get(name) or error(f"unknown input {name!r}")

    def evidence(self, name: str) -> Outcome | None:
        return self.row.outcomes.get(name)

    def local(self, name: str) -> Value:
        if name not in self.locals:
            return error(f"{name!r} is not defined here")
        v = self.locals[name]
        return v if isinstance(v, Value) else ok(v)

    def file(self, name: str) -> Value:
        files = self.row.program.doc.get("files", {})
        return ok(files[name].get("text", "")) if name in files else error(f"unknown file {name!r}")


class JobRunner:
    """Serves a wave's jobs: LLM requests through backends (with bounded retries), verifier
    calls, sandbox runs. Each call returns one :class:`JobOutcome` per payload."""

    def __init__(self, backend_for: Callable[[str], Any], retries: int = 1):
        self._backend_for = backend_for
        self.retries = max(0, int(retries))
        self.calls: list[tuple[str, str | None, int]] = []  # (kind, model, n): for stats and tests

    def __call__(self, kind: str, model: str | None, payloads: list) -> list[JobOutcome]:
        self.calls.append((kind, model, len(payloads)))
        try:
            return self._serve(kind, model, payloads)
        except Exception as exc:  # a broken pool or sandbox fails these jobs, not the batch
            return [JobOutcome(failure=f"{kind} failed: {type(exc).__name__}: {exc}")] * len(payloads)

    def _serve(self, kind: str, model: str | None, payloads: list) -> list[JobOutcome]:
        if kind in ("choice", "generate"):
            return self._llm(kind, model or "default", payloads)
        if kind == "reward_model":
            return self._reward_model(model, payloads)
        if kind == "verify":
            return self._verify(payloads)
        return self._sandbox(payloads)

    def _llm(self, kind: str, model: str, payloads: list) -> list[JobOutcome]:
        try:
            backend = self._backend_for(model)
        except Exception as exc:  # a model that cannot load fails its rows, not the batch
            return [JobOutcome(failure=f"model {model!r} could not be loaded: {exc}")] * len(payloads)
        # a reasoning request reaches only a backend that declares it can reason (base.serve_choices)
        method = partial(serve_choices, backend) if kind == "choice" else backend.generate
        reason = ""
        for attempt in range(self.retries + 1):
            try:
                results, share = timed(lambda: list(method(list(payloads))), len(payloads))
            except Exception as exc:
                reason = f"backend {getattr(backend, 'name', '?')} failed after {attempt + 1} attempt(s): {type(exc).__name__}: {exc}"
                continue
            if len(results) == len(payloads):
                return [llm_outcome(r, share) for r in results]
            reason = f"backend returned {len(results)} results for {len(payloads)} requests"
        return [JobOutcome(failure=reason)] * len(payloads)

    def _reward_model(self, model: str, payloads: list) -> list[JobOutcome]:
        try:
            rm = self._backend_for(model, reward_model=True)
            scores, share = timed(lambda: list(rm.score_texts(list(payloads))), len(payloads))
        except Exception as exc:  # load or forward failure: these rows err, the batch goes on
            return [JobOutcome(failure=f"reward model {model!r} failed: {type(exc).__name__}: {exc}")] * len(payloads)
        return [JobOutcome(result=s, seconds=share) for s in scores]

    def _verify(self, payloads: list) -> list[JobOutcome]:
        results, share = timed(lambda: run_verifiers(payloads), len(payloads))
        return [JobOutcome(result=r, seconds=share) for r in results]

    def _sandbox(self, payloads: list) -> list[JobOutcome]:
        try:
            verdicts, share = timed(lambda: run_sandboxed(payloads), len(payloads))
        except Exception as exc:  # the sandbox itself broke: fail these runs, not the batch
            return [JobOutcome(failure=f"sandbox failed: {type(exc).__name__}: {exc}")] * len(payloads)
        return [JobOutcome(result=v, seconds=share) for v in verdicts]


def llm_outcome(result: Any, seconds: float) -> JobOutcome:
    """One request's outcome: a result that carries an ``error`` (that request alone could not
    be served) fails only its own job, with the backend's reason; it is not retried."""
    if result is None:
        return JobOutcome(failure="the backend returned no result for this request", seconds=seconds)
    reason = getattr(result, "error", None)
    if reason:
        return JobOutcome(failure=str(reason), seconds=seconds)
    return JobOutcome(result=result, seconds=seconds)


def run_sandboxed(payloads: list) -> list:
    """Run a wave's ``run`` evidence ``(code, inputs, limits[, on_failure])``: several in parallel
    on a sandbox pool, a single one directly (no pool to start)."""
    from .. import sandbox

    if len(payloads) > 1:
        return list(sandbox.run_skill_code_many(payloads))
    return [sandbox.run_skill_code(*payload) for payload in payloads]


def run_verifiers(payloads: list) -> list:
    """Run a wave's verifier calls together: ``isolate=True`` verifiers on the worker pool
    (in parallel, with timeouts), the rest inline; exceptions become error verdicts."""
    from ..verifiers.pool import run_verifiers as pool_run

    return list(pool_run([(spec, tuple(args), dict(kwargs)) for spec, args, kwargs in payloads]))


class Executor:
    """Runs a Program over batches of samples (see the module docstring)."""

    def __init__(self, program: Program, backend_for: Callable[[str], Any]):
        self.program = program
        settings = program.doc.get("settings", {})
        self.runner = JobRunner(backend_for, settings.get("retries", 1))
        self.waves = 0

    # -- rows ----------------------------------------------------------------------------
    def rows_of(self, sample: Any) -> "list[Row] | str":
        """The rows of one sample, or the reason it is invalid."""
        try:
            inputs = validate_sample(sample, self.program.inputs)
        except SampleError as exc:
            return str(exc)
        field_ = self.program.doc.get("candidates") if self.program.mode == "listwise" else None
        if not field_:
            return [Row(self.program, inputs)]
        listed = inputs.get(field_)
        if listed is None or not listed.is_ok or not isinstance(listed.value, list):
            return f"listwise: the candidates input {field_!r} is not a list"
        return [Row(self.program, inputs, {"candidate": c}) for c in listed.value]

    # -- waves ----------------------------------------------------------------------------
    def run(self, samples: list) -> list[Result]:
        """Score a batch: one Result per sample, in order."""
        per_sample = [self.rows_of(s) for s in samples]
        rows = [r for rs in per_sample if isinstance(rs, list) for r in rs]
        sched = Scheduler(self.evidence_task)
        for row in rows:
            for name in self.program.plan.get("eager", []):
                sched.demand(row, name)
        self._waves(rows, sched)
        return [self._sample_result(rs) for rs in per_sample]

    def evidence_task(self, row: Row, name: str):
        """The coroutine that computes evidence ``name`` for ``row`` (a subclass may observe it:
        :mod:`skilldsl.runtime.prompts` records the prompts each evidence sends)."""
        return compute(row, self.program.evidence[name], row.locals)

    def _waves(self, rows: list[Row], sched: Scheduler) -> None:
        undecided = rows
        last = None
        while undecided:
            sched.run_ready()
            undecided = [row for row in undecided if not self._decide(row, sched)]
            sched.run_ready()
            if sched.jobs and undecided:
                self.waves += 1
                sched.dispatch(self.runner)
                continue
            progress = (sched.started, sched.finished, len(undecided))
            if progress == last and not sched.ready:
                for row in undecided:  # the compiler rejects cycles; never hang on one
                    row.reward = error("internal: the reward could not be decided (evidence cycle?)")
                return
            last = progress

    def _decide(self, row: Row, sched: Scheduler) -> bool:
        row.caught = []  # what the deciding evaluation caught, not earlier pending ones
        try:
            r = evaluate(self.program.reward, _RowEnv(row, row.locals, row.caught))
        except Exception as exc:  # an evaluator bug fails this row, not the batch
            r = error(f"internal: {type(exc).__name__}: {exc}")
        if isinstance(r, Pending):
            for name in sorted(r.names):
                sched.demand(row, name)
            return False
        row.reward = r
        return True

    # -- results ---------------------------------------------------------------------------
    def _sample_result(self, rows: "list[Row] | str") -> Result:
        if isinstance(rows, str):
            return Result(None, "error", rows, reward_id=self.program.reward_id)
        if self.program.mode == "listwise" and self.program.doc.get("candidates"):
            return self._listwise_result(rows)
        return self.row_result(rows[0])

    def row_result(self, row: Row) -> Result:
        """The Result of one row: final reward, trace in plan order, totals."""
        status, reward, reason = final_reward(row.reward)
        trace = self._trace(row)
        return Result(
            reward, status, reason, trace, self.program.reward_id,
            tokens_in=sum(t.tokens_in for t in trace.values()),
            tokens_out=sum(t.tokens_out for t in trace.values()),
            seconds=sum(t.seconds for t in trace.values()),
            caught=list(dict.fromkeys(row.caught_by_evidence + row.caught)),
        )

    def _trace(self, row: Row) -> dict[str, EvidenceTrace]:
        names = list(self.program.plan.get("order", [])) or list(self.program.evidence)
        names += [n for n in self.program.evidence if n not in names]
        return {name: self._trace_one(row, name) for name in names}

    def _trace_one(self, row: Row, name: str) -> EvidenceTrace:
        kind = self.program.evidence[name]["kind"]
        o = row.outcomes.get(name)
        if o is None:
            why = "not needed" if name not in row.tasks else "not needed (the reward was decided first)"
            return EvidenceTrace(name, "na", None, why, kind, skipped=why)
        v = o.value
        return EvidenceTrace(name, v.status, plain(v.value) if v.is_ok else None, v.reason, kind,
                             o.seconds, o.tokens_in, o.tokens_out, o.skipped, o.detail)

    def _listwise_result(self, rows: list[Row]) -> Result:
        results = [self.row_result(r) for r in rows]
        return combine_candidates(results, self.program.reward_id)


def final_reward(value: Value | None) -> tuple[str, float | None, str | None]:
    """(status, reward, reason) of a row's reward value; non-numbers are errors."""
    if value is None:
        return "error", None, "internal: no reward"
    if not value.is_ok:
        return value.status, None, value.reason
    x = value.value
    if isinstance(x, bool) or isinstance(x, (int, float)):
        x = float(x)
        if x != x or x in (float("inf"), float("-inf")):
            return "error", None, f"the reward is {x}"
        return "ok", x, None
    return "error", None, f"the reward must be a number, got {type(x).__name__} {x!r}"


def combine_candidates(results: list[Result], reward_id: str) -> Result:
    """One Result for a ranked list: ``scores`` per candidate, ``best`` the argmax,
    ``reward`` the best score; traces keyed ``name[i]``. Error if no candidate scored."""
    scores = [r.reward for r in results]
    known = [i for i, s in enumerate(scores) if s is not None]
    trace = {f"{n}[{i}]": t for i, r in enumerate(results) for n, t in r.trace.items()}
    totals = {k: sum(getattr(r, k) for r in results) for k in ("tokens_in", "tokens_out", "seconds")}
    totals["caught"] = [f"[{i}] {reason}" for i, r in enumerate(results) for reason in r.caught]
    if not known:
        reasons = "; ".join(f"[{i}] {r.reason}" for i, r in enumerate(results))
        status = "error" if any(r.status == "error" for r in results) or not results else "na"
        return Result(None, status, reasons or "no candidates", trace, reward_id, scores=scores, **totals)
    best = max(known, key=lambda i: scores[i])
    failed = len(results) - len(known)
    reason = f"{failed} candidate(s) have no score" if failed else None
    return Result(scores[best], "ok", reason, trace, reward_id, scores=scores, best=best, **totals)
