"""A tiny cooperative scheduler: evidence computations are generators that yield what they wait for.

An evidence coroutine yields

- :class:`Need` (evidence names): resumed once they are computed (started on demand);
- :class:`Spawn` (child coroutines, e.g. ``each`` items): resumed with their outcomes;
- a list of :class:`Job` (LLM requests, verifier calls, sandbox runs): resumed with one
  :class:`JobOutcome` each after the wave's dispatch.

The executor lets every coroutine run as far as it can, then hands all queued jobs of the wave
to the :class:`JobRunner` at once: that is how N samples × swap orders × checklist items become
one backend call per request type.
"""
from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Generator

from .evaluate import Outcome
from ..values import error

__all__ = ["Need", "Spawn", "Job", "JobOutcome", "Task", "Scheduler", "CHEAP"]

CHEAP = frozenset({"verify", "run"})  # job kinds served before any model call


@dataclass(frozen=True)
class Need:
    """Wait until these evidence names (of the same row) are computed."""

    names: tuple


@dataclass(frozen=True)
class Spawn:
    """Run child coroutines concurrently; resume with their outcomes, in order."""

    children: list


@dataclass(frozen=True)
class Job:
    """One unit of outside work: ``kind`` is ``choice``, ``generate``, ``verify`` or ``run``."""

    kind: str
    payload: Any
    model: str | None = None


@dataclass(frozen=True)
class JobOutcome:
    """A job's result, or ``failure`` (its reason) when it could not be served after retries."""

    result: Any = None
    failure: str | None = None
    seconds: float = 0.0


@dataclass(eq=False)
class Task:
    """A running coroutine; ``done`` receives its outcome."""

    gen: Generator
    row: Any
    done: Callable[[Outcome], None]
    waiting: int = 0
    children: list = field(default_factory=list)


class Scheduler:
    """Steps evidence coroutines of many rows and queues their jobs for the next dispatch."""

    def __init__(self, make_task: Callable[[Any, str], Generator]):
        self._make = make_task
        self.ready: deque = deque()
        self.jobs: list[tuple[Task, list[Job]]] = []
        self.started = 0
        self.finished = 0

    # -- evidence lifecycle -------------------------------------------------------------
    def demand(self, row: Any, name: str) -> None:
        """Start computing evidence ``name`` for ``row`` unless it already is."""
        if name in row.outcomes or name in row.tasks:
            return
        task = Task(self._make(row, name), row, lambda outcome: self._finish(row, name, outcome))
        row.tasks[name] = task
        self.started += 1
        self.ready.append((task, None))

    def _finish(self, row: Any, name: str, outcome: Outcome) -> None:
        row.outcomes[name] = outcome
        self.finished += 1
        for waiter in row.waiters.pop(name, []):
            self._wake(waiter, None)

    def _wake(self, task: Task, value: Any) -> None:
        task.waiting -= 1
        if task.waiting == 0:
            self.ready.append((task, value))

    # -- stepping ----------------------------------------------------------------------
    def run_ready(self) -> None:
        """Advance every runnable coroutine until each waits for jobs or evidence."""
        while self.ready:
            task, value = self.ready.popleft()
            self._step(task, value)

    def _step(self, task: Task, value: Any) -> None:
        try:
            request = task.gen.send(value)
        except StopIteration as stop:
            task.done(stop.value)
            return
        except Exception as exc:  # a bug in one evidence must not sink the batch
            task.done(Outcome(error(f"internal: {type(exc).__name__}: {exc}")))
            return
        self._handle(task, request)

    def _handle(self, task: Task, request: Any) -> None:
        if isinstance(request, Need):
            self._need(task, request.names)
        elif isinstance(request, Spawn):
            self._spawn(task, request.children)
        else:
            self.jobs.append((task, list(request)))

    def _need(self, task: Task, names: tuple) -> None:
        missing = [n for n in dict.fromkeys(names) if n not in task.row.outcomes]
        if not missing:
            self.ready.append((task, None))
            return
        task.waiting = len(missing)
        for name in missing:
            task.row.waiters[name].append(task)
            self.demand(task.row, name)

    def _spawn(self, task: Task, children: list) -> None:
        if not children:
            self.ready.append((task, []))
            return
        results: list = [None] * len(children)
        task.waiting = len(children)

        def collector(i: int) -> Callable[[Outcome], None]:
            def done(outcome: Outcome) -> None:
                results[i] = outcome
                self._wake(task, results)

            return done

        for i, gen in enumerate(children):
            self.ready.append((Task(gen, task.row, collector(i)), None))

    # -- dispatch ----------------------------------------------------------------------
    def dispatch(self, run: Callable[[str, str | None, list], list[JobOutcome]]) -> int:
        """Serve queued jobs, grouped by (kind, model): one ``run`` call per group.

        Cheap jobs (verifiers, sandbox) go first and alone: LLM requests wait in the queue
        until no cheap work is left, so that rows whose judge is demanded only after a
        verifier's answer join the same model call. Returns the number of groups served."""
        cheap = [(t, js) for t, js in self.jobs if all(j.kind in CHEAP for j in js)]
        if cheap and len(cheap) < len(self.jobs):
            self.jobs = [(t, js) for t, js in self.jobs if not all(j.kind in CHEAP for j in js)]
            return self._serve(cheap, run)
        queued, self.jobs = self.jobs, []
        return self._serve(queued, run)

    def _serve(self, queued: list, run: Callable[[str, str | None, list], list[JobOutcome]]) -> int:
        groups: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
        for t, (_, jobs) in enumerate(queued):
            for j, job in enumerate(jobs):
                groups[(job.kind, job.model)].append((t, j))
        outcomes = [[None] * len(jobs) for _, jobs in queued]
        for (kind, model), where in groups.items():
            results = run(kind, model, [queued[t][1][j].payload for t, j in where])
            for (t, j), outcome in zip(where, results):
                outcomes[t][j] = outcome
        for (task, _), outs in zip(queued, outcomes):
            self.ready.append((task, outs))
        return len(groups)


def timed(fn: Callable[[], list], n: int) -> tuple[list, float]:
    """Run ``fn`` and return its results with each of the ``n`` jobs' share of the time."""
    start = time.perf_counter()
    results = fn()
    return results, (time.perf_counter() - start) / max(n, 1)
