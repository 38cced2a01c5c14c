"""Run untrusted Python in a separate, isolated process with hard limits.

The parent side of the sandbox: it starts P (``_boot.py``, forked by a warm zygote or started
with ``python -I -S``, see ``zygote.py``) in a new session, sends the job on its stdin, reads
stdout/stderr with a cap, enforces the wall-clock limit by killing the whole process group, and
classifies how the run ended. The isolation itself (namespaces, the allow-listed root file
system, rlimits, an unprivileged identity, the watchdog) happens in the child; see ``_boot.py``
and ``docs/internals.md``. Where the host allows no namespaces, runs are refused unless
``SKILLDSL_SANDBOX_ALLOW_RLIMITS_ONLY=1`` accepts rlimits only (with a warning on stderr).
"""
from __future__ import annotations

import ast
import marshal
import math
import os
import queue
import selectors
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterator

from ._boot import EXIT_MEMORY, NAMESPACES, REQUIRED, probe
from .zygote import Child, spawn

__all__ = ["Limits", "SandboxResult", "run", "isolation_level", "probe_unprivileged", "ALLOW_RLIMITS_ONLY"]

ALLOW_RLIMITS_ONLY = "SKILLDSL_SANDBOX_ALLOW_RLIMITS_ONLY"  # "1": run even where namespaces are refused
_UID_SLOTS = 64
_KILL_GRACE = 2.0  # seconds to wait for a killed tree's pipes to close


@dataclass(frozen=True)
class Limits:
    """Hard limits for one run. ``timeout`` is wall-clock seconds including interpreter start-up."""

    timeout: float = 10.0
    cpu_seconds: float | None = None  # default: the wall timeout rounded up, plus a second (see to_job)
    memory_mb: int = 512  # per process (RLIMIT_AS) and for the whole sandbox (the watchdog)
    output_bytes: int = 1 << 20  # per stream; more is a limit hit
    nproc: int = 16  # processes and threads of the run
    fsize_mb: int = 16  # largest file the code may write
    disk_mb: int = 32  # size of the private tmpfs (cwd, HOME, /tmp)
    disk_inodes: int = 4096  # files and directories on it
    nofile: int = 64

    @classmethod
    def of(cls, spec: "Limits | dict | None") -> "Limits":
        """A Limits from an IR ``limits`` mapping (unknown keys are an error), or as given."""
        if spec is None or isinstance(spec, Limits):
            return spec or cls()
        known = {f.name for f in fields(cls)}
        unknown = set(spec) - known
        if unknown:
            raise ValueError(f"unknown sandbox limits: {', '.join(sorted(unknown))}")
        return cls(**spec)

    def to_job(self) -> dict:
        """The limits as the child reads them (CPU seconds resolved). By default the CPU budget is a
        second above the wall budget: a busy loop meets the wall clock first, a ``timeout`` every
        time (equal budgets raced, and a late-waking watchdog made it a CPU ``limit``); the CPU
        limit stops code that burns CPU faster than time passes (threads)."""
        job = asdict(self)
        given = self.cpu_seconds
        job["cpu_seconds"] = max(1, math.ceil(given)) if given else math.ceil(self.timeout) + 1
        return job


@dataclass(frozen=True)
class SandboxResult:
    """How one sandboxed run ended.

    ``status``: ``passed`` (exit 0), ``failed`` (non-zero exit), ``timeout`` (wall clock),
    ``limit`` (cpu, memory, output, file_size, disk or processes: see ``limit``), ``crashed``
    (killed by a signal such as SIGSEGV) or ``error`` (the sandbox itself could not run the code,
    or refused to for lack of isolation). ``isolation`` lists the mechanisms applied;
    :func:`isolation_level` sums them up.
    """

    status: str
    exit_code: int | None = None
    signal: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    cpu_seconds: float | None = None
    limit: str | None = None
    isolation: tuple[str, ...] = ()
    reason: str | None = None
    harness: tuple = ()  # reports of the code-evidence harness, in order (see code.py, _harness.py)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def level(self) -> str:
        """``isolation_level(self.isolation)``."""
        return isolation_level(self.isolation)

    def describe(self) -> str:
        """One line for humans: status, limit, exit code or signal, reason."""
        parts = [self.status]
        if self.limit:
            parts.append(f"limit={self.limit}")
        if self.signal is not None:
            parts.append(f"signal={_signal_name(self.signal)}")
        elif self.exit_code is not None:
            parts.append(f"exit={self.exit_code}")
        if self.reason:
            parts.append(self.reason)
        return " ".join(parts)


def isolation_level(isolation: "tuple[str, ...] | list[str]") -> str:
    """``namespaces`` (every namespace, the allow-listed root, an unprivileged identity, the
    seccomp filter and the watchdog), ``rlimits-only`` (no namespace at all) or ``partial``;
    ``none`` if nothing ran."""
    applied = set(isolation)
    if not applied:
        return "none"
    full = set(REQUIRED) | {"rootfs", "seccomp", "watchdog"}
    if full <= applied and applied & {"uid", "user"}:
        return "namespaces"
    return "partial" if applied & set(REQUIRED) else "rlimits-only"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # real-time and unnamed signals
        return f"signal {number}"


_uids: "queue.Queue[int] | None" = None
_uids_lock = threading.Lock()


def _uid_pool() -> "queue.Queue[int]":
    global _uids
    with _uids_lock:
        if _uids is None:
            # Per parent process a range of 64 uids, picked by pid: distinct parents rarely share
            # a range, and a shared one only means their runs share an RLIMIT_NPROC budget.
            base = 200_000 + (os.getpid() % 16_384) * _UID_SLOTS
            _uids = queue.Queue()
            for i in range(_UID_SLOTS):
                _uids.put(base + i)
        return _uids


@contextmanager
def _uid_slot() -> Iterator[int | None]:
    """A uid no other concurrent run of this process uses (RLIMIT_NPROC counts per uid)."""
    if os.geteuid() != 0:
        yield None
        return
    pool = _uid_pool()
    uid = pool.get()
    try:
        yield uid
    finally:
        pool.put(uid)


def _forget_uids() -> None:
    global _uids, _uids_lock
    _uids, _uids_lock = None, threading.Lock()  # a forked child takes its own uid range


os.register_at_fork(after_in_child=_forget_uids)


def _namespaces() -> list[str]:
    """The namespaces to ask for: a user namespace first when not root (it makes the rest possible)."""
    return (["user"] if os.geteuid() != 0 else []) + list(NAMESPACES)


def probe_unprivileged(uid: int = 65534) -> tuple[list[str], dict[str, str]]:
    """As root: what an unprivileged user (``uid``) would get here, tried in a throw-away child
    (user namespace, the other namespaces, the allow-listed root): (entered, {what: why not})."""
    if os.geteuid() != 0:
        raise PermissionError("only root can try the isolation as another user")
    return probe(["user", *NAMESPACES], uid=uid)


def rlimits_only_allowed() -> bool:
    """True when the user accepted running untrusted code without namespaces."""
    return os.environ.get(ALLOW_RLIMITS_ONLY, "") == "1"


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(8, "big") + payload


def _job(code: str, limits: Limits, uid: int | None, workdir: str, report_fd: int, *,
         sealed: dict | None = None, **extra: Any) -> bytes:
    """The child's stdin: the job, then the harness's *sealed* fields (the tests, the run's secret),
    each a length-prefixed marshal frame. P reads only the first; the harness reads the second
    itself, once its candidate process exists, so the candidate's memory never held them."""
    job = {
        "code": code,
        "limits": limits.to_job(),
        "uid": uid,
        "workdir": workdir,
        "report_fd": report_fd,
        "namespaces": _namespaces(),
        "require": not rlimits_only_allowed(),
        **extra,
    }
    return _frame(marshal.dumps(job)) + _frame(marshal.dumps(sealed or {}))


class _Capture:
    """Writes the job to the child's stdin while reading its stdout, stderr and report pipes, until
    EOF, the deadline or the cap: a child that stops reading its job cannot block the caller."""

    def __init__(self, child: Child, cap: int, job: bytes) -> None:
        self.cap, self.child = cap, child
        self.stdout_fd, self.stderr_fd, self.report_fd = child.stdout, child.stderr, child.report
        self.buffers = {fd: bytearray() for fd in (self.stdout_fd, self.stderr_fd, self.report_fd)}
        self.over_cap = False
        self.job = memoryview(job)
        os.set_blocking(child.stdin, False)

    def pump(self, deadline: float, stop_at_cap: bool = True) -> bool:
        """Feed and read until every output pipe is closed (True) or the deadline/cap is hit (False)."""
        with selectors.DefaultSelector() as sel:
            for fd in self.buffers:
                sel.register(fd, selectors.EVENT_READ)
            if self.child.stdin >= 0:
                sel.register(self.child.stdin, selectors.EVENT_WRITE)
            while any(fd in sel.get_map() for fd in self.buffers):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                for key, _ in sel.select(left):
                    if key.fd == self.child.stdin:
                        if not self._write():
                            sel.unregister(key.fd)
                            self.stop_feeding()
                    elif not self._read(key.fd):
                        sel.unregister(key.fd)
                if self.over_cap and stop_at_cap:
                    return False
        return True

    def _write(self) -> bool:
        """Write what the pipe takes of the job; False once it is all written or the child is gone."""
        try:
            self.job = self.job[os.write(self.child.stdin, self.job):]
        except BlockingIOError:
            return True
        except OSError:  # the child closed its stdin (exited): the rest is not wanted
            self.job = self.job[:0]
        return bool(self.job)

    def stop_feeding(self) -> None:
        """Close the child's stdin: the job is written, or no longer wanted."""
        if self.child.stdin >= 0:
            os.close(self.child.stdin)
            self.child.stdin = -1

    def _read(self, fd: int) -> bool:
        chunk = os.read(fd, 65536)
        buf = self.buffers[fd]
        room = self.cap - len(buf) if fd != self.report_fd else len(chunk)
        buf += chunk[: max(room, 0)]
        if len(chunk) > room:
            self.over_cap = True
        return bool(chunk)

    def text(self, fd: int) -> str:
        return self.buffers[fd].decode("utf-8", errors="replace")

    def reports(self) -> dict:
        """The reaper's report lines (dict literals) merged into one dict."""
        merged: dict = {"harness": []}
        for line in self.buffers[self.report_fd].decode("utf-8", errors="replace").splitlines():
            try:
                fields = ast.literal_eval(line)
                if isinstance(fields, dict) and "harness" in fields:  # every one kept, never merged
                    merged["harness"].append(fields.pop("harness"))
                merged.update(fields)
            except (ValueError, SyntaxError):
                merged.setdefault("error", f"unreadable sandbox report: {line[:200]!r}")
        return merged


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # the session: P, the reaper and whatever stayed in it
    except (ProcessLookupError, PermissionError):
        pass


def _classify(report: dict, killed: str | None, limits: Limits) -> tuple[str, str | None, str | None]:
    """(status, limit, reason) from the reaper's report and why we killed the run, if we did."""
    if killed == "output":
        return "limit", "output", f"output exceeded {limits.output_bytes} bytes"
    if killed or report.get("limit"):  # the wall clock here, or a limit the sandbox's watchdog hit
        return _classify_limit(killed or report["limit"], limits)
    if "refused" in report:
        return "error", None, _refusal(report["refused"])
    if "error" in report:
        return "error", None, report["error"]
    sig, code = report.get("signal"), report.get("exit")
    if sig is None and code is None:
        return "error", None, "the sandbox ended without reporting"
    if sig is not None:
        return _classify_signal(sig, report.get("cpu") or 0.0, limits)
    if code == 0:
        return "passed", None, None
    if code == EXIT_MEMORY:
        return "limit", "memory", f"memory limit of {limits.memory_mb} MB"
    return "failed", None, f"exit status {code}"


def _refusal(missing: str) -> str:
    return (f"no isolation for untrusted code on this machine ({missing}); refusing to run it. "
            f"Set {ALLOW_RLIMITS_ONLY}=1 to accept rlimits only; 'skilldsl doctor' shows what is missing")


def _classify_limit(limit: str, limits: Limits) -> tuple[str, str | None, str | None]:
    """(status, limit, reason) for a run ended at a limit ("wall", "memory", "processes")."""
    if limit == "wall":
        return "timeout", "wall", f"wall-clock limit of {limits.timeout:g}s"
    if limit == "memory":
        return "limit", "memory", f"memory limit of {limits.memory_mb} MB for the whole sandbox"
    if limit == "processes":
        return "limit", "processes", f"process limit of {limits.nproc} for the whole sandbox"
    return "limit", limit, f"{limit} limit"


def _classify_signal(sig: int, cpu: float, limits: Limits) -> tuple[str, str | None, str | None]:
    cpu_limit = limits.to_job()["cpu_seconds"]
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu >= cpu_limit):
        return "limit", "cpu", f"CPU limit of {cpu_limit}s"
    if sig == signal.SIGXFSZ:
        return "limit", "file_size", f"file size limit of {limits.fsize_mb} MB"
    return "crashed", None, f"killed by {_signal_name(sig)}"


def _refine(status: str, limit: str | None, stderr: str) -> tuple[str, str | None]:
    # A fork refused by RLIMIT_NPROC surfaces as EAGAIN inside the code, a full private /tmp
    # (bytes or inodes) as ENOSPC: errors in the code, not signals. Only the label changes
    # (the code can print these lines itself; either way the run did not pass).
    if status == "failed" and limit is None:
        if "BlockingIOError: [Errno 11]" in stderr:
            return "limit", "processes"
        if "[Errno 28] No space left on device" in stderr:
            return "limit", "disk"
    return status, limit


def _start_and_wait(code: str, limits: Limits, uid: int | None, workdir: str, extra: dict, start: float):
    """Start the child, feed it the job while pumping its pipes; (capture, why we killed it or None)."""
    child = spawn()
    try:
        job = _job(code, limits, uid, workdir, child.report_fd_in_child, **extra)
        capture = _Capture(child, limits.output_bytes, job)
        killed = None
        if not capture.pump(start + limits.timeout):  # a child gone early closed its pipes: EOF
            killed = "output" if capture.over_cap else "wall"
        capture.stop_feeding()
        if killed or child.popen is not None:
            # A Popen child is not reaped yet, so its pid cannot have been reused; a zygote
            # child is killed only while its pipes are open, i.e. while it is still alive.
            _kill(child.pid)
        if killed:  # wait (briefly) for the pipes to close: the tree is gone when we return
            capture.pump(time.monotonic() + _KILL_GRACE, stop_at_cap=False)
        if child.popen is not None:
            child.popen.wait()
    finally:
        child.close()
    return capture, killed


def run(
    code: str,
    *,
    limits: "Limits | dict | None" = None,
    files: dict[str, str] | None = None,
    globals: dict[str, Any] | None = None,
    harness: dict | None = None,
    sealed: dict | None = None,
) -> SandboxResult:
    """Run ``code`` in the sandbox and return how it ended; never raises for the code's sake.

    ``files`` are written into the private working directory first; ``globals`` (JSON values)
    are bound in the code's namespace; ``harness`` hands the run to the code-evidence harness
    (built by :mod:`skilldsl.sandbox.code`), whose reports come back in ``SandboxResult.harness``;
    ``sealed`` (marshal data: the tests, the secret) reaches only the harness, which reads it itself.
    """
    limits = Limits.of(limits)
    start = time.monotonic()
    extra = {"files": files or {}, "globals": globals or {}, "sealed": sealed}
    if harness is not None:
        extra["harness"] = harness
    # The temporary directory is the working directory only when no mount namespace is available.
    with _uid_slot() as uid, tempfile.TemporaryDirectory(prefix="skilldsl-sbx-") as workdir:
        capture, killed = _start_and_wait(code, limits, uid, workdir, extra, start)
    return _result(capture, killed, limits, time.monotonic() - start)


def _result(capture: _Capture, killed: str | None, limits: Limits, seconds: float) -> SandboxResult:
    report = capture.reports()
    status, limit, reason = _classify(report, killed, limits)
    stderr = capture.text(capture.stderr_fd)
    status, limit = _refine(status, limit, stderr)
    _warn_if_unisolated(report.get("isolation"))
    return SandboxResult(
        status=status,
        exit_code=report.get("exit"),
        signal=report.get("signal"),
        stdout=capture.text(capture.stdout_fd),
        stderr=stderr,
        seconds=seconds,
        cpu_seconds=report.get("cpu"),
        limit=limit,
        isolation=tuple(report.get("isolation", ())),
        reason=reason,
        harness=tuple(report.get("harness", ())),
    )


_warned = False


def _warn_if_unisolated(isolation: "list[str] | None") -> None:
    """Say once per process, on stderr, that untrusted code ran with less than namespaces."""
    global _warned
    if _warned or isolation is None or isolation_level(isolation) == "namespaces":
        return
    _warned = True
    print(f"skilldsl: WARNING: untrusted code runs with {isolation_level(isolation)} isolation "
          f"({', '.join(isolation)}): it can read what this user can read and outlive its run; "
          "see 'skilldsl doctor'", file=sys.stderr)
