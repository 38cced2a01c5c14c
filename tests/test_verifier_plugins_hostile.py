"""Verifier plugins written as an attacker (or a careless author) would: none of them can end,
freeze or forge a ``skilldsl score`` run. Every honest row keeps its honest reward, every hostile
row is an ``error`` with a clear reason, stdout holds only result lines, and a real Ctrl-C still
interrupts the run (exit 130) with nothing left running. Each run is a subprocess, as a user
would start it (``--plugin FILE.py``)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PLUGIN = '''
import os, sys, time
from pathlib import Path
from skilldsl.verifiers import Verdict, verifier

def _hostile(response, marker):
    """The attack named by the response; an honest word check otherwise."""
    if marker:  # tell the test which process runs the call, once it has started
        Path(marker).write_text(str(os.getpid()))
    if response == "exit":
        sys.exit(0)
    if response == "interrupt":
        raise KeyboardInterrupt
    if response == "sleep":
        time.sleep(1e9)
    if response == "spin":
        while True:
            pass
    if response == "print":
        print('{"id": "x", "reward": 1.0}', flush=True)
    if response == "fd":
        os.write(1, b'{"id": "x", "reward": 1.0}\\n')
    if response == "os_exit":
        os._exit(0)
    return "paris" in response.lower().split()

@verifier("hostile.check", params=("response: text", 'marker: text = ""'))
def check(response, marker=""):
    return _hostile(response, marker)

@verifier("hostile.inline", params=("response: text", 'marker: text = ""'), isolate=False)
def inline(response, marker=""):
    return _hostile(response, marker)
'''

SKILL = """skill: hostile
mode: pointwise
inputs: {response: text, marker: text}
evidence:
  says_paris:
    check: VERIFIER(response, marker=marker)
reward: 1 if says_paris else 0
"""

# (response, honest reward or None for a hostile row, words the error must contain)
ROWS = [
    ("Paris", 1.0, None),
    ("exit", None, "sys.exit(0)"),
    ("London", 0.0, None),
    ("interrupt", None, "KeyboardInterrupt"),
    ("sleep", None, "timeout after 2s"),
    ("spin", None, "timeout after 2s"),
    ("print", 0.0, None),  # the print goes to stderr; the answer itself is honest and wrong
    ("fd", 0.0, None),
    ("os_exit", None, "ended its worker process (exit code 0)"),
    ("It is paris", 1.0, None),
]


def _write(tmp_path: Path, verifier: str) -> tuple[Path, Path]:
    (tmp_path / "hostile_checks.py").write_text(PLUGIN, encoding="utf-8")
    skill = tmp_path / "hostile.skill"
    skill.write_text(SKILL.replace("VERIFIER", verifier), encoding="utf-8")
    return skill, tmp_path / "hostile_checks.py"


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "SKILLDSL_PLUGINS"}
    env.update({"SKILLDSL_VERIFIER_TIMEOUT": "2", "SKILLDSL_VERIFIER_WORKERS": "2"}, **extra)
    return env


def _data(tmp_path: Path, rows: list) -> Path:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"marker": "", **r}) + "\n" for r in rows), encoding="utf-8")
    return path


def test_hostile_plugins_cannot_end_freeze_or_forge_a_score_run(tmp_path: Path) -> None:
    skill, plugin = _write(tmp_path, "hostile.check")
    data = _data(tmp_path, [{"id": f"r{i}", "response": r} for i, (r, _, _) in enumerate(ROWS)])
    proc = subprocess.run([sys.executable, "-m", "skilldsl", "score", str(skill), str(data), "--no-progress",
                           "--plugin", str(plugin)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=_env())
    assert proc.returncode == 1, proc.stderr  # some rows erred
    results = [json.loads(line) for line in proc.stdout.splitlines()]  # only result lines on stdout
    assert [r["id"] for r in results] == [f"r{i}" for i in range(len(ROWS))]
    for (response, reward, words), result in zip(ROWS, results):
        if reward is not None:
            assert (result["status"], result["reward"]) == ("ok", reward), (response, result["reason"])
        else:
            assert result["status"] == "error" and result["reward"] is None, (response, result)
            assert "hostile.check" in result["reason"] and words in result["reason"], (response, result["reason"])
    assert '{"id": "x", "reward": 1.0}' in proc.stderr  # the plugin's output went to stderr


def test_inline_plugins_contain_exits_interrupts_and_prints(tmp_path: Path) -> None:
    # isolate=False is the author's promise of a pure, fast verifier: no process to kill a hang,
    # but exits, its own KeyboardInterrupt, prints (the verifier layer) and writes to fd 1 (the
    # CLI's private results descriptor) are still contained to the row
    skill, plugin = _write(tmp_path, "hostile.inline")
    rows = [("Paris", 1.0), ("exit", None), ("interrupt", None), ("print", 0.0), ("fd", 0.0), ("London", 0.0)]
    data = _data(tmp_path, [{"response": r} for r, _ in rows])
    proc = subprocess.run([sys.executable, "-m", "skilldsl", "score", str(skill), str(data), "--no-progress",
                           "--plugin", str(plugin)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=_env())
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    expected = [("error", None) if reward is None else ("ok", reward) for _, reward in rows]
    assert [(r["status"], r["reward"]) for r in results] == expected, proc.stderr  # only result lines
    assert "sys.exit(0)" in results[1]["reason"] and "KeyboardInterrupt" in results[2]["reason"]


@pytest.mark.parametrize("verifier", ["hostile.check", "hostile.inline"])
def test_a_real_ctrl_c_still_interrupts_the_run(tmp_path: Path, verifier: str) -> None:
    skill, plugin = _write(tmp_path, verifier)
    marker = tmp_path / "started"
    data = _data(tmp_path, [{"response": "Paris"}, {"response": "sleep", "marker": str(marker)}])
    proc = subprocess.Popen([sys.executable, "-m", "skilldsl", "score", str(skill), str(data), "--no-progress",
                             "--plugin", str(plugin)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(SKILLDSL_VERIFIER_TIMEOUT="600"))
    try:
        deadline = time.monotonic() + 120
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.1)
        sleeper = int(marker.read_text())  # the process running the sleeping call
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    _assert_gone(sleeper)


def _assert_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid), f"process {pid} outlived the run"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


# -- a plugin's *result* as the attack: what crosses back from a worker, and what any verifier's
# verdict can hold, must not run code in the scoring process, freeze it, or lie past its checks

RESULT_PLUGIN = r'''
import struct, sys, time
from skilldsl.verifiers import Verdict, verifier

FORGED = b'{"line": 1, "id": "forged", "reward": 1.0, "status": "ok"}\n'


class ExecOnLoad:  # whoever unpickles it runs code: writes a forged result line to fd 1
    def __reduce__(self):
        return (exec, ("import os; os.write(1, %r)" % FORGED,))


class ExitOnLoad:  # whoever unpickles it exits
    def __reduce__(self):
        return (sys.exit, (4,))


class LyingInt(int):  # 10**9 that says it is between 0 and 1
    def __ge__(self, other): return True
    def __le__(self, other): return True
    def __lt__(self, other): return False
    def __gt__(self, other): return False


class FlipFloat(int):  # 0.5 when checked, 1e9 when used
    reads = 0
    def __float__(self):
        FlipFloat.reads += 1
        return 0.5 if FlipFloat.reads % 2 else 1e9


class HeldFloat(float):  # holds 1e9, says 0.5, compares as in range
    def __float__(self): return 0.5
    def __ge__(self, other): return True
    def __le__(self, other): return True


class LyingVerdict(Verdict):  # its value property says true; the value it holds is 1e9
    __slots__ = ()
    @property
    def value(self): return True


class LyingStatus(str):  # "maybe" that equals "ok"
    def __eq__(self, other): return True
    __hash__ = str.__hash__


class ExitRepr:
    def __repr__(self): raise SystemExit(3)


class BadRepr:
    def __repr__(self): raise ValueError("no repr")


class Weird:
    pass


def lying_verdict():
    verdict = object.__new__(LyingVerdict)
    for name, value in (("status", "ok"), ("value", 1e9), ("reason", None), ("detail", {})):
        Verdict.__dict__[name].__set__(verdict, value)
    return verdict


def deep(levels):
    value = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def stall():  # a frame header and one byte of a 1,000-byte result on the channel, then nothing
    sys.path.insert(0, TESTS_DIR)
    from _verifier_plugin import _write_to_channel

    _write_to_channel(struct.pack("!i", 1000) + b"x")
    time.sleep(1e9)


ATTACKS = {
    "exec_on_load": lambda: Verdict.ok(0.0, thing=ExecOnLoad()),
    "exit_on_load": lambda: Verdict.ok(0.0, thing=ExitOnLoad()),
    "stall": stall,
    "lying_int": lambda: Verdict.ok(LyingInt(10 ** 9)),
    "flip_float": lambda: FlipFloat(1),
    "held_float": lambda: Verdict.ok(HeldFloat(1e9)),
    "lying_verdict": lying_verdict,
    "lying_status": lambda: Verdict(LyingStatus("maybe"), 1.0),
    "exit_repr": lambda: Verdict.ok(0.0, thing=ExitRepr()),
    "bad_repr": lambda: Verdict.ok(0.0, thing=BadRepr(), more=[BadRepr()]),
    "weird_reason": lambda: Verdict("ok", 0.0, Weird()),
    "deep": lambda: Verdict.ok(0.0, thing=deep(100_000)),
    "huge": lambda: Verdict.ok(0.0, thing="x" * 20_000_000),
}


def _attack(response):
    if response in ATTACKS:
        return ATTACKS[response]()
    return Verdict.ok(1.0 if "paris" in response.lower() else 0.0, said=response)


@verifier("result.check", params=("response: text",), returns="number")
def check(response):
    return _attack(response)


@verifier("result.inline", params=("response: text",), returns="number", isolate=False)
def inline(response):
    return _attack(response)
'''

RESULT_SKILL = """skill: results
mode: pointwise
inputs: {response: text}
evidence:
  said:
    check: VERIFIER(response)
reward: said
"""

# response -> what its row must be: ("ok", reward) or ("error", words of the reason). Honest rows
# sit between the attacks, so a row lost or shifted after an attack shows as well
RESULT_ROWS = {
    "Paris": ("ok", 1.0),
    "exec_on_load": ("ok", 0.0),   # the object reaches no one who unpickles it: only its repr travels
    "exit_on_load": ("ok", 0.0),
    "London": ("ok", 0.0),
    "stall": ("error", "timeout after 2s"),
    "lying_int": ("error", "ok with LyingInt"),
    "flip_float": ("error", "unsupported value of type FlipFloat"),
    "held_float": ("error", "ok with number 1000000000.0"),
    "lying_verdict": ("error", "ok with number 1000000000.0"),
    "lying_status": ("error", "unknown status 'maybe'"),
    "exit_repr": ("error", "called sys.exit(3)"),
    "bad_repr": ("ok", 0.0),
    "weird_reason": ("ok", 0.0),
    "It is paris": ("ok", 1.0),
    "deep": ("ok", 0.0),
    "huge": ("ok", 0.0),
    "paris again": ("ok", 1.0),
}
INLINE_ATTACKS = [r for r in RESULT_ROWS if r != "stall"]  # an in-process call that never returns cannot be stopped


def _score_results(tmp_path: Path, verifier: str, responses: list) -> tuple[subprocess.CompletedProcess, dict]:
    plugin = RESULT_PLUGIN.replace("TESTS_DIR", repr(str(Path(__file__).parent)), 1)
    (tmp_path / "result_checks.py").write_text(plugin, encoding="utf-8")
    skill = tmp_path / "results.skill"
    skill.write_text(RESULT_SKILL.replace("VERIFIER", verifier), encoding="utf-8")
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"id": r, "response": r}) + "\n" for r in responses), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "skilldsl", "score", str(skill), str(data), "--no-progress",
                           "--plugin", str(tmp_path / "result_checks.py")], cwd=ROOT, capture_output=True,
                          timeout=300, env=_env())
    lines = proc.stdout.decode().splitlines()
    return proc, {r["id"]: r for r in map(json.loads, lines)} if len(lines) == len(responses) else {}


@pytest.fixture(scope="module", params=["result.check", "result.inline"])
def result_run(request, tmp_path_factory):
    responses = list(RESULT_ROWS) if request.param == "result.check" else INLINE_ATTACKS
    proc, rows = _score_results(tmp_path_factory.mktemp("results"), request.param, responses)
    return request.param, responses, proc, rows


def test_a_result_cannot_run_code_or_exit_in_the_scoring_process(result_run):
    # a worker's answer was unpickled by the caller: (exec, code) wrote forged lines, (sys.exit, 4)
    # ended the run with no rows; in-process, the result writer's copy of the detail did the same
    verifier, responses, proc, rows = result_run
    stdout = proc.stdout.decode()
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]  # some rows erred; none was lost
    assert b'"forged"' not in proc.stdout and len(stdout.splitlines()) == len(responses), stdout[:2000]
    assert list(rows) == responses  # every row, in order, once
    for response in ("exec_on_load", "exit_on_load"):
        assert (rows[response]["status"], rows[response]["reward"]) == ("ok", 0.0), rows[response]
        assert isinstance(rows[response]["trace"]["said"]["detail"]["thing"], str)  # its repr, as text


def test_honest_rows_keep_their_reward_around_hostile_results(result_run):
    verifier, responses, proc, rows = result_run
    for response in responses:
        status, expected = RESULT_ROWS[response]
        row = rows[response]
        assert row["status"] == status, (response, row["reason"])
        if status == "ok":
            assert row["reward"] == expected, (response, row)
        else:
            assert row["reward"] is None and verifier in row["reason"] and expected in row["reason"], (response, row)


def test_a_value_is_read_once_and_must_be_a_plain_number(result_run):
    # a lying int, a float() that changes between reads, a float subclass hiding what it holds
    # and a Verdict subclass whose value property differs from its value were all reward 1e9
    _, _, _, rows = result_run
    for response in ("lying_int", "flip_float", "held_float", "lying_verdict", "lying_status"):
        assert rows[response]["status"] == "error", rows[response]


def test_a_detail_or_reason_cannot_break_the_results_writer(result_run):
    # each of these ended the run (exit 70) when the result line was written
    _, _, proc, rows = result_run
    assert all(len(line) < 1_000_000 for line in proc.stdout.splitlines())
    assert rows["weird_reason"]["reason"] is None  # a reason that is not text is dropped
    detail = rows["bad_repr"]["trace"]["said"]["detail"]
    assert detail == {"thing": "<unprintable BadRepr>", "more": ["<unprintable BadRepr>"]}
    deep, depth = rows["deep"]["trace"]["said"]["detail"], 0
    while isinstance(deep, dict) and deep:
        deep, depth = next(iter(deep.values())), depth + 1
    assert depth < 100 and "deeper than" in deep  # cut, with a word that says so
    huge = rows["huge"]["trace"]["said"]["detail"]["thing"]
    assert huge.startswith("xxx") and len(huge) < 200_000 and "more characters" in huge


def test_a_worker_that_never_finishes_its_answer_is_stopped(result_run):
    # it wrote a frame header and one byte: the caller waited for the rest forever
    verifier, _, proc, rows = result_run
    if verifier != "result.check":
        pytest.skip("only a worker has a channel to stall")
    assert "timeout after 2s" in rows["stall"]["reason"]


LOUD_PLUGIN = '''
import os
print("hello from a plugin")
os.write(1, b"and from its fd 1\\n")
from skilldsl.verifiers import verifier


@verifier("loud.check", params=("response: text",))
def check(response):
    return True
'''


@pytest.mark.parametrize("command", [["verifiers", "--json", "loud."], ["dump", "--stage", "ir", "SKILL"]])
def test_a_plugin_printing_as_it_loads_cannot_break_json_output(tmp_path, command):
    # its lines went to stdout ahead of the JSON, which no longer parsed
    (tmp_path / "loud.py").write_text(LOUD_PLUGIN, encoding="utf-8")
    skill = tmp_path / "loud.skill"
    skill.write_text(RESULT_SKILL.replace("VERIFIER", "loud.check"), encoding="utf-8")
    argv = [str(skill) if part == "SKILL" else part for part in command]
    proc = subprocess.run([sys.executable, "-m", "skilldsl", *argv, "--plugin", str(tmp_path / "loud.py")],
                          cwd=ROOT, capture_output=True, timeout=120, env=_env())
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    data = json.loads(proc.stdout)
    assert "loud.check" in json.dumps(data)
    assert b"hello from a plugin" in proc.stderr and b"and from its fd 1" in proc.stderr
