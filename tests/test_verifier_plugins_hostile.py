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
