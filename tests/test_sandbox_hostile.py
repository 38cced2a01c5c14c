"""The sandbox against code written to get out of it, as an attacker would write it.

Each case is what a hostile response could try against the host: outlive its caller, hold more
memory or inodes than its limits by spreading over processes, look at the host's file system,
mounts and network, or (unprivileged) forge its own result. Leftovers are checked by PID (with
the process's start time, so a reused pid is not mistaken for a survivor) and by pid namespace.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from skilldsl.sandbox import Limits, run

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
# Prints the pid namespace it runs in, then forks children that leave the process group and
# ignore every catchable signal, and sleeps: only a kill of the whole namespace ends it.
STUBBORN = textwrap.dedent("""\
    import os, signal, time
    print(os.readlink('/proc/self/ns/pid'), flush=True)
    for _ in range(3):
        if os.fork() == 0:
            os.setsid()
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(sig, signal.SIG_IGN)
            while True:
                time.sleep(0.1)
    while True:
        time.sleep(0.1)
    """)


# -- processes, read from /proc -------------------------------------------------------------

def _stat(pid: int) -> "tuple[int, int, str] | None":
    """(ppid, start time, state) of a live pid, or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[19]), fields[0]


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _descendants(root: int) -> dict[int, int]:
    """{pid: start time} of every live descendant of ``root``."""
    children: dict[int, list[int]] = {}
    starts = {}
    for pid in _pids():
        stat = _stat(pid)
        if stat:
            children.setdefault(stat[0], []).append(pid)
            starts[pid] = stat[1]
    found, todo = {}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = starts[child]
            todo.append(child)
    return found


def _survivors(pids: dict[int, int]) -> list[int]:
    """The pids of ``pids`` still running as the same process (zombies hold nothing)."""
    alive = []
    for pid, start in pids.items():
        stat = _stat(pid)
        if stat and stat[1] == start and stat[2] not in ("Z", "X"):
            alive.append(pid)
    return alive


def _live_where(test) -> list[int]:
    """Live pids (zombies hold nothing) for which ``test(pid)`` holds."""
    found = []
    for pid in _pids():
        try:
            if test(pid) and (_stat(pid) or (0, 0, "X"))[2] not in ("Z", "X"):
                found.append(pid)
        except OSError:
            continue
    return found


def _in_namespace(ns: str) -> list[int]:
    """Live pids whose pid namespace is ``ns`` (``pid:[inode]``)."""
    return _live_where(lambda pid: os.readlink(f"/proc/{pid}/ns/pid") == ns)


def _wait_until(predicate, seconds: float, step: float = 0.05):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def _foreign_namespaces(pids) -> set[str]:
    ours = os.readlink("/proc/self/ns/pid")
    found = set()
    for pid in pids:
        try:
            ns = os.readlink(f"/proc/{pid}/ns/pid")
        except OSError:
            continue
        if ns != ours:
            found.add(ns)
    return found


def _describe(pids) -> list[str]:
    """``pid state ns: command line`` of each pid, for a failure message."""
    out = []
    for pid in pids:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
            out.append(f"{pid} {(_stat(pid) or (0, 0, '?'))[2]} {os.readlink(f'/proc/{pid}/ns/pid')}: {argv}")
        except OSError:
            out.append(f"{pid} (gone)")
    return out


def _kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# -- the sandbox dies with its caller -------------------------------------------------------

def _score_caller(tmp_path: Path) -> list[str]:
    row = {"id": "stubborn", "prompt": "def f():\n", "response": textwrap.indent(STUBBORN, "    ") + "\n",
           "test": "def check(candidate):\n    candidate()\n", "entry_point": "f"}
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps(row) + "\n")
    return [PYTHON, "-m", "skilldsl", "score", "code_tests", str(data), "--no-progress"]


def _plain_caller(tmp_path: Path) -> list[str]:
    script = f"from skilldsl.sandbox import Limits, run\nrun({STUBBORN!r}, limits=Limits(timeout=60))\n"
    return [PYTHON, "-c", script]


@pytest.mark.parametrize(
    "caller, sig, zygote",
    [("score", signal.SIGKILL, "1"), ("score", signal.SIGTERM, "1"), ("plain", signal.SIGKILL, "0"),
     ("plain", signal.SIGTERM, "1")],
    ids=["score-SIGKILL", "score-SIGTERM", "popen-SIGKILL", "zygote-SIGTERM"],
)
def test_killing_the_caller_leaves_nothing_running(tmp_path, caller, sig, zygote):
    argv = (_score_caller if caller == "score" else _plain_caller)(tmp_path)
    env = {**os.environ, "SKILLDSL_SANDBOX_ZYGOTE": zygote}
    errors = tmp_path / "stderr"
    with open(errors, "wb") as sink:
        proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=sink)
    tree: dict[int, int] = {}
    try:
        # Wait for the namespace's init and the code; then (briefly) for its three stubborn
        # children (a code-test harness may run the code in one more process, or refuse forks).
        def running(least):
            tree.update(_descendants(proc.pid))
            spaces = _foreign_namespaces(tree)
            return spaces if any(len(_in_namespace(ns)) >= least for ns in spaces) else None

        spaces = _wait_until(lambda: running(2), 30)
        assert spaces, f"the sandbox never started: {errors.read_text()[-2000:]}"
        spaces = _wait_until(lambda: running(5), 2) or spaces
        tree.update(_descendants(proc.pid))
        proc.send_signal(sig)
        proc.wait(timeout=10)
        left = _wait_until(lambda: not _survivors(tree) and not any(_in_namespace(ns) for ns in spaces), 10)
        assert left, f"still running after the caller died: {_describe(_survivors(tree))}"
    finally:
        proc.kill()
        proc.wait()
        _kill_all(_survivors(tree))


def test_the_sandbox_ends_at_its_timeout_on_its_own(tmp_path):
    """Nobody outside enforces the wall clock here: the bootstrap is driven by hand and never killed."""
    from skilldsl.sandbox import core, zygote

    reads, writes = os.pipe()
    job = core._job(STUBBORN, Limits(timeout=1), None, str(tmp_path), report_fd=writes)
    boot = subprocess.Popen([PYTHON, "-I", "-S", zygote.BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, pass_fds=(writes,), env=zygote.CHILD_ENV, cwd="/")
    os.close(writes)
    try:
        out, err = boot.communicate(job, timeout=10)
        ns = out.decode().split("\n", 1)[0]
        assert ns.startswith("pid:[") and _wait_until(lambda: not _in_namespace(ns), 3)
        report = os.read(reads, 65536).decode()
        assert "'limit': 'wall'" in report, (report, err)
    finally:
        os.close(reads)
        boot.kill()
        boot.wait()


# -- limits per sandbox, not per process ----------------------------------------------------

def test_memory_is_limited_per_sandbox_across_forked_children():
    code = textwrap.dedent("""\
        import os, time
        children = []
        for _ in range(8):
            pid = os.fork()
            if pid == 0:
                block = bytearray(450 * 1024 * 1024)
                time.sleep(30)
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        print('held', 8 * 450, 'MB')
        """)
    result = run(code, limits=Limits(timeout=8, memory_mb=512, nproc=16))
    assert (result.status, result.limit) == ("limit", "memory"), result.describe()
    assert "held" not in result.stdout


def test_memory_in_anonymous_files_counts_too():
    # memfd pages live in no process's RSS; 8 files x 15 MB stay under the file size limit.
    code = textwrap.dedent("""\
        import os, time
        fds = []
        for i in range(12):
            fd = os.memfd_create(f'hoard{i}')
            os.write(fd, b'x' * (15 * 1024 * 1024))
            fds.append(fd)
        time.sleep(5)
        print('kept', len(fds))
        """)
    result = run(code, limits=Limits(timeout=8, memory_mb=128, fsize_mb=16))
    assert (result.status, result.limit) == ("limit", "memory"), result.describe()


def test_a_private_mount_in_a_nested_namespace_cannot_hold_memory():
    # A new user namespace gives its creator the right to mount a tmpfs of its own: files there
    # are in no process's memory and on no disk the sandbox limits. 40 x 15 MB under 128 MB.
    code = textwrap.dedent("""\
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 1, 0, 0, 0)  # dumpable again, so /proc/self/uid_map is ours to write
        uid, gid = os.getuid(), os.getgid()
        print('unshare', libc.unshare(0x10000000 | 0x00020000), flush=True)
        for path, text in (('setgroups', 'deny'), ('uid_map', f'0 {uid} 1'), ('gid_map', f'0 {gid} 1')):
            try:
                open(f'/proc/self/{path}', 'w').write(text)
            except OSError:
                pass
        os.mkdir('/tmp/m')
        print('mount', libc.mount(b'none', b'/tmp/m', b'tmpfs', 0, b'size=1g'), flush=True)
        written = 0
        try:
            for i in range(40):
                with open(f'/tmp/m/f{i}', 'wb') as fh:
                    fh.write(b'x' * (15 << 20))
                written += 15
        finally:
            print('written', written, flush=True)
        """)
    result = run(code, limits=Limits(timeout=8, memory_mb=128))
    assert not result.passed, result.stdout
    assert "unshare -1" in result.stdout and "mount -1" in result.stdout
    written = int(result.stdout.split("written")[1].split()[0])
    assert written <= Limits().disk_mb  # only the private /tmp took the files


def test_a_directory_flood_hits_the_inode_limit():
    code = textwrap.dedent("""\
        import os
        made = 0
        try:
            while made < 1_000_000:
                os.mkdir(f'd{made}')
                made += 1
        finally:
            print(made, flush=True)
        """)
    result = run(code, limits=Limits(timeout=4))
    assert (result.status, result.limit) == ("limit", "disk"), result.describe()
    assert int(result.stdout.split()[0]) <= Limits().disk_inodes


# -- what the sandbox sees of the host ------------------------------------------------------

_SEE = textwrap.dedent("""\
    import json, os
    points = [line.split()[4] for line in open('/proc/self/mountinfo')]
    net = sorted(os.listdir('/sys/class/net')) if os.path.isdir('/sys/class/net') else []
    print(json.dumps({'points': points, 'net': net, 'top': sorted(os.listdir('/')),
                      'etc': sorted(os.listdir('/etc')), 'hostname': open('/etc/hostname').read().strip()}))
    """)
# What the allow-list may show at the top level, plus where this interpreter lives.
_SYSTEM_TOP = {"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc", "tmp"}


def _host_mount_points() -> set[str]:
    return {line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()}


def test_the_host_mount_list_is_not_visible():
    result = run(_SEE, limits=Limits(timeout=5))
    assert result.passed, result.describe()
    seen = json.loads(result.stdout)
    leaked = (_host_mount_points() - {"/", "/proc", "/tmp"}) & set(seen["points"])
    assert not leaked, leaked
    assert len(seen["points"]) < 30


def test_host_network_interfaces_are_not_visible():
    result = run(_SEE, limits=Limits(timeout=5))
    seen = json.loads(result.stdout)
    assert set(seen["net"]) <= {"lo"}, seen["net"]


def test_only_allow_listed_top_level_folders_are_visible():
    result = run(_SEE, limits=Limits(timeout=5))
    seen = json.loads(result.stdout)
    prefix_top = {Path(os.path.realpath(p)).parts[1] for p in (sys.base_prefix, sys.base_exec_prefix)}
    leaked = set(seen["top"]) - _SYSTEM_TOP - prefix_top
    assert not leaked, leaked  # e.g. a work area, /var (logs), files at /
    assert "shadow" not in seen["etc"] and "hostname" in seen["etc"]
    assert seen["hostname"] == "sandbox"


# -- not root: a user namespace, or a loud refusal -----------------------------------------

_UNPRIVILEGED = textwrap.dedent("""\
    import json, os, sys
    sys.path.insert(0, sys.argv[1])
    from skilldsl.sandbox import Limits, run
    see, stubborn, bomb, forge = (open(os.path.join(sys.argv[2], name)).read() for name in ('see', 'stubborn', 'bomb', 'forge'))
    out = {}
    r = run(see, limits=Limits(timeout=5))
    out['see'] = [r.status, r.isolation, r.stdout, r.stderr[-500:]]
    r = run(stubborn, limits=Limits(timeout=1))
    out['stubborn'] = [r.status, r.stdout.split('\\n', 1)[0]]
    r = run(bomb, limits=Limits(timeout=3, nproc=8))
    out['bomb'] = [r.status, r.stdout]
    r = run(forge, limits=Limits(timeout=5))
    out['forge'] = [r.status, r.exit_code, r.stdout]
    r = run("import os, signal\\nos.kill(0, signal.SIGKILL)\\n", limits=Limits(timeout=5))
    out['kill_own_group'] = [r.status, r.signal, r.reason]
    print(json.dumps(out))
    """)
_BOMB = textwrap.dedent("""\
    import os, time
    made = 0
    for _ in range(64):
        try:
            if os.fork() == 0:
                time.sleep(2)
                os._exit(0)
            made += 1
        except OSError:
            break
    print(made, flush=True)
    """)
# Tries every way a process in the sandbox could reach its supervisor: signals to the
# namespace's init (pid 1) and writing a fake "exit 0" report into its descriptors.
_FORGE = textwrap.dedent("""\
    import os, signal, time
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
        try:
            os.kill(1, sig)
        except OSError:
            pass
    opened = []
    for fd in range(64):
        try:
            with open(f'/proc/1/fd/{fd}', 'w') as fh:
                fh.write(repr({'exit': 0, 'signal': None, 'cpu': 0.0}) + '\\n')
            opened.append(fd)
        except OSError:
            pass
    print('opened', opened, flush=True)
    time.sleep(0.3)
    raise SystemExit(1)
    """)


def _unprivileged_copy(base: Path) -> Path:
    """The sandbox's files in a folder the user ``nobody`` can read (/root is mode 700 here).

    The process sandbox itself (core, zygote, _boot) is copied as is; the package's
    ``__init__`` files are replaced so that only it is imported (the code evidence on top of it
    and the rest of skilldsl need packages the system python does not have).
    """
    package = base / "skilldsl"
    shutil.copytree(REPO / "skilldsl" / "sandbox", package / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "skilldsl" / "values.py", package / "values.py")
    (package / "__init__.py").write_text("")
    (package / "sandbox" / "__init__.py").write_text("from .core import Limits, run\n")
    return base


def _running_from(folder: Path) -> list[int]:
    """Live pids whose command line names a file under ``folder``."""
    return _live_where(lambda pid: str(folder).encode() in Path(f"/proc/{pid}/cmdline").read_bytes())


def _system_python() -> "str | None":
    for candidate in ("/usr/bin/python3.11", "/usr/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _as_nobody(files: dict, timeout: float) -> subprocess.CompletedProcess:
    """Run ``files["driver.py"]`` as ``nobody`` with the system python, next to a copy of the
    sandbox and ``files`` (its argv: that folder, twice). Skips where the machine cannot."""
    runuser, python = shutil.which("runuser"), _system_python()
    if os.geteuid() != 0 or not runuser or not python:
        pytest.skip("needs root (to become nobody), runuser and a system python3 nobody can run")
    base = Path(tempfile.mkdtemp(prefix="skilldsl-nobody-"))
    try:
        os.chmod(base, 0o755)
        _unprivileged_copy(base)
        for name, text in files.items():
            (base / name).write_text(text)
        return subprocess.run([runuser, "-u", "nobody", "--", python, "-I", str(base / "driver.py"), str(base),
                               str(base)], capture_output=True, text=True, timeout=timeout, cwd="/")
    finally:
        _kill_all(_running_from(base))  # whatever escaped (the copied files' path marks it)
        shutil.rmtree(base, ignore_errors=True)


def test_unprivileged_runs_are_isolated_through_a_user_namespace():
    done = _as_nobody({"see": _SEE, "stubborn": STUBBORN, "bomb": _BOMB, "forge": _FORGE, "driver.py": _UNPRIVILEGED},
                      timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    status, isolation, stdout, stderr = out["see"]
    assert status == "passed", stderr
    assert {"user", "mount", "pid", "net", "ipc", "uts", "rootfs", "seccomp", "watchdog"} <= set(isolation), isolation
    seen = json.loads(stdout)
    assert not (_host_mount_points() - {"/", "/proc", "/tmp"}) & set(seen["points"])
    assert set(seen["top"]) <= _SYSTEM_TOP and set(seen["net"]) <= {"lo"}
    status, ns = out["stubborn"]
    assert status == "timeout" and ns.startswith("pid:[") and not _in_namespace(ns)
    status, made = out["bomb"]
    assert status == "passed" and int(made) <= 8
    status, code, printed = out["forge"]
    assert (status, code) == ("failed", 1) and "opened []" in printed
    status, signal_number, reason = out["kill_own_group"]  # kills only its own process group:
    assert (status, signal_number) == ("crashed", 9), reason  # the run's own failure, not the sandbox's


# B stops A (its watchdog) and itself before it reads the job's sealed frame, as a candidate of the
# same uid can in rlimits-only mode (tests/test_code_forgery.py tries it from a candidate): the
# frame does not fit in the pipe, so nobody reads the rest of the job.
_STOPPED = textwrap.dedent("""\
    import json, os, sys, time
    sys.path.insert(0, sys.argv[1])
    os.environ["SKILLDSL_SANDBOX_ALLOW_RLIMITS_ONLY"] = "1"
    from skilldsl.sandbox import core
    core._namespaces = lambda: []  # as on a host that refuses namespaces to this user
    stop = "def main(*args):\\n    import os, signal\\n    os.kill(os.getppid(), signal.SIGSTOP)\\n    os.kill(os.getpid(), signal.SIGSTOP)\\n"
    start = time.monotonic()
    r = core.run("", limits=core.Limits(timeout=2), harness={"code_objects": (compile(stop, "<stop>", "exec"),)},
                 sealed={"pad": "x" * (4 << 20)})
    print(json.dumps([r.status, r.limit, time.monotonic() - start]))
    """)


def test_a_stopped_sandbox_cannot_hang_its_caller():
    """The job is written to the sandbox under the run's wall clock: a run whose processes stop
    reading it ends at its timeout like any other (it hung its caller forever)."""
    done = _as_nobody({"driver.py": _STOPPED}, timeout=30)
    assert done.returncode == 0, done.stderr[-2000:]
    status, limit, seconds = json.loads(done.stdout)
    assert (status, limit) == ("timeout", "wall") and seconds < 10, (status, limit, seconds)


def test_without_namespaces_the_sandbox_refuses_unless_told(monkeypatch):
    from skilldsl.sandbox import core

    monkeypatch.setattr(core, "NAMESPACES", {})  # as on a host that refuses unshare
    monkeypatch.delenv("SKILLDSL_SANDBOX_ALLOW_RLIMITS_ONLY", raising=False)
    refused = run("print('ran')", limits=Limits(timeout=5))
    assert refused.status == "error" and "ran" not in refused.stdout
    assert "SKILLDSL_SANDBOX_ALLOW_RLIMITS_ONLY" in refused.reason
    monkeypatch.setenv("SKILLDSL_SANDBOX_ALLOW_RLIMITS_ONLY", "1")
    allowed = run("print('ran')", limits=Limits(timeout=5))
    assert (allowed.status, allowed.stdout) == ("passed", "ran\n")
    assert allowed.isolation == ("seccomp", "rlimits", "no_new_privs")
