"""Run verifier calls: ``isolate=True`` ones (the default: every plugin that does not opt out) on
a pool of worker processes, ``isolate=False`` ones inline, ``concurrent=True`` ones on threads.

Why processes: a verifier that hangs, spins, exits or kills its interpreter must not take the
caller with it (a thread cannot be stopped; a process can), and math-verify bounds its sympy
work with ``SIGALRM``, which works only in a main thread. Each worker runs one call at a time;
the parent enforces a hard per-call timeout (``$SKILLDSL_VERIFIER_TIMEOUT``, default 10 s), kills
a worker that overruns or dies, starts a replacement, and reports
``error("<name>: timeout after Ns")`` or ``error("<name> ended its worker process ...")`` for that
call only. The caller never hangs and never sees an exception, except the user's own Ctrl-C.
Every call's arguments are checked against the verifier's declared parameters first.

The runtime's entry point is :func:`run_verifiers`. An isolated verifier may have a ``fast`` hook
(see ``VerifierSpec.fast``) that decides cheap cases in-process, so e.g. GSM8K's plain-number
answers never pay for inter-process communication.
"""
from __future__ import annotations

import atexit
import os
import pickle
import signal
import subprocess
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Iterator, Mapping, Sequence

from .guard import inline_calls
from .registry import Verdict, VerifierSpec, call_function, verdict_of
from .worker import Answers, command

__all__ = ["DEFAULT_TIMEOUT", "WorkerPool", "run_verifiers", "default_pool", "shutdown_default_pool",
           "concurrent_workers", "verifier_timeout"]

DEFAULT_TIMEOUT = 10.0  # seconds per isolated call, unless $SKILLDSL_VERIFIER_TIMEOUT says otherwise
STARTUP_TIMEOUT = 120.0  # a worker that is not ready by then is considered broken
_MAX_START_FAILURES = 3  # consecutive failed starts before the pool gives up on pending calls
# imported (module) or called (module:function) once per worker, not per call; a verifier's own
# ``warm`` (math-verify's, ~1 s of CPU) is added the first time one of its calls comes
_WARM = ("skilldsl.verifiers.builtin",)


# ---- the parent side -----------------------------------------------------------------------------


@dataclass
class _Worker:
    """Parent-side handle of one worker process (mutable: its state changes per call)."""

    proc: subprocess.Popen
    reader: Answers  # its JSON messages, read without blocking
    writer: Connection
    started: float
    awaiting: int = 1  # "ready" answers still due: the start's, then one per warm message
    job: int | None = None  # index into the current batch
    name: str = ""  # the verifier of that job, for messages
    deadline: float = 0.0

    @property
    def ready(self) -> bool:
        return self.awaiting == 0

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
        self.warm = list(warm)
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
        reader = Answers(os.dup(proc.stdout.fileno()))
        writer = Connection(os.dup(proc.stdin.fileno()), readable=False)
        proc.stdout.close()  # the readers own duplicates; no second buffered reader
        proc.stdin.close()
        return _Worker(proc, reader, writer, time.monotonic())

    def _fill(self) -> None:
        while len(self._workers) < self.size:
            self._workers.append(self._start_worker())

    def _warm_for(self, target: "str | None") -> None:
        """Have every worker, now and later, pay ``target``'s first-use cost before its next call
        (it is not ready, and no call's clock runs, until it has)."""
        if not target or target in self.warm:
            return
        self.warm.append(target)
        for worker in list(self._workers):
            try:
                worker.writer.send(("warm", target))
            except (OSError, ValueError):
                self._discard(worker)
                continue
            worker.awaiting += 1
            worker.started = time.monotonic()

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

        Holds the pool for the batch, so the caller can do other work while the workers run. If
        the batch is left early (the user's Ctrl-C), workers still busy with its calls are killed:
        a result they sent later would be taken for another batch's.
        """
        with self._lock:
            batch = _Batch(self, float(timeout))
            try:
                yield batch
            except BaseException:
                for worker in [w for w in self._workers if w.job is not None]:
                    self._discard(worker, replaced=False)
                raise


class _Batch:
    """One batch on a pool: queued jobs, results by key, and the event loop that fills them."""

    def __init__(self, pool: WorkerPool, timeout: float) -> None:
        self.pool = pool
        self.timeout = timeout
        self.results: dict[int, Verdict] = {}
        self.pending: deque[tuple[int, bytes]] = deque()
        self.names: dict[int, str] = {}

    def add(self, key: int, name: str, func: Any, args: Any, kwargs: Any, warm: "str | None" = None) -> None:
        """Queue one call under ``key`` and hand it to an idle worker if there is one; ``warm``:
        the verifier's first-use target (see ``VerifierSpec.warm``)."""
        try:
            payload = pickle.dumps((name, func, tuple(args), dict(kwargs)))
        except Exception as exc:  # noqa: BLE001 - a lambda, a closure, an unpicklable argument
            self.results[key] = Verdict.error(f"{name}: cannot send the call to a worker: {exc}")
            return
        self.names[key] = name
        self.pool._warm_for(warm)
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
                worker.job, worker.name, worker.deadline = i, self.names[i], time.monotonic() + self.timeout

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
        """Handle the whole messages ``worker`` has sent (a partial one waits for the rest, or for
        the call's deadline)."""
        try:
            messages = worker.reader.read()
        except ValueError as exc:  # too big, or not JSON: nothing more from it can be trusted
            self._lost(worker, f": its result cannot be read back: {exc}" if worker.job is not None
                       else "worker sent an unreadable message")
            return
        if messages is None:  # the worker died
            self._lost(worker, _ended(worker.exit_code()))
            return
        for message in messages:
            if worker not in self.pool._workers or not self._handle(worker, message):
                return

    def _handle(self, worker: _Worker, message: Any) -> bool:
        """One message; False when it cost the worker its place."""
        if message == ["ready"]:
            if not worker.awaiting:  # only a start or a warm-up is answered with "ready"
                self._lost(worker, " sent a ready nobody asked for")
                return False
            worker.awaiting, self.pool._start_failures = worker.awaiting - 1, 0
            return True
        if type(message) is not list or len(message) != 5 or worker.job is None:
            self._lost(worker, ": its result cannot be read back: not a verdict" if worker.job is not None
                       else "worker sent an unreadable message")
            return False
        job_id, status, value, reason, detail = message
        if job_id != worker.job:  # never credit a result to a call it was not sent for
            self._lost(worker, " sent a result for another call")
            return False
        self.results[job_id] = _checked(worker.name, Verdict(status, value, reason, detail))
        worker.job = None
        return True

    def _lost(self, worker: _Worker, reason: str) -> None:
        """Fail ``worker``'s call with ``reason`` (after the verifier's name) and discard it."""
        if worker not in self.pool._workers:
            return
        if worker.job is not None:
            self.results[worker.job] = Verdict.error(f"{worker.name}{reason}")
        elif not worker.ready:
            self.pool._start_failures += 1
        self.pool._discard(worker)

    def _expire(self, now: float) -> None:
        for worker in list(self.pool._workers):
            if worker.job is not None and now >= worker.deadline:
                self._lost(worker, f": timeout after {self.timeout:g}s (its worker process was stopped)")
            elif not worker.ready and now >= worker.started + STARTUP_TIMEOUT:
                self._lost(worker, "worker did not start")

    def _fail_pending(self, reason: str) -> None:
        while self.pending:
            i, _ = self.pending.popleft()
            self.results[i] = Verdict.error(reason)


def _checked(name: str, verdict: Verdict) -> Verdict:
    """A worker's answer (JSON data) held to the verdict contract on this side too (it crossed a pipe)."""
    try:
        return verdict_of(name, verdict)
    except Exception as exc:  # noqa: BLE001 - an answer no verdict can be made of
        return Verdict.error(f"{name}: its result cannot be read back: {type(exc).__name__}")


def _ended(code: "int | None") -> str:
    """How a worker ended in the middle of a call, after the verifier's name."""
    if code is None:
        return ": its worker process stopped answering"
    if code < 0:
        try:
            return f": its worker process was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f": its worker process was killed by signal {-code}"
    return f" ended its worker process (exit code {code})"


# ---- the default pool and the runtime's entry point ------------------------------------------------

_DEFAULT: WorkerPool | None = None
_DEFAULT_LOCK = threading.Lock()


def _env_workers(default: int = 2, name: str = "SKILLDSL_VERIFIER_WORKERS") -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else default  # junk: the default


def verifier_timeout() -> float:
    """Seconds an isolated call may take: ``$SKILLDSL_VERIFIER_TIMEOUT`` if it is a positive
    number, else :data:`DEFAULT_TIMEOUT`."""
    try:
        value = float(os.environ.get("SKILLDSL_VERIFIER_TIMEOUT", ""))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if 0 < value < float("inf") else DEFAULT_TIMEOUT


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
    calls: Sequence[Call], timeout: "float | None" = None, pool: WorkerPool | None = None
) -> list[Verdict]:
    """One Verdict per ``(spec, args, kwargs)`` call, in order; never raises (but for the user's
    Ctrl-C), never hangs.

    A call whose arguments do not fit the verifier's declared parameters is an ``error`` at once.
    ``concurrent`` verifiers (which wait on their own subprocess, like ``code.passes``) start
    first on up to :func:`concurrent_workers` threads. Other in-process verifiers run inline in
    this thread. Isolated ones first try their ``fast`` hook inline; the rest start at once on
    ``pool`` (default: :func:`default_pool`), in parallel with each other and with the inline
    work, with ``timeout`` seconds per call (default: :func:`verifier_timeout`). In-process calls
    run under :func:`~skilldsl.verifiers.guard.inline_calls` (prints to stderr, a verifier's own
    ``KeyboardInterrupt`` told from the user's).
    """
    results = {i: Verdict.error(problem) for i, (spec, args, kwargs) in enumerate(calls)
               if (problem := spec.argument_problem(args, kwargs))}
    todo = [i for i in range(len(calls)) if i not in results]
    timeout = verifier_timeout() if timeout is None else timeout
    with inline_calls():
        results.update(_run_checked({i: calls[i] for i in todo}, timeout, pool))
    return [results[i] for i in range(len(calls))]


def _run_checked(calls: "dict[int, Call]", timeout: float, pool: WorkerPool | None) -> dict[int, Verdict]:
    """``{key: Verdict}`` for calls whose arguments fit: concurrent ones on threads, overlapping
    the rest."""
    threaded = [i for i, (spec, _, _) in calls.items() if spec.concurrent and not spec.isolate]
    if not threaded:
        return _run_here_or_isolated(calls, timeout, pool)
    with ThreadPoolExecutor(min(len(threaded), concurrent_workers()), thread_name_prefix="verifier") as threads:
        futures = {i: threads.submit(_call_here, calls[i]) for i in threaded}
        results = _run_here_or_isolated({i: c for i, c in calls.items() if i not in futures}, timeout, pool)
        results.update((i, future.result()) for i, future in futures.items())  # never raises
    return results


def _call_here(call: Call) -> Verdict:
    spec, args, kwargs = call
    return call_function(spec.name, spec.func, args, kwargs)


def _run_here_or_isolated(calls: "dict[int, Call]", timeout: float, pool: WorkerPool | None) -> dict[int, Verdict]:
    """In-process calls inline; isolated ones via ``fast``, else on the worker pool."""
    if not any(spec.isolate for spec, _, _ in calls.values()):
        return {i: _call_here(call) for i, call in calls.items()}
    results: dict[int, Verdict] = {}
    with (pool or default_pool()).batch(timeout) as batch:
        for i, (spec, args, kwargs) in calls.items():
            verdict = _call_here((spec, args, kwargs)) if not spec.isolate else spec.try_fast(*args, **kwargs)
            if verdict is None:  # starts on a worker now, overlapping the rest of this loop
                batch.add(i, spec.name, spec.func, args, kwargs, warm=spec.warm)
            else:
                results[i] = verdict
        results.update(batch.finish())
    return {i: results.get(i, Verdict.error("internal: no result")) for i in calls}
