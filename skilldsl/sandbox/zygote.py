"""Start sandbox processes: through a warm zygote, or with a plain ``Popen`` as the fallback.

Interpreter start-up plus the bootstrap's imports cost about as much as a short test program,
so by default each parent process keeps one zygote (``_boot.py --zygote``, same interpreter,
clean environment) and asks it to fork a fresh P per run, handing it the run's pipes over a
Unix socket. If the zygote cannot be started or dies, runs fall back to ``Popen``. Set
``SKILLDSL_SANDBOX_ZYGOTE=0`` to always use ``Popen``.
"""
from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["Child", "spawn", "CHILD_ENV"]

BOOT = str(Path(__file__).with_name("_boot.py"))
_REPLY_TIMEOUT = 10.0  # seconds for the zygote to answer a fork request (normally ~1 ms)
CHILD_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


@dataclass
class Child:
    """A started run: its pid (also its process group), the parent's pipe ends, the report fd
    number as the child sees it, and the Popen object when not forked by the zygote."""

    pid: int
    stdin: int
    stdout: int
    stderr: int
    report: int
    report_fd_in_child: int
    popen: "subprocess.Popen | None" = None

    def close(self) -> None:
        """Close the parent's pipe ends (idempotent)."""
        for name in ("stdin", "stdout", "stderr", "report"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)


class _Zygote:
    """One zygote process per parent; requests are serialised (a fork takes about a millisecond)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", BOOT, "--zygote", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=CHILD_ENV, cwd="/", start_new_session=True,
            )
        self.sock = ours
        self.sock.settimeout(_REPLY_TIMEOUT)
        self.lock = threading.Lock()

    def fork(self, fds: list[int]) -> int:
        """Ask for a P with ``fds`` as its stdin, stdout, stderr and report pipe; its pid."""
        with self.lock:
            try:
                socket.send_fds(self.sock, [b"run"], fds)
                reply = self.sock.recv(32)
            except OSError:
                self.proc.kill()  # dead or stuck: a late reply must never answer the next request
                raise
        pid = int(reply or b"-1")
        if pid <= 0:
            raise OSError("the sandbox zygote did not fork")
        return pid

    def close(self) -> None:
        """End the zygote: closing the socket makes it exit."""
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


_zygote: "_Zygote | None" = None
_zygote_lock = threading.Lock()
_zygote_failures = 0
_inherited: "list[_Zygote]" = []


def _get_zygote() -> "_Zygote | None":
    global _zygote
    if os.environ.get("SKILLDSL_SANDBOX_ZYGOTE", "1") == "0" or _zygote_failures >= 3:
        return None
    with _zygote_lock:
        if _zygote is not None and _zygote.proc.poll() is not None:
            _zygote.close()  # it died (killed, or exited): reap it and start another
            _zygote = None
        if _zygote is None:
            _zygote = _Zygote()
    return _zygote


def _forget_after_fork() -> None:
    # A forked parent (e.g. a verifier worker) must not share our zygote socket or a lock that
    # another thread held at fork time; it starts its own zygote when it first needs one.
    global _zygote, _zygote_lock
    if _zygote is not None:
        os.close(_zygote.sock.detach())  # so the zygote still sees EOF when its owner exits
        _inherited.append(_zygote)  # the owner's Popen object: never waited on from here
    _zygote, _zygote_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def _shutdown() -> None:
    global _zygote
    if _zygote is not None:
        _zygote.close()
        _zygote = None


def _pipes() -> tuple[list[int], list[int]]:
    """Four pipes as (parent ends, child ends): stdin, stdout, stderr, report."""
    stdin_r, stdin_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    rep_r, rep_w = os.pipe()
    return [stdin_w, out_r, err_r, rep_r], [stdin_r, out_w, err_w, rep_w]


def _via_zygote(zygote: _Zygote, ours: list[int], theirs: list[int]) -> Child:
    pid = zygote.fork(theirs)
    return Child(pid, *ours, report_fd_in_child=3)


def _via_popen(ours: list[int], theirs: list[int]) -> Child:
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", BOOT, "--parent", str(os.getpid())],  # P dies with this thread
        stdin=theirs[0], stdout=theirs[1], stderr=theirs[2], pass_fds=(theirs[3],),
        env=CHILD_ENV, cwd="/", start_new_session=True,
    )
    return Child(proc.pid, *ours, report_fd_in_child=theirs[3], popen=proc)


def _spawn_with(start: Callable[[list[int], list[int]], Child]) -> Child:
    ours, theirs = _pipes()
    try:
        return start(ours, theirs)
    except BaseException:
        for fd in ours:
            os.close(fd)
        raise
    finally:
        for fd in theirs:  # the child has its copies now
            os.close(fd)


def _try_zygote() -> "Child | None":
    global _zygote_failures
    try:
        zygote = _get_zygote()
        return None if zygote is None else _spawn_with(lambda o, t: _via_zygote(zygote, o, t))
    except OSError:
        _zygote_failures += 1  # a dead zygote is restarted on the next run, a few times at most
        return None


def spawn() -> Child:
    """Start one P (it waits for its job on stdin): forked by the zygote if that works, else Popen."""
    return _try_zygote() or _spawn_with(_via_popen)
