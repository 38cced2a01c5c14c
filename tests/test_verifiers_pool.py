"""The worker pool: parallel isolated calls, timeouts, crashes, recovery, inline fast paths."""
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import _verifier_plugin  # noqa: F401  (registers test.* verifiers; workers import it by name)
from skilldsl.verifiers import get
from skilldsl.verifiers.pool import WorkerPool, run_verifiers
from skilldsl.verifiers.registry import Verdict, VerifierSpec


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
    assert verdicts[0] == Verdict.error("timeout after 1s")
    assert verdicts[1].value is True
    assert pool.replaced == before + 1
    assert run_verifiers(calls("test.sleep", (0.01,)), pool=pool)[0].value is True  # still serving


def test_crash_is_an_error_and_the_pool_survives(pool):
    verdicts = run_verifiers(calls("test.exit", (3,), (4,)) + calls("test.sleep", (0.01,)), timeout=20, pool=pool)
    assert [v.status for v in verdicts] == ["error", "error", "ok"]
    assert verdicts[0].reason == "worker crashed (exit code 3)"
    assert verdicts[1].reason == "worker crashed (exit code 4)"
    assert run_verifiers(calls("test.pid", ()), pool=pool)[0].status == "ok"


def test_exceptions_become_errors(pool):
    (verdict,) = run_verifiers(calls("test.raise", ()), pool=pool)
    assert verdict == Verdict.error("test.raise raised RuntimeError: boom")


def test_math_cas_runs_in_the_pool_and_fast_path_inline(pool):
    eq = get("math.equivalent")
    before = pool.replaced
    verdicts = run_verifiers([(eq, (r"\boxed{\frac{1}{2}}", "0.5"), {}), (eq, ("#### 1,000", "1000"), {})], pool=pool)
    assert [v.value for v in verdicts] == [True, True]
    assert [v.detail["method"] for v in verdicts] == ["math-verify", "exact"]
    assert pool.replaced == before


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
    waits = VerifierSpec("test.waits", "1", (), "", func=gauge.call, concurrent=True)
    plain = VerifierSpec("test.plain", "1", (), "",
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
    waits = VerifierSpec("test.waits", "1", (), "", func=gauge.call, concurrent=True)
    verdicts = run_verifiers([(waits, (0,), {})] + calls("test.sleep", (0.01,)) + [(waits, (1,), {})],
                             timeout=20, pool=pool)
    assert [v.status for v in verdicts] == ["ok", "ok", "ok"] and gauge.peak == 2


def test_code_passes_is_a_concurrent_verifier():
    spec = get("code.passes")
    assert spec.concurrent and not spec.isolate
