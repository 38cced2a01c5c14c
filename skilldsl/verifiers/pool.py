"""Run verifier calls: plain ones inline, ``concurrent=True`` ones on threads, ``isolate=True``
ones on a pool of worker processes.

Why processes: math-verify bounds its sympy work with ``SIGALRM``, which works only in a main
thread, and a verifier that hangs or kills its interpreter must not take the caller with it.
Each worker runs one call at a time; the parent enforces a hard per-call timeout, kills a worker
that overruns or dies, starts a replacement, and reports ``error("timeout after Ns")`` or
``error("worker crashed ...")`` for that call only. The caller never hangs and never sees an
exception.

The runtime's entry point is :func:`run_verifiers`. An isolated verifier may have a ``fast`` hook
(see ``VerifierSpec.fast``) that decides cheap cases in-process, so e.g. GSM8K's plain-number
answers never pay for inter-process communication.
"""
from __future__ import annotations

import atexit
import os
import pickle
import subprocess
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Iterator, Mapping, Sequence

from .registry import Verdict, VerifierSpec
from .worker import command

__all__ = ["DEFAULT_TIMEOUT", "WorkerPool", "run_verifiers", "default_pool", "shutdown_default_pool",
           "concurrent_workers"]

DEFAULT_TIMEOUT = 10.0  # seconds per isolated call
STARTUP_TIMEOUT = 120.0  # a worker that is not ready by then is considered broken
_MAX_START_FAILURES = 3  # consecutive failed starts before the pool gives up on pending calls
# imported (module) or called (module:function) once per worker, not per call
_WARM = ("skilldsl.verifiers.builtin", "skilldsl.verifiers.math:warm")


# ---- the parent side -----------------------------------------------------------------------------


@dataclass
class _Worker:
    """Parent-side handle of one worker process (mutable: its state changes per call)."""

    proc: subprocess.Popen
    reader: Connection
    writer: Connection
    started: float
    ready: bool = False
    job: int | None = None  # index into the current batch
    deadline: float = 0.0

    @property
    def idle(self) -> bool:
        return self.ready and self.job is None

    def exit_code(self) -> "int | None":
        """The exit status once the process has ended (waits a moment for it), else None."""
        try:
            return self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            return None


class WorkerPool:
    """``workers`` processes that run isolated verifier calls with a hard per-call timeout.

    ``run`` is serialised by a lock (one batch at a time); use one pool per thread for more.
    """

    def __init__(self, workers: int = 2, warm: Sequence[str] = _WARM) -> None:
        self.size = max(1, int(workers))
        self.warm = tuple(warm)
        self.pid = os.getpid()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._start_failures = 0
        self.replaced = 0  # workers killed or lost and started anew (for tests and stats)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- lifecycle

    def _start_worker(self) -> _Worker:
        proc = subprocess.Popen(
            command(self.warm), stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
        )
        reader = Connection(os.dup(proc.stdout.fileno()), writable=False)
        writer = Connection(os.dup(proc.stdin.fileno()), readable=False)
        proc.stdout.close()  # the Connections own duplicates; no second buffered reader
        proc.stdin.close()
        return _Worker(proc, reader, writer, time.monotonic())

    def _fill(self) -> None:
        while len(self._workers) < self.size:
            self._workers.append(self._start_worker())

    def _discard(self, worker: _Worker, replaced: bool = True) -> None:
        """Kill ``worker`` (and forget it); ``_fill`` starts a replacement."""
        if worker.proc.poll() is None:
            worker.proc.kill()
        worker.exit_code()
        worker.reader.close()
        worker.writer.close()
        self._workers.remove(worker)
        self.replaced += int(replaced)

    def close(self) -> None:
        """Stop every worker (politely, then by force)."""
        for worker in list(self._workers):
            try:
                worker.writer.send(None)
            except (OSError, ValueError):
                pass
        for worker in list(self._workers):
            worker.exit_code()
            self._discard(worker, replaced=False)

    # -- running a batch

    def run(self, jobs: Sequence[tuple[str, Any, Sequence[Any], Mapping[str, Any]]], timeout: float) -> list[Verdict]:
        """Run ``(name, func, args, kwargs)`` jobs in parallel; one Verdict per job, in order."""
        with self.batch(timeout) as batch:
            for i, job in enumerate(jobs):
                batch.add(i, *job)
            results = batch.finish()
        return [results.get(i, Verdict.error("internal: no result")) for i in range(len(jobs))]

    @contextmanager
    def batch(self, timeout: float) -> Iterator["_Batch"]:
        """An incremental batch: ``add`` jobs (they start at once), ``finish`` for the results.

        Holds the pool for the batch, so the caller can do other work while the workers run.
        """
        with self._lock:
            yield _Batch(self, float(timeout))


class _Batch:
    """One batch on a pool: queued jobs, results by key, and the event loop that fills them."""

    def __init__(self, pool: WorkerPool, timeout: float) -> None:
        self.pool = pool
        self.timeout = timeout
        self.results: dict[int, Verdict] = {}
        self.pending: deque[tuple[int, bytes]] = deque()

    def add(self, key: int, name: str, func: Any, args: Any, kwargs: Any) -> None:
        """Queue one call under ``key`` and hand it to an idle worker if there is one."""
        try:
            payload = pickle.dumps((name, func, tuple(args), dict(kwargs)))
        except Exception as exc:  # noqa: BLE001 - a lambda, a closure, an unpicklable argument
            self.results[key] = Verdict.error(f"{name}: cannot send the call to a worker: {exc}")
            return
        self.pending.append((key, payload))
        self._step(0.0)

    def finish(self) -> dict[int, Verdict]:
        """Wait for every queued call; ``{key: Verdict}``."""
        while self.pending or any(w.job is not None for w in self.pool._workers):
            self._step(None)
        return self.results

    def _step(self, wait_at_most: float | None) -> None:
        self.pool._fill()
        self._dispatch()
        self._wait_and_handle(wait_at_most)
        if self.pool._start_failures >= _MAX_START_FAILURES:
            self._fail_pending("verifier workers fail to start")

    def _dispatch(self) -> None:
        for worker in list(self.pool._workers):
            if worker.idle and worker.proc.poll() is not None:  # died between calls (OOM killer...)
                self.pool._discard(worker)
                continue
            if worker.idle and self.pending:
                i, payload = self.pending.popleft()
                try:
                    worker.writer.send((i, payload))
                except (OSError, ValueError):
                    self.pending.appendleft((i, payload))
                    self.pool._discard(worker)
                    continue
                worker.job, worker.deadline = i, time.monotonic() + self.timeout

    def _wait_and_handle(self, wait_at_most: float | None) -> None:
        workers = list(self.pool._workers)
        limit = self._wait_time() if wait_at_most is None else min(wait_at_most, self._wait_time())
        ready = wait([w.reader for w in workers], limit)  # a dead worker reads EOF
        for worker in workers:
            if worker.reader in ready:
                self._receive(worker)
        self._expire(time.monotonic())

    def _wait_time(self) -> float:
        now = time.monotonic()
        limits = [w.deadline for w in self.pool._workers if w.job is not None]
        limits += [w.started + STARTUP_TIMEOUT for w in self.pool._workers if not w.ready]
        return max(0.0, min(limits) - now) if limits else 1.0

    def _receive(self, worker: _Worker) -> None:
        try:
            job_id, verdict = worker.reader.recv()
        except (EOFError, OSError, pickle.UnpicklingError):  # the worker died (or wrote garbage)
            self._lost(worker, f"worker crashed (exit code {worker.exit_code()})")
            return
        if job_id == "ready":
            worker.ready, self.pool._start_failures = True, 0
            return
        self.results[job_id] = verdict
        worker.job = None

    def _lost(self, worker: _Worker, reason: str) -> None:
        if worker not in self.pool._workers:
            return
        if worker.job is not None:
            self.results[worker.job] = Verdict.error(reason)
        elif not worker.ready:
            self.pool._start_failures += 1
        self.pool._discard(worker)

    def _expire(self, now: float) -> None:
        for worker in list(self.pool._workers):
            if worker.job is not None and now >= worker.deadline:
                self._lost(worker, f"timeout after {self.timeout:g}s")
            elif not worker.ready and now >= worker.started + STARTUP_TIMEOUT:
                self._lost(worker, "worker did not start")

    def _fail_pending(self, reason: str) -> None:
        while self.pending:
            i, _ = self.pending.popleft()
            self.results[i] = Verdict.error(reason)


# ---- the default pool and the runtime's entry point ------------------------------------------------

_DEFAULT: WorkerPool | None = None
_DEFAULT_LOCK = threading.Lock()


def _env_workers(default: int = 2, name: str = "SKILLDSL_VERIFIER_WORKERS") -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default  # junk: the default


def default_pool() -> WorkerPool:
    """The process-wide pool (2 workers, or ``$SKILLDSL_VERIFIER_WORKERS``), created on first use."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None or _DEFAULT.pid != os.getpid():  # a forked child needs its own
            _DEFAULT = WorkerPool(_env_workers())
        return _DEFAULT


@atexit.register
def shutdown_default_pool() -> None:
    """Stop the default pool's workers (also run at interpreter exit)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is not None and _DEFAULT.pid == os.getpid():
            _DEFAULT.close()
        _DEFAULT = None


Call = tuple[VerifierSpec, Sequence[Any], Mapping[str, Any]]


def concurrent_workers() -> int:
    """Threads for one batch's ``concurrent`` calls: ``$SKILLDSL_CONCURRENT_VERIFIERS``, else as
    many as the sandbox runs at once (one more than the cores)."""
    from ..sandbox.pool import default_workers

    return _env_workers(default_workers(), "SKILLDSL_CONCURRENT_VERIFIERS")


def run_verifiers(
    calls: Sequence[Call], timeout: float = DEFAULT_TIMEOUT, pool: WorkerPool | None = None
) -> list[Verdict]:
    """One Verdict per ``(spec, args, kwargs)`` call, in order; never raises, never hangs.

    ``concurrent`` verifiers (which wait on their own subprocess, like ``code.passes``) start
    first on up to :func:`concurrent_workers` threads. Other non-isolated verifiers run inline in
    this thread. Isolated ones first try their ``fast`` hook inline; the rest start at once on
    ``pool`` (default: :func:`default_pool`), in parallel with each other and with the inline
    work, with ``timeout`` seconds per call.
    """
    threaded = [i for i, (spec, _, _) in enumerate(calls) if spec.concurrent and not spec.isolate]
    if not threaded:
        return _run_here_or_isolated(calls, timeout, pool)
    with ThreadPoolExecutor(min(len(threaded), concurrent_workers()), thread_name_prefix="verifier") as threads:
        futures = {i: threads.submit(calls[i][0].call, *calls[i][1], **calls[i][2]) for i in threaded}
        rest = [i for i in range(len(calls)) if i not in futures]
        results = dict(zip(rest, _run_here_or_isolated([calls[i] for i in rest], timeout, pool)))
        results.update((i, future.result()) for i, future in futures.items())  # call() never raises
    return [results[i] for i in range(len(calls))]


def _run_here_or_isolated(calls: Sequence[Call], timeout: float, pool: WorkerPool | None) -> list[Verdict]:
    """Non-isolated calls inline; isolated ones via ``fast``, else on the worker pool."""
    if not any(spec.isolate for spec, _, _ in calls):
        return [spec.call(*args, **kwargs) for spec, args, kwargs in calls]
    results: dict[int, Verdict] = {}
    with (pool or default_pool()).batch(timeout) as batch:
        for i, (spec, args, kwargs) in enumerate(calls):
            verdict = spec.call(*args, **kwargs) if not spec.isolate else spec.try_fast(*args, **kwargs)
            if verdict is None:  # starts on a worker now, overlapping the rest of this loop
                batch.add(i, spec.name, spec.func, args, kwargs)
            else:
                results[i] = verdict
        results.update(batch.finish())
    return [results.get(i, Verdict.error("internal: no result")) for i in range(len(calls))]
