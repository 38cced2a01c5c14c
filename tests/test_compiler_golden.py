"""Golden IR for every stock skill, and deterministic builds.

Regenerate after an intended change with ``SKILLDSL_UPDATE_GOLDEN=1 python -m pytest
tests/test_compiler_golden.py`` and review the diff: every byte of a golden file is part
of a reward id.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from skilldsl.compiler import compile_file
from skilldsl.ir import Program, compute_reward_id

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
STOCK = ["math_answer", "instruction_following", "code_tests", "code_io", "pairwise_judge", "reward_judge",
         "best_of_n"]


@pytest.mark.parametrize("name", STOCK)
def test_golden_ir(name: str) -> None:
    program = compile_file(ROOT / "skills" / f"{name}.skill")
    golden = GOLDEN / f"{name}.skillc"
    if os.environ.get("SKILLDSL_UPDATE_GOLDEN"):
        golden.write_bytes(program.to_bytes())
    assert golden.exists(), f"no golden file; run with SKILLDSL_UPDATE_GOLDEN=1 to create {golden.name}"
    assert program.to_bytes() == golden.read_bytes(), f"IR of {name} changed; review and regenerate"


@pytest.mark.parametrize("name", STOCK)
def test_build_twice_identical_and_loadable(name: str, tmp_path: Path) -> None:
    first = compile_file(ROOT / "skills" / f"{name}.skill").to_bytes()
    # a copy elsewhere builds to the same bytes: only the basename of the source is recorded
    copy = tmp_path / "elsewhere"
    shutil.copytree(ROOT / "skills", copy)
    second = compile_file(copy / f"{name}.skill").to_bytes()
    assert first == second
    saved = Program.from_doc(json.loads(first)).save(tmp_path)
    loaded = Program.load(saved)
    assert loaded.reward_id == compute_reward_id(loaded.doc) == json.loads(first)["reward_id"]


def test_stock_skill_contract() -> None:
    """Field names and modes later work relies on (see the compiler issue)."""
    want = {
        "math_answer": ("pointwise", {"prompt", "response", "reference"}),
        "instruction_following": ("pointwise", {"prompt", "response", "instruction_id_list", "kwargs"}),
        "code_tests": ("pointwise", {"prompt", "response", "test", "entry_point"}),
        "pairwise_judge": ("pairwise", {"prompt", "a", "b"}),
        "reward_judge": ("pairwise", {"prompt", "a", "b", "reference", "checklist"}),
        "best_of_n": ("listwise", {"prompt", "responses", "reference"}),
    }
    for name, (mode, inputs) in want.items():
        program = compile_file(ROOT / "skills" / f"{name}.skill")
        assert (program.mode, set(program.inputs)) == (mode, inputs), name


def test_reward_id_tracks_prompts(tmp_path: Path) -> None:
    source = (ROOT / "skills" / "pairwise_judge.skill").read_text(encoding="utf-8")
    shutil.copytree(ROOT / "skills" / "rubrics", tmp_path / "rubrics")
    edited = tmp_path / "pairwise_judge.skill"
    edited.write_text(source.replace("Answer A or B.", "Answer with A or B."), encoding="utf-8")
    about_only = tmp_path / "about.skill"
    about_only.write_text(source.replace("Judge-only", "Judge only"), encoding="utf-8")
    base = compile_file(ROOT / "skills" / "pairwise_judge.skill").reward_id
    assert compile_file(edited).reward_id != base
    assert compile_file(about_only).reward_id == base  # `about` and `source` are not hashed
