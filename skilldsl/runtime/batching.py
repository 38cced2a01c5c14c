"""Cross-request batching for the async API: the samples of concurrent callers, scored together.

A forward pass over many rows costs little more than over a few, so a server or an async pipeline
whose callers each bring a handful of samples should score them in shared batches. A
:class:`ScoreBatcher` queues each caller's samples; one collector task takes the queue when
``max_rows`` rows wait or ``max_wait`` seconds after the oldest arrived, runs them through the
skill's own batching loop (:meth:`Skill.iter_score`) in a worker thread, and hands every caller
exactly its own Results, in order. A row is one sample (a listwise sample with its candidates
counts once).

What callers can rely on:
- the event loop never runs model, verifier or sandbox work: a batch runs in a worker thread, and
  a skill runs one batch at a time whichever thread or loop asks (a lock in ``Skill``: backends
  are not thread-safe);
- a request larger than ``max_rows`` is split across batches and returned as one list in order;
- a caller cancelled while it waits (a client gone) leaves the batch its rows are in running for
  the others; rows of it still queued are dropped, never scored;
- if the runtime raises (it turns bad samples and failing evidence into error Results, so this is
  a bug), the callers of that batch get the exception and the batcher goes on with the next batch.

:meth:`Skill.ascore` keeps one batcher per skill and event loop: asyncio primitives belong to the
loop that made them.
"""
from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable

from .result import Result

__all__ = ["ScoreBatcher", "batcher_for"]

_GUARD = threading.Lock()  # a skill's batchers are looked up from the threads of several event loops


def batcher_for(skill: Any) -> "ScoreBatcher":
    """The :class:`ScoreBatcher` of ``skill`` in the running event loop (made on first use, with
    ``max_rows`` the skill's ``batch_size``). They live in ``skill._batchers`` (loop -> batcher),
    so they go with the skill; those of closed loops are forgotten here."""
    loop = asyncio.get_running_loop()
    with _GUARD:
        per_loop = skill._batchers
        for old in [old for old in per_loop if old.is_closed()]:
            del per_loop[old]
        if loop not in per_loop:
            per_loop[loop] = ScoreBatcher(skill, max_rows=skill.batch_size)
        return per_loop[loop]


@dataclass(eq=False)
class _Request:
    """One caller's samples, the Results gathered so far, and the future the caller awaits."""

    samples: list
    future: asyncio.Future
    arrived: float
    results: list = field(init=False)
    missing: int = field(init=False)

    def __post_init__(self):
        self.results = [None] * len(self.samples)
        self.missing = len(self.samples)

    @property
    def gone(self) -> bool:
        """Answered, failed or cancelled: its queued rows need no scoring."""
        return self.future.done()


@dataclass(eq=False)
class _Piece:
    """Rows ``start:stop`` of a request: a queue entry, or a request's share of a batch."""

    request: _Request
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


class ScoreBatcher:
    """Scores the samples of concurrent callers in shared runtime batches (see the module doc).

    ``max_rows``: rows per batch at most; ``max_wait``: seconds the oldest queued row waits for
    others before its batch starts. A batcher belongs to the first event loop that uses it.
    """

    def __init__(self, skill: Any, *, max_rows: int = 64, max_wait: float = 0.005):
        if not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1:
            raise ValueError(f"max_rows must be a whole number of 1 or more, not {max_rows!r}")
        if not max_wait >= 0:  # also refuses nan
            raise ValueError(f"max_wait must be 0 or more seconds, not {max_wait!r}")
        self.skill = skill
        self.max_rows, self.max_wait = max_rows, float(max_wait)
        self.stats = {"batches": 0, "rows": 0, "requests": 0}
        self._queue: deque[_Piece] = deque()
        self._scoring = 0  # rows of the batch in the worker thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None  # set when rows are queued (or on close)
        self._collector: asyncio.Task | None = None
        self._closed = False

    @property
    def pending_rows(self) -> int:
        """Rows waiting or being scored (for back-pressure decisions and metrics)."""
        return self._scoring + self._queued_rows()

    async def score(self, samples: Iterable[dict]) -> list[Result]:
        """One Result per sample, in order, scored in batches shared with concurrent callers."""
        samples = list(samples)
        self._bind_loop()
        if self._closed:
            raise RuntimeError("this ScoreBatcher is closed")
        self.stats["requests"] += 1
        if not samples:
            return []
        request = _Request(samples, self._loop.create_future(), self._loop.time())
        self._queue.append(_Piece(request, 0, len(samples)))
        self._arrived.set()
        self._start_collector()
        return await request.future  # a cancelled caller cancels only this future

    async def aclose(self) -> None:
        """Refuse new requests, finish what is queued, then return."""
        self._closed = True
        if self._arrived is not None:
            self._arrived.set()  # a collector waiting out its window starts at once
        if self._collector is not None and not self._collector.done():
            await asyncio.shield(self._collector)

    # -- the collector ------------------------------------------------------------------------
    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop, self._arrived = loop, asyncio.Event()
        elif self._loop is not loop:
            raise RuntimeError("this ScoreBatcher belongs to another event loop: make one per loop "
                               "(Skill.ascore does)")

    def _start_collector(self) -> None:
        """One collector task while there is work; it ends when the queue is empty."""
        if self._collector is None or self._collector.done():
            name = f"skilldsl-batcher-{getattr(self.skill, 'name', '?')}"
            self._collector = self._loop.create_task(self._collect(), name=name)

    async def _collect(self) -> None:
        try:
            while self._drop_gone():
                await self._wait_for_rows()
                await self._score_batch(self._take_batch())
        finally:  # only a cancelled collector (its loop shutting down) leaves rows here
            for piece in self._queue:
                piece.request.future.cancel()
            self._queue.clear()

    def _drop_gone(self) -> bool:
        """Forget queued rows nobody waits for any more; whether rows remain."""
        self._queue = deque(piece for piece in self._queue if not piece.request.gone)
        return bool(self._queue)

    def _queued_rows(self) -> int:
        return sum(piece.size for piece in self._queue if not piece.request.gone)

    async def _wait_for_rows(self) -> None:
        """Wait until ``max_rows`` rows are queued, the oldest has waited ``max_wait``, or the
        batcher closes."""
        deadline = self._queue[0].request.arrived + self.max_wait
        while not self._closed and self._queued_rows() < self.max_rows:
            left = deadline - self._loop.time()
            if left <= 0:
                return
            self._arrived.clear()
            try:  # wait_for, not asyncio.timeout: the package supports Python 3.10
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                return

    def _take_batch(self) -> list[_Piece]:
        """Up to ``max_rows`` queued rows, oldest first; a request that does not fit is split
        and its rest stays at the head of the queue."""
        batch, room = [], self.max_rows
        while self._queue and room:
            piece = self._queue[0]
            if piece.request.gone:
                self._queue.popleft()
                continue
            stop = min(piece.stop, piece.start + room)
            batch.append(_Piece(piece.request, piece.start, stop))
            room -= stop - piece.start
            if stop == piece.stop:
                self._queue.popleft()
            else:
                piece.start = stop
        return batch

    async def _score_batch(self, batch: list[_Piece]) -> None:
        samples = [s for piece in batch for s in piece.request.samples[piece.start:piece.stop]]
        if not samples:
            return
        self._scoring = len(samples)
        try:
            results = await asyncio.to_thread(_score_in_thread, self.skill, samples)
        except asyncio.CancelledError:  # the loop is going away: the thread finishes unobserved
            for piece in batch:
                piece.request.future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - a runtime bug: these callers get it, later batches run
            _fail(batch, exc)
        else:
            _deliver(batch, results)
        finally:
            self._scoring = 0
            self.stats["batches"] += 1
            self.stats["rows"] += len(samples)


def _score_in_thread(skill: Any, samples: list) -> list[Result]:
    """Score one batch in the calling (worker) thread, through the skill's own batching loop."""
    results = list(skill.iter_score(samples, progress=False))
    if len(results) != len(samples):  # never hand a caller someone else's row
        raise RuntimeError(f"internal: the runtime returned {len(results)} results for {len(samples)} samples")
    return results


def _deliver(batch: list[_Piece], results: list[Result]) -> None:
    """Give each request its share of ``results``; answer those now complete."""
    offset = 0
    for piece in batch:
        request = piece.request
        request.results[piece.start:piece.stop] = results[offset:offset + piece.size]
        offset += piece.size
        request.missing -= piece.size
        if request.missing == 0 and not request.gone:
            request.future.set_result(request.results)


def _fail(batch: list[_Piece], exc: Exception) -> None:
    """Fail every still-waiting request of ``batch`` with ``exc`` (their queued rest is dropped)."""
    for piece in batch:
        if not piece.request.gone:
            piece.request.future.set_exception(exc)
