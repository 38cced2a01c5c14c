"""``--plugin`` on the commands that run skills (score, explain, rank, eval), with the example
plugin ``examples/citation_checks.py``. Each run is a subprocess: registrations are process-wide,
so "unknown without the plugin" would not hold after a run in this process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ["--plugin", "examples/citation_checks.py"]
SOURCES = ["The tower stands in Paris."]
GOOD, BAD = "It stands in Paris, France [1].", "It stands in Paris, France [3]."

PICK_SKILL = """skill: cited_pick
mode: pointwise
inputs: {prompt: text, response: text}
evidence:
  citations:
    check: cite.valid(response, 1)
reward: 1 if citations else 0
"""


def _skilldsl(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SKILLDSL_PLUGINS"}
    return subprocess.run([sys.executable, "-m", "skilldsl", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=env)


def _jsonl(path: Path, rows: list) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture
def cited(tmp_path: Path) -> str:
    return _jsonl(tmp_path / "cited.jsonl", [{"question": "Where?", "sources": SOURCES, "response": r}
                                             for r in (GOOD, BAD)])


@pytest.fixture
def rows(tmp_path: Path) -> tuple:
    skill = tmp_path / "cited_pick.skill"
    skill.write_text(PICK_SKILL, encoding="utf-8")
    data = _jsonl(tmp_path / "rank.jsonl", [{"id": "r1", "prompt": "Where?", "candidates": [BAD, GOOD],
                                             "correct": [False, True]}])
    return str(skill), data


def test_score_takes_plugin(cited: str) -> None:
    proc = _skilldsl("score", "examples/cited_answer.skill", cited, "--no-progress", *PLUGIN)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["reward"] for line in proc.stdout.splitlines()] == [1.0, 0.0]


def test_score_without_plugin_names_the_unknown_verifier(cited: str) -> None:
    proc = _skilldsl("score", "examples/cited_answer.skill", cited, "--no-progress")
    assert proc.returncode == 1 and "unknown verifier 'cite.valid'" in proc.stderr


def test_a_built_skill_imports_its_plugin_at_run_time(tmp_path: Path, cited: str) -> None:
    assert _skilldsl("build", "examples/cited_answer.skill", "-o", str(tmp_path), *PLUGIN).returncode == 0
    proc = _skilldsl("score", str(tmp_path / "cited_answer.skillc"), cited, "--no-progress", *PLUGIN)
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["reward"] for line in proc.stdout.splitlines()] == [1.0, 0.0]


def test_explain_takes_plugin() -> None:
    sample = json.dumps({"question": "Where?", "sources": SOURCES, "response": BAD})
    proc = _skilldsl("explain", "examples/cited_answer.skill", "--sample", sample, "--json", *PLUGIN)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["trace"]["citations"]["detail"]["unknown"] == [3]


def test_rank_takes_plugin(rows: tuple) -> None:
    proc = _skilldsl("rank", *rows, "--no-progress", *PLUGIN)
    assert proc.returncode == 0, proc.stderr
    pick = json.loads(proc.stdout)
    assert (pick["selected"], pick["best"], pick["correct"]) == (1, GOOD, True)


def test_eval_takes_plugin(rows: tuple) -> None:
    proc = _skilldsl("eval", *rows, "--no-progress", *PLUGIN)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["accuracy"], summary["n"]) == (1.0, 1)


@pytest.mark.parametrize("command", ["score", "explain", "rank", "eval", "verifiers"])
def test_a_missing_plugin_is_a_one_line_error(command: str, cited: str) -> None:
    extra = ["--sample", "{}"] if command == "explain" else [cited]
    proc = _skilldsl(command, "examples/cited_answer.skill", *extra, "--plugin", "no_such_plugin_module")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: cannot import verifier plugin: ModuleNotFoundError: No module named 'no_such_plugin_module'"]
