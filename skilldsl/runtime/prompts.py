"""What a judge is sent for a sample, as its backend sends it (``skilldsl explain --prompts``).

:func:`sent_prompts` scores samples with an :class:`~.executor.Executor` whose evidence coroutines
are observed: each LLM request an evidence yields is recorded with the evidence's name (``name[i]``
for item ``i`` of an ``each``), the order (``swap``) and the sample it belongs to, and shown through
the backend's own :func:`~.backends.base.sent_prompt` (its chat template, its room for the answer,
its truncation). Only what ran is shown: a lazy judge the reward did not need was never asked.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .backends.base import BackendError, ChoiceRequest, SentPrompt, sent_prompt
from .executor import Executor
from .scheduler import Spawn

__all__ = ["SentRecord", "sent_prompts"]

_LLM_JOBS = ("choice", "generate")


@dataclass(frozen=True)
class SentRecord:
    """One request a judge was sent: for which sample (and candidate), by which evidence, in which
    order and sample of it, under which constraint, and the prompt as the backend sends it."""

    sample: int                 # index in the samples given
    candidate: int | None       # listwise: the candidate's index
    evidence: str               # name, or name[i] for item i of an each
    model: str
    order: int                  # 0 as given; 1 with a and b exchanged (swap)
    orders: int
    draw: int                   # which of the evidence's `samples` (0-based)
    draws: int
    constraint: dict
    prompt: SentPrompt

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        return asdict(self)


def sent_prompts(skill: Any, samples: list) -> tuple:
    """``(results, records)``: the Results of ``samples`` scored by ``skill`` (a runtime
    :class:`~skilldsl.runtime.Skill`), and a :class:`SentRecord` per request its judges were sent."""
    executor = _Observing(skill.program, skill.backend)
    results = executor.run(list(samples))
    return results, [executor.record(seen, skill.backend) for seen in executor.seen]


class _Observing(Executor):
    """An executor that records every LLM request its evidence coroutines yield."""

    def __init__(self, program, backend_for):
        super().__init__(program, backend_for)
        self.seen: list = []        # (row, evidence label, node, position, of how many, job)
        self._rows: dict = {}       # id(row) -> (row, sample index, candidate index or None)
        self._samples = 0

    def rows_of(self, sample: Any):
        rows = super().rows_of(sample)  # called once per sample, in order
        self._samples += 1
        if isinstance(rows, list):
            listwise = self.program.mode == "listwise"
            for i, row in enumerate(rows):
                self._rows[id(row)] = (row, self._samples - 1, i if listwise else None)
        return rows

    def evidence_task(self, row, name: str):
        return self._observe(super().evidence_task(row, name), row, name, self.program.evidence[name])

    def _observe(self, gen, row, label: str, node: dict):
        """``gen``, passing through what it yields and is sent, recording its LLM requests."""
        value = None
        while True:
            try:
                request = gen.send(value)
            except StopIteration as stop:
                return stop.value
            if isinstance(request, Spawn):  # an each: one child per item, each its own label
                request = Spawn([self._observe(child, row, f"{label}[{i}]", node.get("body", node))
                                 for i, child in enumerate(request.children)])
            elif isinstance(request, list):
                jobs = [job for job in request if job.kind in _LLM_JOBS]
                self.seen += [(row, label, node, i, len(jobs), job) for i, job in enumerate(jobs)]
            value = yield request

    def record(self, seen: tuple, backend_for) -> SentRecord:
        row, label, node, position, count, job = seen
        _, sample, candidate = self._rows[id(row)]
        draws = _draws(node, count)
        request = job.payload
        return SentRecord(sample, candidate, label, job.model or "default", position // draws, max(1, count // draws),
                          position % draws, draws, _constraint(node, request), _shown(backend_for, job))


def _shown(backend_for, job) -> SentPrompt:
    """The job's prompt as its backend sends it; a backend that cannot load says why instead."""
    try:
        return sent_prompt(backend_for(job.model or "default"), job.payload)
    except BackendError as exc:
        return SentPrompt("", error=str(exc))


def _draws(node: dict, count: int) -> int:
    """How many requests one order of the evidence makes (its ``samples``), given ``count`` in all."""
    samples = max(1, int(node.get("samples", 1) or 1))
    return samples if count % samples == 0 else 1


def _constraint(node: dict, request) -> dict:
    """The constraint a request is served under: options (choice / score), or the generation's."""
    if isinstance(request, ChoiceRequest):
        out = {"type": node.get("answer", {}).get("type", "choice"), "options": list(request.options)}
        if request.think:
            out.update(think=request.think, temperature=request.temperature, seed=request.seed)
        return out
    return {**dict(request.constraint), "max_tokens": request.max_tokens, "temperature": request.temperature,
            "seed": request.seed}
