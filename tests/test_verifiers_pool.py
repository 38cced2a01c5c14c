"""The worker pool: parallel isolated calls, timeouts, crashes, recovery, inline fast paths."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import _verifier_plugin  # noqa: F401  (registers test.* verifiers; workers import it by name)
from skilldsl.verifiers import get
from skilldsl.verifiers.pool import WorkerPool, run_verifiers
from skilldsl.verifiers.registry import Param, Verdict, VerifierSpec


@pytest.fixture(scope="module")
def pool():
    with WorkerPool(2, warm=("skilldsl.verifiers.builtin",)) as p:
        yield p


def calls(name, *arg_tuples):
    spec = get(name)
    return [(spec, args, {}) for args in arg_tuples]


def test_runs_in_other_processes_in_parallel(pool):
    run_verifiers(calls("test.pid", ()), pool=pool)  # wait until the workers are up
    start = time.monotonic()
    verdicts = run_verifiers(calls("test.sleep", (1.0,), (1.0,)), timeout=10, pool=pool)
    assert [v.value for v in verdicts] == [True, True]
    assert time.monotonic() - start < 1.8  # two workers: the sleeps overlap
    pids = {v.detail["pid"] for v in run_verifiers(calls("test.pid", *[()] * 6), pool=pool)}
    assert os.getpid() not in pids


def test_timeout_kills_and_replaces_the_worker(pool):
    before = pool.replaced
    start = time.monotonic()
    verdicts = run_verifiers(calls("test.sleep", (3600,), (0.01,)), timeout=1, pool=pool)
    assert time.monotonic() - start < 10
    assert verdicts[0] == Verdict.error("test.sleep: timeout after 1s (its worker process was stopped)")
    assert verdicts[1].value is True
    assert pool.replaced == before + 1
    assert run_verifiers(calls("test.sleep", (0.01,)), pool=pool)[0].value is True  # still serving


def test_crash_is_an_error_and_the_pool_survives(pool):
    verdicts = run_verifiers(calls("test.exit", (3,), (4,)) + calls("test.sleep", (0.01,)), timeout=20, pool=pool)
    assert [v.status for v in verdicts] == ["error", "error", "ok"]
    assert verdicts[0].reason == "test.exit ended its worker process (exit code 3)"
    assert verdicts[1].reason == "test.exit ended its worker process (exit code 4)"
    assert run_verifiers(calls("test.pid", ()), pool=pool)[0].status == "ok"


def test_exceptions_become_errors(pool):
    (verdict,) = run_verifiers(calls("test.raise", ()), pool=pool)
    assert verdict == Verdict.error("test.raise raised RuntimeError: boom")


def test_exits_interrupts_and_spins_in_a_worker_cost_only_their_call(pool):
    batch = calls("test.sys_exit", (3,)) + calls("test.interrupt", ()) + calls("test.spin", ()) + calls("test.pid", ())
    verdicts = run_verifiers(batch, timeout=2, pool=pool)
    assert [v.reason for v in verdicts[:3]] == [
        "test.sys_exit called sys.exit(3)", "test.interrupt raised KeyboardInterrupt",
        "test.spin: timeout after 2s (its worker process was stopped)"]
    assert verdicts[3].status == "ok"


def test_inline_exits_interrupts_and_prints_are_contained(capsys):
    spec = get("test.inline_hostile")
    verdicts = run_verifiers([(spec, (what,), {}) for what in ("exit", "interrupt", "print")])
    assert [(v.status, v.reason) for v in verdicts] == [
        ("error", "test.inline_hostile called sys.exit(0)"),
        ("error", "test.inline_hostile raised KeyboardInterrupt: mine"), ("ok", None)]
    out, err = capsys.readouterr()
    assert out == "" and "INLINE PRINT" in err
    print("after")  # stdout is back
    assert capsys.readouterr().out == "after\n"


def test_a_users_ctrl_c_during_an_inline_call_still_stops_the_run():
    def ctrl_c() -> bool:
        os.kill(os.getpid(), signal.SIGINT)  # delivered to this (main) thread, as a real Ctrl-C is
        time.sleep(5)
        return True

    def swallowing_ctrl_c() -> bool:
        try:
            return ctrl_c()
        except BaseException:  # noqa: BLE001 - a verifier that eats every exception
            return True

    for func in (ctrl_c, swallowing_ctrl_c):
        spec = VerifierSpec("test.ctrl_c", "1", (), "", func=func, isolate=False)
        with pytest.raises(KeyboardInterrupt):
            run_verifiers([(spec, (), {})])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_a_users_ctrl_c_while_waiting_on_workers_kills_the_busy_ones(pool):
    run_verifiers(calls("test.pid", ()), pool=pool)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run_verifiers(calls("test.sleep", (3600,)), timeout=3600, pool=pool)
    assert all(w.job is None for w in pool._workers)  # no stale call can answer the next batch
    assert run_verifiers(calls("test.sleep", (0.01,)), pool=pool)[0].value is True


def test_wrong_argument_types_are_errors_before_any_call(pool):
    sleep_spec, has_word = get("test.sleep"), get("test.has_word")
    verdicts = run_verifiers([(sleep_spec, ("long",), {}), (sleep_spec, (float("nan"),), {}),
                              (has_word, ("a cat", 3), {}), (has_word, ("a cat",), {}),
                              (has_word, ("a cat", "cat"), {"case": True}), (has_word, ("a cat", "cat"), {})], pool=pool)
    assert [v.reason for v in verdicts] == [
        "test.sleep: 'seconds' must be a finite number, got text 'long'",
        "test.sleep: 'seconds' must be a finite number, got number nan",
        "test.has_word: 'word' must be text, got number 3",
        "test.has_word is missing argument 'word'",
        "test.has_word has no parameter 'case'", None]
    assert verdicts[-1].value is True


def test_the_per_call_timeout_comes_from_the_environment(monkeypatch):
    from skilldsl.verifiers.pool import DEFAULT_TIMEOUT, verifier_timeout

    for value, expected in (("", DEFAULT_TIMEOUT), ("2.5", 2.5), ("0", DEFAULT_TIMEOUT), ("soon", DEFAULT_TIMEOUT),
                            ("inf", DEFAULT_TIMEOUT), ("nan", DEFAULT_TIMEOUT)):
        monkeypatch.setenv("SKILLDSL_VERIFIER_TIMEOUT", value)
        assert verifier_timeout() == expected, value


def test_a_worker_cannot_answer_for_another_call(pool):
    verdicts = run_verifiers(calls("test.sleep", (0.5,)) + calls("test.forge", ()) + calls("test.sleep", (0.5,)),
                             timeout=20, pool=pool)
    assert verdicts[1] == Verdict.error("test.forge sent a result for another call")
    assert [(v.value, v.detail) for v in (verdicts[0], verdicts[2])] == [(True, {}), (True, {})]  # not forged


def test_a_ready_nobody_asked_for_costs_the_worker_its_place(pool):
    # a "ready" also clears the pool's count of workers that failed to start: unasked, it could
    # keep a pool that cannot start workers retrying for ever
    (verdict,) = run_verifiers(calls("test.unasked_ready", ()), pool=pool)
    assert verdict == Verdict.error("test.unasked_ready sent a ready nobody asked for")
    assert run_verifiers(calls("test.pid", ()), pool=pool)[0].status == "ok"


def test_a_result_the_caller_cannot_read_is_an_error(pool):
    (verdict,) = run_verifiers(calls("test.unreadable", ()), pool=pool)
    assert verdict.status == "error" and "test.unreadable: its result cannot be read back" in verdict.reason
    assert run_verifiers(calls("test.pid", ()), pool=pool)[0].status == "ok"


def test_math_cas_runs_in_the_pool_and_fast_path_inline(pool):
    eq = get("math.equivalent")
    before = pool.replaced
    verdicts = run_verifiers([(eq, (r"\boxed{\frac{1}{2}}", "0.5"), {}), (eq, ("#### 1,000", "1000"), {})], pool=pool)
    assert [v.value for v in verdicts] == [True, True]
    assert [v.detail["method"] for v in verdicts] == ["math-verify", "exact"]
    assert pool.replaced == before


def test_a_verifiers_warm_up_runs_once_per_worker_outside_the_timeout():
    with WorkerPool(2, warm=()) as fresh:
        run_verifiers(calls("test.pid", ()), pool=fresh)
        assert fresh.warm == []  # nothing paid for verifiers that were not called
        verdicts = run_verifiers(calls("test.warmed", *[()] * 4), timeout=1, pool=fresh)
        assert [v.value for v in verdicts] == [True] * 4, [v.reason for v in verdicts]
        assert fresh.warm == ["_verifier_plugin:slow_warm"] and fresh.replaced == 0


def test_inline_verifiers_and_unpicklable_calls(pool):
    inline = run_verifiers(calls("format.json", ('{"a": 1}',), ("nope",)), pool=pool)
    assert [v.value for v in inline] == [True, False]
    lambda_spec = VerifierSpec("test.lambda", "1", (), "", func=lambda: True, isolate=True)
    (verdict,) = run_verifiers([(lambda_spec, (), {})], pool=pool)
    assert verdict.status == "error" and "cannot send the call to a worker" in verdict.reason


def test_empty_batch(pool):
    assert run_verifiers([], pool=pool) == []


def test_a_worker_killed_between_batches_costs_no_call(pool):
    run_verifiers(calls("test.pid", ()), pool=pool)
    victim = next(w for w in pool._workers if w.ready)
    victim.proc.kill()
    victim.proc.wait(timeout=5)
    verdicts = run_verifiers(calls("test.sleep", *[(0.01,)] * 4), timeout=20, pool=pool)
    assert [v.status for v in verdicts] == ["ok"] * 4


def test_a_verifier_that_prints_or_reads_stdin_cannot_corrupt_the_channel(pool):
    verdicts = run_verifiers(calls("test.noisy", ()) + calls("test.pid", ()), pool=pool)
    assert [v.status for v in verdicts] == ["ok", "ok"]
    assert verdicts[0].detail == {"stdin": ""}


SCRIPT = """
import sys
print("MAIN RAN")
sys.path.insert(0, {tests!r})
from skilldsl.verifiers import get
from skilldsl.verifiers.pool import run_verifiers
(v,) = run_verifiers([(get("math.equivalent"), (r"\\boxed{{\\frac{{1}}{{2}}}}", "0.5"), {{}})])
print(v.status, v.value, v.detail.get("method"))
"""


def test_workers_never_rerun_the_callers_main_module():
    # a script piped to `python -` has no importable __main__, and an unguarded script must not
    # run again in each worker (what multiprocessing's spawn/forkserver would do)
    script = SCRIPT.format(tests=str(Path(__file__).parent))
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["MAIN RAN", "ok True math-verify"]


def test_hostile_arguments_through_the_pool(pool):
    eq = get("math.equivalent")
    huge = "lorem ipsum " * 200_000 + r"so \boxed{\frac{1}{2}}"
    verdicts = run_verifiers(
        [(eq, ("\udcff bytes \\boxed{\\frac{1}{2}}", "0.5"), {}), (eq, (huge, "1/2"), {}), (eq, (r"\boxed{2}", "%%%"), {})],
        timeout=30,
        pool=pool,
    )
    assert [(v.status, v.value) for v in verdicts] == [("ok", True), ("ok", True), ("na", None)]


def test_default_pool_starts_on_demand_and_shuts_down():
    from skilldsl.verifiers import pool as pool_module

    pool_module.shutdown_default_pool()
    (verdict,) = run_verifiers(calls("test.pid", ()))
    assert verdict.status == "ok" and pool_module._DEFAULT is not None
    pool_module.shutdown_default_pool()
    assert pool_module._DEFAULT is None


ORPHAN_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
import _verifier_plugin
from skilldsl.verifiers import get
from skilldsl.verifiers.pool import WorkerPool, run_verifiers
pool = WorkerPool(1, warm=())
run_verifiers([(get("test.pid"), (), {{}})], pool=pool)
print(pool._workers[0].proc.pid, flush=True)
run_verifiers([(get("test.sleep"), (3600,), {{}})], pool=pool, timeout=3600)
"""


def test_a_hung_worker_exits_when_its_parent_dies():
    script = ORPHAN_SCRIPT.format(tests=str(Path(__file__).parent))
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    worker_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait(timeout=10)
    parent.stdout.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker_pid):
        time.sleep(0.2)
    assert not _alive(worker_pid)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_workers_that_cannot_start_fail_the_calls_not_the_caller(monkeypatch):
    from skilldsl.verifiers import pool as pool_module

    monkeypatch.setattr(pool_module, "command", lambda warm: [sys.executable, "-c", "raise SystemExit(5)"])
    with WorkerPool(2) as broken:
        verdicts = run_verifiers(calls("test.pid", (), ()), timeout=5, pool=broken)
    assert [v.reason for v in verdicts] == ["verifier workers fail to start"] * 2


def test_junk_worker_count_in_the_environment_falls_back(monkeypatch):
    from skilldsl.verifiers import pool as pool_module

    monkeypatch.setenv("SKILLDSL_VERIFIER_WORKERS", "many")
    assert pool_module._env_workers() == 2
    monkeypatch.setenv("SKILLDSL_VERIFIER_WORKERS", "3")
    assert pool_module._env_workers() == 3


class Gauge:
    """Counts calls in flight; ``wait_for`` holds each call until ``n`` are in flight at once,
    so running them one at a time cannot pass (the barrier breaks instead)."""

    def __init__(self, n):
        self.lock = threading.Lock()
        self.now = self.peak = 0
        self.barrier = threading.Barrier(n, timeout=10)
        self.threads = set()

    def call(self, tag):
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.threads.add(threading.current_thread().name)
        try:
            self.barrier.wait()
            return Verdict.ok(True, tag=tag)
        finally:
            with self.lock:
                self.now -= 1


def test_concurrent_verifiers_run_side_by_side_within_the_bound(monkeypatch):
    monkeypatch.setenv("SKILLDSL_CONCURRENT_VERIFIERS", "3")
    gauge = Gauge(3)
    waits = VerifierSpec("test.waits", "1", (Param("tag"),), "", func=gauge.call, isolate=False, concurrent=True)
    plain = VerifierSpec("test.plain", "1", (Param("tag"),), "", isolate=False,
                         func=lambda tag: Verdict.ok(True, thread=threading.current_thread().name))
    batch = [(waits, (i,), {}) for i in range(6)] + [(plain, ("p",), {})]
    verdicts = run_verifiers(batch, timeout=5)
    assert [v.status for v in verdicts] == ["ok"] * 7, [v.reason for v in verdicts]
    assert [v.detail["tag"] for v in verdicts[:6]] == list(range(6))  # in call order
    assert gauge.peak == 3  # three at once (the barrier proves it), never more than the bound
    assert threading.main_thread().name not in gauge.threads
    assert verdicts[6].detail["thread"] == threading.main_thread().name  # cheap ones stay inline


def test_concurrent_calls_overlap_the_isolated_ones(pool):
    gauge = Gauge(2)
    waits = VerifierSpec("test.waits", "1", (Param("tag"),), "", func=gauge.call, isolate=False, concurrent=True)
    verdicts = run_verifiers([(waits, (0,), {})] + calls("test.sleep", (0.01,)) + [(waits, (1,), {})],
                             timeout=20, pool=pool)
    assert [v.status for v in verdicts] == ["ok", "ok", "ok"] and gauge.peak == 2


def test_code_passes_is_a_concurrent_verifier():
    spec = get("code.passes")
    assert spec.concurrent and not spec.isolate


def test_the_answer_reader_takes_every_whole_message_in_one_read():
    # a message whose JSON is null ended the old reader's loop: the messages behind it waited in the
    # buffer for bytes that never came (the call timed out); thousands of tiny messages cost one pass
    import os

    from skilldsl.verifiers.worker import Answers

    def frame(data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + data

    r, w = os.pipe()
    reader = Answers(r)
    try:
        os.write(w, frame(b"null") + frame(b'["ready"]') + frame(b"1") * 5000 + frame(b"[1")[:5])
        got = []
        for _ in range(100):  # bounded: the old reader never returned the rest
            got += reader.read()
            if len(got) >= 5002:
                break
        assert got[:2] == [None, ["ready"]] and got[2:] == [1] * 5000
        os.write(w, frame(b"[1")[5:])  # the rest of the half-sent message: not JSON
        with pytest.raises(ValueError, match="not JSON"):
            reader.read()
    finally:
        reader.close()
        os.close(w)
