"""The verifier worker process: the child side of :mod:`skilldsl.verifiers.pool`.

A worker is a fresh interpreter (``python -c BOOT``), not a ``multiprocessing`` child: spawn and
forkserver children re-run the caller's ``__main__`` (a user's training script, or nothing at
all for ``python - <<EOF``), which a library must never do behind its user's back.

Protocol over the inherited stdin/stdout pipes, framed by ``multiprocessing.connection``:
parent -> ``(job_id, pickled (name, func, args, kwargs))``, ``("warm", target)`` (pay a verifier's
first-use cost now, answered by ``("ready", None)``) or ``None`` (stop);
worker -> ``("ready", None)`` once started, then ``(job_id, Verdict)`` per job. The worker's own fds 0 and
1 are moved aside first, so a verifier that prints or reads stdin cannot corrupt the channel, and
its output (``print`` or a write to fd 1) reaches the caller's stderr, never its stdout. SIGINT is
ignored (Ctrl-C is the parent's); a verifier's ``SystemExit`` or ``KeyboardInterrupt`` is an
``error`` for its call and the worker goes on; ``os._exit`` or a crash ends the worker, which the
parent reports and replaces.
"""
from __future__ import annotations

import json
import os
import pickle
import sys
from multiprocessing.connection import Connection
from typing import Sequence

from .guard import ignore_interrupts
from .registry import Verdict, call_function

__all__ = ["command", "serve", "run_payload"]

_BOOT = (
    "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
    "from skilldsl.verifiers.worker import serve; serve(json.loads(sys.argv[2]))"
)


def command(warm: Sequence[str]) -> list[str]:
    """The argv that starts a worker with this process's ``sys.path`` and ``warm`` modules."""
    path = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    return [sys.executable, "-c", _BOOT, json.dumps(path), json.dumps(list(warm))]


def _channel() -> tuple[Connection, Connection]:
    """Take fds 0/1 for the protocol; stdin becomes /dev/null and stdout goes to stderr."""
    reader, writer = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return Connection(reader, writable=False), Connection(writer, readable=False)


def serve(warm: Sequence[str]) -> None:
    """Worker main loop; returns when the parent says stop or goes away."""
    ignore_interrupts()  # Ctrl-C is the parent's to handle
    _exit_with_parent(os.getppid())
    reader, writer = _channel()
    for target in warm:
        _warm(target)
    writer.send(("ready", None))
    while True:
        try:
            message = reader.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job_id, payload = message
        if job_id == "warm":
            _warm(payload)
            writer.send(("ready", None))
            continue
        writer.send((job_id, run_payload(payload)))


def _exit_with_parent(parent: int, every: float = 1.0) -> None:
    """Exit when the parent goes away, even in the middle of a hung call (no orphans)."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(0)

    threading.Thread(target=watch, name="skilldsl-parent-watch", daemon=True).start()


def _warm(target: str) -> None:
    """Import ``module``, or import it and call ``module:function`` (first-use costs, paid once)."""
    import importlib

    module, _, function = target.partition(":")
    try:
        loaded = importlib.import_module(module)
        if function:
            getattr(loaded, function)()
    except Exception:  # noqa: BLE001 - warming is an optimisation only
        pass


def run_payload(payload: bytes) -> Verdict:
    """Unpickle and run one call; every failure is an ``error`` Verdict that can be sent back."""
    try:
        name, func, args, kwargs = pickle.loads(payload)
    except Exception as exc:  # noqa: BLE001 - e.g. the plugin module is not importable here
        return Verdict.error(f"worker cannot load the verifier: {type(exc).__name__}: {exc}")
    verdict = call_function(name, func, args, kwargs)
    try:
        pickle.dumps(verdict)
    except Exception as exc:  # noqa: BLE001 - a detail value that cannot cross processes
        return Verdict(verdict.status, verdict.value, verdict.reason, {"unsendable_detail": str(exc)})
    return verdict
