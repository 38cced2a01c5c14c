"""The real compiler and runtime under ``skilldsl eval``: the stock pairwise judge with the
runtime's scripted backend (no model), on the OpenRS fixture."""
import re
from pathlib import Path

import skilldsl
from skilldsl.eval import JudgeOptions, run_eval
from skilldsl.eval.fake import marker_quality
from skilldsl.runtime.backends.fake import FakeBackend

FIX = Path(__file__).parent / "fixtures" / "eval"
_SECTIONS = re.compile(r"# Response A\n(.*?)\n# Response B\n(.*?)\n", re.S)


def better_of_a_and_b(prompt: str, options: list):
    """Answer "A" or "B" by the {score} markers of the two responses in the prompt."""
    a, b = _SECTIONS.search(prompt).groups()
    return "A" if marker_quality(a) > marker_quality(b) else "B"


def test_stock_pairwise_judge_through_eval():
    backend = FakeBackend(choices=better_of_a_and_b)
    skill = skilldsl.load("pairwise_judge", backend=backend)
    run = run_eval(skill, FIX / "openrs.jsonl", options=JudgeOptions(seed=1), progress=False)
    s = run.summary
    assert s["reward_id"] == skill.reward_id and s["mode"] == "pairwise"
    assert (s["n"], s["errors"], s["accuracy"]) == (2, 0, 1.0)
    assert all(r["evidence"]["judge"]["ok"] == 1 for r in run.records)
    assert s["skipped"]["count"] == 1
