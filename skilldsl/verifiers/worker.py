"""The verifier worker process: the child side of :mod:`skilldsl.verifiers.pool`.

A worker is a fresh interpreter (``python -c BOOT``), not a ``multiprocessing`` child: spawn and
forkserver children re-run the caller's ``__main__`` (a user's training script, or nothing at
all for ``python - <<EOF``), which a library must never do behind its user's back.

Protocol over the inherited stdin/stdout pipes. Parent -> worker, framed and pickled by
``multiprocessing.connection`` (the parent is trusted): ``(job_id, pickled (name, func, args,
kwargs))``, ``("warm", target)`` (pay a verifier's first-use cost now, answered by ``["ready"]``)
or ``None`` (stop). Worker -> parent: plain JSON only, never a pickle (unpickling runs code the
worker chose), each message a 4-byte big-endian length and that many bytes: ``["ready"]`` once
started, then ``[job_id, status, value, reason, detail]`` per job, the Verdict after
``verdict_of`` made it plain data. The parent reads them without blocking (:class:`Answers`), so
a worker that sends half a message and stalls is stopped at its call's deadline like any other.

The worker's own fds 0 and 1 are moved aside first, so a verifier that prints or reads stdin cannot
corrupt the channel, and its output (``print`` or a write to fd 1) reaches the caller's stderr,
never its stdout. SIGINT is ignored (Ctrl-C is the parent's); a verifier's ``SystemExit`` or
``KeyboardInterrupt`` is an ``error`` for its call and the worker goes on; ``os._exit`` or a crash
ends the worker, which the parent reports and replaces.
"""
from __future__ import annotations

import json
import os
import pickle
import struct
import sys
from multiprocessing.connection import Connection
from typing import Any, Sequence

from .guard import ignore_interrupts
from .registry import Verdict, call_function

__all__ = ["command", "serve", "run_payload", "Answers", "MAX_ANSWER"]

_LENGTH = struct.Struct("!I")
MAX_ANSWER = 8 << 20  # bytes of one answer: a verdict's reason and detail are capped far below

_BOOT = (
    "import json, sys; sys.path[:0] = json.loads(sys.argv[1]); "
    "from skilldsl.verifiers.worker import serve; serve(json.loads(sys.argv[2]))"
)


def command(warm: Sequence[str]) -> list[str]:
    """The argv that starts a worker with this process's ``sys.path`` and ``warm`` modules."""
    path = [os.path.abspath(p) if p else os.getcwd() for p in sys.path]
    return [sys.executable, "-c", _BOOT, json.dumps(path), json.dumps(list(warm))]


def _channel() -> tuple[Connection, int]:
    """Take fds 0/1 for the protocol; stdin becomes /dev/null and stdout goes to stderr."""
    reader, writer = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    return Connection(reader, writable=False), writer


def _answer(fd: int, message: list) -> None:
    """One message to the parent: its JSON, after its length."""
    data = json.dumps(message).encode("utf-8")
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


class Answers:
    """The parent's reader of one worker's messages: buffers whatever bytes have arrived and hands
    out the whole messages among them, decoded from JSON (never blocks on a partial one)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()
        os.set_blocking(fd, False)

    def fileno(self) -> int:
        return self.fd

    def read(self) -> "list[Any] | None":
        """The messages complete so far (``[]``: none yet); None once the worker closed its end.
        Raises ``ValueError`` for a message over :data:`MAX_ANSWER` bytes or that is not JSON."""
        try:
            chunk = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        except OSError:
            chunk = b""
        if not chunk:
            return None
        self._buffer += chunk
        return self._whole_messages()

    def _whole_messages(self) -> list:
        """Take every complete message off the buffer (one cut at the end: many small messages
        cost one pass, and a message whose JSON is ``null`` is a message like any other)."""
        messages, start = [], 0
        try:
            while len(self._buffer) - start >= _LENGTH.size:
                (size,) = _LENGTH.unpack_from(self._buffer, start)
                if size > MAX_ANSWER:
                    raise ValueError(f"a message of {size} bytes (at most {MAX_ANSWER})")
                end = start + _LENGTH.size + size
                if len(self._buffer) < end:
                    break
                messages.append(_decoded(bytes(self._buffer[start + _LENGTH.size:end])))
                start = end
        finally:
            del self._buffer[:start]
        return messages

    def close(self) -> None:
        os.close(self.fd)


def _decoded(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past any real verdict
        raise ValueError(f"a message that is not JSON ({type(exc).__name__})") from None


def serve(warm: Sequence[str]) -> None:
    """Worker main loop; returns when the parent says stop or goes away."""
    ignore_interrupts()  # Ctrl-C is the parent's to handle
    _exit_with_parent(os.getppid())
    reader, writer = _channel()
    for target in warm:
        _warm(target)
    _answer(writer, ["ready"])
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
            _answer(writer, ["ready"])
            continue
        verdict = run_payload(payload)
        _answer(writer, [job_id, verdict.status, verdict.value, verdict.reason, dict(verdict.detail)])


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
    """Unpickle and run one call; every failure is an ``error`` Verdict. The Verdict is plain
    data (``call_function`` ends in ``verdict_of``), so its JSON can always be sent back."""
    try:
        name, func, args, kwargs = pickle.loads(payload)
    except Exception as exc:  # noqa: BLE001 - e.g. the plugin module is not importable here
        return Verdict.error(f"worker cannot load the verifier: {type(exc).__name__}: {exc}")
    return call_function(name, func, args, kwargs)
