"""``benchmarks/bench_skills.py`` end to end on the small fixture copies of the development sets
(tests/fixtures/eval: GSM8K's first 3 problems, 4 IFEval rows, 2 HumanEval problems)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "eval"


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_skills", ROOT / "benchmarks" / "bench_skills.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_skills_on_fixtures(tmp_path, capsys):
    out = tmp_path / "skills.json"
    assert load_bench().main(["--data", str(FIX), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    math, ifeval, code = result["math_answer"], result["instruction_following"], result["code_tests"]
    assert (math["samples"], math["agreement"], math["disagreements"]) == (12, 1.0, [])
    assert (ifeval["samples"], ifeval["judge_needed"], ifeval["undecided_instruction_ids"]) == (4, 0, [])
    assert "third_party_prompt_level_strict" not in ifeval  # the fixtures carry no third-party results
    assert (code["canonical_reward_1"], code["empty_reward_0"], code["wrong"]) == (2, 2, [])
    assert all(part["backends_loaded"] == [] for part in (math, ifeval, code))
    assert "math_answer x GSM8K" in capsys.readouterr().out


def test_bench_skills_without_data(tmp_path):
    assert load_bench().main(["--data", str(tmp_path), "--out", str(tmp_path / "x.json")]) == 2
