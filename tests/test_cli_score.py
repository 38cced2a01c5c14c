"""``skilldsl score`` / ``skilldsl explain`` round trips on small JSONL files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from _runtime_support import ScriptedBackend, forbid_backend, math_like, registered
from skilldsl.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def skillc(tmp_path):
    prog = math_like()
    return prog, prog.save(tmp_path / "t.skillc")


@pytest.fixture
def fake():
    """A scripted judge answering "no", registered as backend ``test-scripted`` (``--backend``)."""
    with registered("test-scripted", ScriptedBackend(choose=lambda text, options: "no")) as backend:
        yield backend


def write_jsonl(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_score_round_trip_keeps_every_line_in_order(tmp_path, skillc, fake, capsys):
    prog, path = skillc
    data = write_jsonl(tmp_path / "d.jsonl", [
        json.dumps({"prompt": "p", "response": "a", "reference": "a"}),
        "{not json",
        json.dumps({"prompt": "p", "response": "b"}),
        "",
        json.dumps({"prompt": "p"}),
        json.dumps([1, 2]),
        json.dumps({"prompt": "p", "response": "c", "reference": "d"}),
    ])
    out = tmp_path / "out.jsonl"
    code = main(["score", str(path), str(data), "-o", str(out), "--batch-size", "2", "--backend", "test-scripted"])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert code == 1  # some lines erred
    assert [r["line"] for r in records] == [1, 2, 3, 5, 6, 7]
    assert [r["status"] for r in records] == ["ok", "error", "ok", "error", "error", "ok"]
    assert "invalid JSON" in records[1]["reason"] and "missing required field" in records[3]["reason"]
    assert records[0]["reward"] == 1.0 and records[2]["reward"] == pytest.approx(0.1) and records[5]["reward"] == 0.0
    assert all(r["reward_id"] == prog.reward_id for r in records)
    assert fake.calls == [("choice_logprobs", 1)]
    err = capsys.readouterr().err
    assert "scored 6 samples (ok 3, error 3)" in err and "samples/s" in err


def test_score_to_stdout_needs_no_model(tmp_path, skillc, capsys, monkeypatch):
    forbid_backend(monkeypatch, "a verifier-decided file must not create a backend")
    _, path = skillc
    data = write_jsonl(tmp_path / "d.jsonl", [json.dumps({"prompt": "p", "response": "a", "reference": "a"})])
    assert main(["score", str(path), str(data), "--no-progress"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["reward"] == 1.0


def test_explain_prints_a_readable_trace(tmp_path, skillc, capsys):
    _, path = skillc
    fake = ["--backend", "fake", "--backend-option", "default_choice=no"]  # the built-in scripted backend
    assert main(["explain", str(path), "--sample", '{"prompt": "p", "response": "r"}', *fake]) == 0
    text = capsys.readouterr().out
    assert "reward: 0.1  status: ok" in text
    assert "judge (ask): 'no'" in text and "distribution: {yes: 0.1, no: 0.9}" in text
    sample = tmp_path / "s.json"
    sample.write_text(json.dumps({"prompt": "p", "response": "r", "reference": "r"}))
    assert main(["explain", str(path), "--sample", f"@{sample}", "--json", *fake]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["reward"] == 1.0 and d["trace"]["judge"]["skipped"] == "not needed"
    assert main(["explain", str(path), "--sample", "{bad"]) == 2


def test_score_command_in_a_subprocess(tmp_path, skillc):
    _, path = skillc
    data = write_jsonl(tmp_path / "d.jsonl", [json.dumps({"prompt": "p", "response": "x", "reference": "x"}), "oops"])
    env_code = (
        "import sys; sys.path.insert(0, 'tests'); import _runtime_support; "
        "from skilldsl.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    out = subprocess.run([sys.executable, "-c", env_code, "score", str(path), str(data)],
                         capture_output=True, text=True, timeout=120, cwd=str(ROOT))
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert out.returncode == 1, out.stderr
    assert [x["status"] for x in lines] == ["ok", "error"]
    assert "scored 2 samples" in out.stderr


def test_score_a_stock_skill_by_name(tmp_path, capsys, monkeypatch):
    forbid_backend(monkeypatch, "references decide: no model")
    data = write_jsonl(tmp_path / "d.jsonl", [
        json.dumps({"prompt": "2+2?", "response": "\\boxed{4}", "reference": "4"}),
        json.dumps({"prompt": "2+2?", "response": "It is 5.", "reference": "4"}),
    ])
    assert main(["score", "math_answer", str(data), "--no-progress"]) == 0
    rewards = [json.loads(line)["reward"] for line in capsys.readouterr().out.splitlines()]
    assert rewards == [1.0, 0.0]


def test_score_keeps_input_ids_and_ignores_undeclared_fields(tmp_path, capsys, monkeypatch):
    # the shape `skilldsl convert gsm8k-solutions` writes: `id` and `is_correct` are not inputs
    forbid_backend(monkeypatch, "references decide: no model")
    data = write_jsonl(tmp_path / "d.jsonl", [
        json.dumps({"id": "7:6b_finetuning", "prompt": "2+2?", "response": "#### 4", "reference": "4",
                    "is_correct": True}),
        json.dumps({"prompt": "2+2?", "response": "#### 5", "reference": "4", "is_correct": False}),
        json.dumps({"id": 3, "prompt": "2+2?"}),
    ])
    assert main(["score", "math_answer", str(data), "--no-progress"]) == 1
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("id") for r in records] == ["7:6b_finetuning", None, 3]
    assert ["id" in r for r in records] == [True, False, True]
    assert [(r["status"], r["reward"]) for r in records[:2]] == [("ok", 1.0), ("ok", 0.0)]
    assert "missing required field 'response'" in records[2]["reason"]
    assert list(records[0])[:3] == ["line", "id", "reward"]
