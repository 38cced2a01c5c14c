"""The examples in examples/ run as a user would run them, from the repository root."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, env=None):
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_rl_reward_example_scores_a_group_without_a_model():
    proc = _run("examples/rl_reward.py")
    assert proc.returncode == 0, proc.stderr
    assert "rewards: [1.0, 0.0, 1.0, 0.0]" in proc.stdout
    assert "best-of-4: 12 + 30 = 42. #### 42" in proc.stdout


def test_plugin_example_verifier_decides(tmp_path):
    data = tmp_path / "cited.jsonl"
    rows = [
        {"question": "Where?", "sources": ["The tower stands in Paris."], "response": "It stands in Paris, France [1]."},
        {"question": "Where?", "sources": ["The tower stands in Paris."], "response": "It stands in Paris, France [3]."},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = _run("-m", "skilldsl", "score", "examples/cited_answer.skill", str(data), "--no-progress",
                env={"SKILLDSL_PLUGINS": "examples/citation_checks.py"})
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["reward"] for r in results] == [1.0, 0.0]
    assert results[1]["trace"]["citations"]["detail"]["unknown"] == [3]


@pytest.mark.model
def test_quickstart_runs_and_falls_back_to_the_judge():
    proc = _run("examples/quickstart.py")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("reward id: sha256:")
    assert lines[1].startswith("ok    reward=1.0")
    assert lines[2].startswith("ok    reward=0.0")
    assert lines[3].startswith("ok    reward=0.0") and "no final answer found" in lines[3]  # hiding earns 0
    assert lines[4].startswith("ok    reward=") and "matches: na" in lines[4]  # no reference: the judge
    assert lines[5] == "models loaded: ['default']"
