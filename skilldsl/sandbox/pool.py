"""Many sandboxed runs at once on a bounded pool.

Each worker thread only waits on its child process (the work happens in the children), so
threads are enough; the bound keeps a batch from starting more interpreters than the machine
has cores for. Whatever a child does, its worker returns a :class:`SandboxResult`.
"""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, TypeVar

from .core import SandboxResult, run

__all__ = ["SandboxPool", "run_many", "default_workers"]

T = TypeVar("T")


def default_workers() -> int:
    """Concurrent sandboxes: one more than the cores, since start-up partly waits on the kernel."""
    return (os.cpu_count() or 1) + 1


def _guarded(func: Callable[..., T], *args: Any, **kwargs: Any) -> "T | SandboxResult":
    try:
        return func(*args, **kwargs)
    except Exception as exc:  # the pool must survive even a sandbox bug (e.g. fd exhaustion)
        return SandboxResult(status="error", reason=f"sandbox failed: {type(exc).__name__}: {exc}")


class SandboxPool:
    """A bounded pool of sandboxed runs: ``submit`` one, ``map`` many (results in order)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox")

    def submit(self, code: str, **kwargs: Any) -> "Future[SandboxResult]":
        """Schedule ``run(code, **kwargs)``; the future never raises for the code's sake."""
        return self._executor.submit(_guarded, run, code, **kwargs)

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> "Future[T | SandboxResult]":
        """Schedule any sandbox-using callable (e.g. ``check_program``) on the pool."""
        return self._executor.submit(_guarded, func, *args, **kwargs)

    def map(self, codes: Iterable[str], **kwargs: Any) -> list[SandboxResult]:
        """Run every code with the same keyword arguments; results in input order."""
        futures = [self.submit(code, **kwargs) for code in codes]
        return [f.result() for f in futures]

    def close(self) -> None:
        """Wait for running sandboxes and stop the workers."""
        self._executor.shutdown(wait=True)

    def __enter__(self) -> "SandboxPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_many(codes: Iterable[str], *, workers: int | None = None, **kwargs: Any) -> list[SandboxResult]:
    """Run many codes in parallel on a temporary pool; results in input order."""
    with SandboxPool(workers) as pool:
        return pool.map(codes, **kwargs)
