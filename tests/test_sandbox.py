"""The process sandbox: ordinary runs, limits, and hostile code.

Every hostile program must end as a non-passing status with a reason, within its limits, with
the pool still working afterwards and nothing changed outside the sandbox. Limits are set
before anything dangerous runs (the fork bomb gets nproc=8 and a 3 s wall clock).
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

import pytest

from skilldsl.sandbox import Limits, SandboxPool, run, run_many

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")

REPO = Path(__file__).resolve().parents[1]
FAST = Limits(timeout=5)


def _isolated(result, *kinds: str) -> bool:
    return all(kind in result.isolation for kind in kinds)


def _processes_of(uid: int) -> list[int]:
    """Live pids on the host whose real uid is ``uid`` (read from /proc; zombies being reaped
    by the dying pid namespace hold nothing and are not counted)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
        except (OSError, ValueError):
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Uid", "").split()[:1] == [str(uid)] and fields.get("State", "").split()[:1] not in (["Z"], ["X"]):
            pids.append(int(entry.name))
    return pids


def test_ordinary_run_passes_with_output():
    result = run("import math\nprint('pi', round(math.pi, 2))", limits=FAST)
    assert result.status == "passed" and result.passed
    assert result.stdout == "pi 3.14\n"
    assert result.exit_code == 0 and result.signal is None and result.limit is None
    assert "rlimits" in result.isolation
    assert 0 < result.seconds < 5


def test_exit_status_and_exception_are_failures():
    exited = run("import sys; sys.exit(3)", limits=FAST)
    assert (exited.status, exited.exit_code) == ("failed", 3)
    raised = run("def f():\n    return 1 / 0\nf()", limits=FAST)
    assert raised.status == "failed" and raised.exit_code == 1
    assert "ZeroDivisionError" in raised.stderr
    assert "_boot.py" not in raised.stderr  # the traceback starts at the code's own frame


def test_infinite_loop_hits_the_wall_clock():
    start = time.monotonic()
    result = run("while True:\n    pass", limits=Limits(timeout=1))
    assert (result.status, result.limit) == ("timeout", "wall")
    assert time.monotonic() - start < 3


def test_cpu_limit_kills_a_spinning_process():
    result = run("while True:\n    pass", limits=Limits(timeout=6, cpu_seconds=1))
    assert (result.status, result.limit) == ("limit", "cpu")
    assert result.seconds < 4


def test_sleeping_code_is_killed_at_the_wall_clock_not_the_cpu_limit():
    result = run("import time\ntime.sleep(30)", limits=Limits(timeout=1, cpu_seconds=1))
    assert (result.status, result.limit) == ("timeout", "wall")


def test_unbounded_allocation_hits_the_memory_limit():
    grow = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))"
    result = run(grow, limits=Limits(timeout=10, memory_mb=256))
    assert (result.status, result.limit) == ("limit", "memory")
    huge = run("x = bytearray(8 * 1024 ** 3)", limits=Limits(timeout=5, memory_mb=256))
    assert (huge.status, huge.limit) == ("limit", "memory")


def test_fork_bomb_is_bounded_and_leaves_nothing_behind():
    bomb = "import os\nprint(os.getuid(), flush=True)\nwhile True:\n    os.fork()"
    result = run(bomb, limits=Limits(timeout=3, nproc=8))
    assert result.status in ("limit", "failed", "timeout")
    assert result.status != "passed" and result.reason
    uid = int(result.stdout.split()[0])
    assert _gone(uid), _processes_of(uid)


def test_escaped_children_die_with_the_run():
    # Children leave the process group and ignore errors; only the pid namespace (or the
    # uid sweep it makes unnecessary) can still catch them.
    code = (
        "import os, time\nprint(os.getuid(), flush=True)\n"
        "for _ in range(4):\n    if os.fork() == 0:\n        os.setsid()\n        time.sleep(60)\n"
        "time.sleep(60)"
    )
    # 3 s: on a loaded machine the sandboxed interpreter must have started and printed before the kill
    result = run(code, limits=Limits(timeout=3, nproc=16))
    assert result.status == "timeout"
    uid = int(result.stdout.split()[0])
    if _isolated(result, "pid", "uid"):
        assert _gone(uid), _processes_of(uid)


def _gone(uid: int, wait: float = 10.0) -> bool:
    """Whether no process of ``uid`` is left, waiting up to ``wait`` seconds for the kernel to
    finish killing what the dying pid namespace took with it."""
    deadline = time.monotonic() + wait
    while _processes_of(uid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_writes_outside_the_sandbox_do_not_land(tmp_path):
    marker = f"skilldsl-sbx-marker-{uuid.uuid4().hex}"
    targets = [f"/tmp/{marker}", str(REPO / marker), f"/var/tmp/{marker}", f"/dev/shm/{marker}", f"/{marker}"]
    code = (
        "import os\nlanded = []\n"
        f"for path in {targets!r} + [os.path.join(os.environ['HOME'], 'inside')]:\n"
        "    try:\n        open(path, 'w').write('x')\n        landed.append(path)\n"
        "    except OSError:\n        pass\nprint(landed)"
    )
    result = run(code, limits=FAST)
    assert result.status == "passed"
    assert "inside" in result.stdout  # the private directory itself is writable
    for path in targets:
        assert not os.path.exists(path), path


def test_file_size_limit():
    code = "open('big', 'wb').write(b'x' * (4 * 1024 * 1024))"
    result = run(code, limits=Limits(timeout=5, fsize_mb=1))
    assert (result.status, result.limit) == ("limit", "file_size")


def test_socket_to_localhost_is_blocked():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.2)
        port = server.getsockname()[1]
        code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"
        result = run(code, limits=FAST)
        if not _isolated(result, "net"):
            pytest.skip("no network namespace here: sockets are not blocked")
        assert result.status == "failed" and "connected" not in result.stdout
        assert "OSError" in result.stderr or "unreachable" in result.stderr.lower()
        with pytest.raises(socket.timeout):
            server.accept()


def test_environment_secrets_are_not_visible(monkeypatch):
    secret = f"s3cret-{uuid.uuid4().hex}"
    monkeypatch.setenv("SKILLDSL_TEST_SECRET", secret)
    code = (
        "import os\nprint(dict(os.environ))\n"
        f"for pid in ({os.getpid()}, {os.getppid()}, 1):\n"
        "    try:\n        print(open(f'/proc/{pid}/environ', 'rb').read())\n"
        "    except OSError as exc:\n        print('blocked', exc.errno)"
    )
    result = run(code, limits=FAST)
    assert result.status == "passed"
    assert secret not in result.stdout and "SKILLDSL_TEST_SECRET" not in result.stdout


def test_interpreter_crash_and_hard_exit():
    crash = run("import ctypes\nctypes.string_at(0)", limits=FAST)
    assert crash.status == "crashed" and crash.signal == signal.SIGSEGV
    assert "SIGSEGV" in crash.reason
    hard = run("import os\nos._exit(7)", limits=FAST)
    assert (hard.status, hard.exit_code) == ("failed", 7)


def test_huge_output_is_capped():
    result = run("while True:\n    print('x' * 1000)", limits=Limits(timeout=5, output_bytes=10_000))
    assert (result.status, result.limit) == ("limit", "output")
    assert len(result.stdout) <= 10_000
    assert result.seconds < 3


def test_repo_and_home_are_hidden_but_the_standard_library_works():
    code = (
        "import os, json, decimal, hashlib, sqlite3, zoneinfo, ctypes\n"
        f"print(os.path.exists({str(REPO / 'pyproject.toml')!r}), os.path.exists(os.path.expanduser('~root/.bashrc')))\n"
        "print(sorted(os.listdir('/tmp')), os.getcwd())\n"
        "print(hashlib.sha256(b'x').hexdigest()[:8], zoneinfo.ZoneInfo('Europe/Paris').key)"
    )
    result = run(code, limits=FAST)
    assert result.status == "passed", result.stderr
    lines = result.stdout.splitlines()
    assert _isolated(result, "mount", "rootfs")
    assert lines[0] == "False False"  # neither the work tree nor a home is in the allow-list
    assert lines[1] == "[] /tmp"  # /tmp is the run's own empty tmpfs, and its cwd
    assert lines[2] == "2d711642 Europe/Paris"


def test_runs_as_an_unprivileged_uid_when_root():
    result = run("import os\nprint(os.getuid(), os.getgid(), os.getgroups())", limits=FAST)
    uid, gid, groups = result.stdout.split(maxsplit=2)
    if "uid" in result.isolation:
        assert int(uid) != 0 and int(gid) != 0 and groups.strip() == "[]"
    else:
        assert int(uid) == os.getuid()


def test_pool_survives_hostile_code_and_keeps_order():
    hostile = [
        "while True:\n    pass",
        "import ctypes\nctypes.string_at(0)",
        "x = bytearray(8 * 1024 ** 3)",
        "import os\nwhile True:\n    os.fork()",
        "print('y' * 10 ** 6)",
    ]
    codes = hostile + [f"print({i} * 2)" for i in range(6)]
    results = run_many(codes, workers=3, limits=Limits(timeout=2, nproc=8, output_bytes=100_000))
    assert [r.status == "passed" for r in results[: len(hostile)]] == [False] * len(hostile)
    assert all(r.reason for r in results[: len(hostile)])
    assert [r.stdout for r in results[len(hostile):]] == [f"{i * 2}\n" for i in range(6)]
    with SandboxPool(2) as pool:
        assert pool.submit("print('still here')", limits=FAST).result().stdout == "still here\n"


def test_globals_and_files_reach_the_code_as_data():
    tricky = "'); import os; os._exit(9); ('"
    code = "print(open('data.txt').read(), value == TRICKY_EXPECTED)".replace("TRICKY_EXPECTED", repr(tricky))
    result = run(code, limits=FAST, files={"data.txt": "hello"}, globals={"value": tricky})
    assert result.status == "passed"
    assert result.stdout == "hello True\n"


def test_limits_from_ir_mapping():
    assert Limits.of({"timeout": 3, "memory_mb": 128}) == Limits(timeout=3, memory_mb=128)
    assert Limits.of(None) == Limits()
    with pytest.raises(ValueError, match="unknown sandbox limits: bogus"):
        Limits.of({"bogus": 1})
    # the CPU budget a second above the wall budget, so a busy loop always meets the wall clock first
    assert Limits(timeout=2.5).to_job()["cpu_seconds"] == 4
    assert Limits(timeout=2.5, cpu_seconds=0.5).to_job()["cpu_seconds"] == 1


def test_fallback_without_namespaces_keeps_limits_and_private_dir(monkeypatch, capsys):
    from skilldsl.sandbox import core

    monkeypatch.setattr(core, "NAMESPACES", {})  # as on a host that refuses unshare
    monkeypatch.setenv(core.ALLOW_RLIMITS_ONLY, "1")  # refused otherwise (test_sandbox_hostile)
    monkeypatch.setattr(core, "_warned", False)
    result = run("import os\nprint(os.getcwd())", limits=FAST)
    assert result.status == "passed"
    assert result.isolation == ("seccomp", "rlimits", "no_new_privs") and result.level == "rlimits-only"
    assert "WARNING: untrusted code runs with rlimits-only isolation" in capsys.readouterr().err
    workdir = result.stdout.strip()
    assert Path(workdir).name.startswith("skilldsl-sbx-") and not Path(workdir).exists()
    loop = run("while True:\n    pass", limits=Limits(timeout=1))
    assert (loop.status, loop.limit) == ("timeout", "wall")
    memory = run("x = bytearray(8 * 1024 ** 3)", limits=Limits(timeout=5, memory_mb=256))
    assert (memory.status, memory.limit) == ("limit", "memory")


def test_callers_project_is_hidden_wherever_it_lives(monkeypatch, tmp_path):
    # The caller's project (its cwd, here under /tmp as in a CI clone) and this checkout are
    # outside the allow-list wherever they are; inside, /tmp is the run's own empty tmpfs.
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'secret'\n")
    monkeypatch.chdir(tmp_path)
    paths = [str(tmp_path / "pyproject.toml"), str(REPO / "pyproject.toml"), str(tmp_path)]
    result = run(f"import os\nprint([os.path.exists(p) for p in {paths!r}])", limits=FAST)
    assert result.passed, result.stderr
    assert result.stdout == "[False, False, False]\n"


def test_doctor_reports_the_isolation_of_this_user_and_an_unprivileged_one(capsys):
    import json

    from skilldsl.cli import main

    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["current_user"]["level"] == "namespaces"
    assert {"rootfs", "watchdog"} <= set(report["current_user"]["isolation"])
    if os.geteuid() == 0:  # tried as nobody, through a user namespace
        unprivileged = report["unprivileged_user"]
        assert unprivileged["level"] == "namespaces" and "user" in unprivileged["isolation"], unprivileged


def test_doctor_says_what_is_missing_and_exits_1(monkeypatch, capsys):
    from skilldsl.cli import main
    from skilldsl.sandbox import core

    monkeypatch.setattr(core, "NAMESPACES", {})  # as on a host that refuses unshare
    monkeypatch.delenv(core.ALLOW_RLIMITS_ONLY, raising=False)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "this user (uid" in out and ": refused" in out
    assert "mount: not available" in out
    assert f"unless {core.ALLOW_RLIMITS_ONLY}=1 (not set)" in out
