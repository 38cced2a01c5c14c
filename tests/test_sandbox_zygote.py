"""How sandbox processes are started: the warm zygote, its restart, the Popen fallback, forks."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from skilldsl.sandbox import Limits, run
from skilldsl.sandbox import zygote

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")

FAST = Limits(timeout=5)


def test_popen_fallback_runs_the_same(monkeypatch):
    monkeypatch.setenv("SKILLDSL_SANDBOX_ZYGOTE", "0")
    child = zygote.spawn()
    try:
        assert child.popen is not None
    finally:
        os.close(child.stdin)
        child.stdin = -1
        child.close()
        child.popen.wait(timeout=5)
    result = run("print(6 * 7)", limits=FAST)
    assert (result.status, result.stdout) == ("passed", "42\n")


def test_a_killed_zygote_is_replaced():
    assert run("pass", limits=FAST).passed
    first = zygote._zygote
    if first is None:
        pytest.skip("zygote disabled here")
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait(timeout=5)
    result = run("print('after')", limits=FAST)
    assert (result.status, result.stdout) == ("passed", "after\n")
    assert zygote._zygote is not None and zygote._zygote.proc.pid != first.proc.pid


def test_forked_parent_gets_its_own_zygote():
    assert run("pass", limits=FAST).passed  # make sure this process has a zygote to inherit
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child; reports through its exit status
        ok = zygote._zygote is None and run("print('child')", limits=FAST).stdout == "child\n"
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert run("print('parent')", limits=FAST).stdout == "parent\n"


def test_a_stuck_zygote_is_abandoned_for_popen(monkeypatch):
    assert run("pass", limits=FAST).passed
    stuck = zygote._zygote
    if stuck is None:
        pytest.skip("zygote disabled here")
    monkeypatch.setattr(zygote, "_zygote_failures", 0)
    stuck.sock.settimeout(0.5)
    os.kill(stuck.proc.pid, signal.SIGSTOP)
    result = run("print('fallback')", limits=FAST)
    assert (result.status, result.stdout) == ("passed", "fallback\n")
    assert stuck.proc.wait(timeout=5) == -signal.SIGKILL  # killed, never asked again
    assert run("print('fresh')", limits=FAST).stdout == "fresh\n"
    assert zygote._zygote is not stuck


def test_runs_die_with_their_zygote():
    # Each run's P carries a parent-death signal tied to the zygote: killing the zygote ends the
    # runs it forked at once (an infrastructure error), it does not leave them to the wall clock.
    import threading

    assert run("pass", limits=FAST).passed
    zyg = zygote._zygote
    if zyg is None:
        pytest.skip("zygote disabled here")
    outcome = {}
    code = "import os, time\nprint(os.readlink('/proc/self/ns/pid'), flush=True)\ntime.sleep(60)"
    worker = threading.Thread(target=lambda: outcome.update(result=run(code, limits=Limits(timeout=10))))
    worker.start()
    inside: list = []
    try:
        while worker.is_alive() and len(inside) < 2:  # A and B, in the run's own pid namespace
            inside = _in_other_namespaces(_descendants(zyg.proc.pid))
            worker.join(0.05)
        os.kill(zyg.proc.pid, signal.SIGKILL)
    finally:
        worker.join(15)
    result = outcome["result"]
    assert result.status == "error" and "without reporting" in result.reason, result.describe()
    # the run's processes are gone (the kernel kills B once A, its namespace's init, is dead); B
    # may not have printed its namespace yet when the zygote died on a loaded machine
    assert len(inside) == 2 and _all_gone(inside), [pid for pid in inside if pid in _live()]
    ns = result.stdout.strip()
    assert not ns or (ns.startswith("pid:[") and not [pid for pid in _live() if _namespace(pid) == ns])


def _all_gone(pids: list[int], wait: float = 10.0) -> bool:
    """Whether none of ``pids`` is alive, waiting up to ``wait`` seconds for the kernel's kills."""
    import time

    deadline = time.monotonic() + wait
    while any(pid in _live() for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _live() -> dict[int, int]:
    """{pid: parent pid} of every live process (zombies hold nothing)."""
    found = {}
    for name in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] not in ("Z", "X"):
            found[int(name)] = int(fields[1])
    return found


def _descendants(root: int) -> list[int]:
    live, found = _live(), []
    todo = [root]
    while todo:
        parent = todo.pop()
        children = [pid for pid, ppid in live.items() if ppid == parent]
        found += children
        todo += children
    return found


def _namespace(pid: int) -> "str | None":
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _in_other_namespaces(pids: list[int]) -> list[int]:
    ours = os.readlink("/proc/self/ns/pid")
    return [pid for pid in pids if _namespace(pid) not in (None, ours)]
