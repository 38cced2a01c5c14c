"""math.consensus (agreement of final answers as evidence) and the stock skill best_of_n."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import skilldsl
from skilldsl.eval import tournament
from skilldsl.runtime import Skill
from skilldsl.verifiers import get
from skilldsl.verifiers.math import consensus_fast, final_answer

from _runtime_support import forbid_backend

FakeBackend = pytest.importorskip("skilldsl.runtime.backends.fake").FakeBackend
CONSENSUS = get("math.consensus")
GSM8K = Path(__file__).resolve().parents[2] / "shared" / "bench" / "gsm8k"

# GSM8K problem 1 (openai/grade-school-math @ 3101c7d50724, example_model_solutions.jsonl),
# solution endings shortened: three solvers answer 18, one 26.
RIGHT = "She sells 16 - 3 - 4 = <<16-3-4=9>>9 eggs for 9 * 2 = $<<9*2=18>>18\nA: 18"
RIGHT_TOO = "9 eggs are left, and 9 * $2 = $<<9*2=18>>18.00\nA: $18.00"
WRONG = "She has 13 ducks eggs and she sells 2 each day so she makes 13 * 2 = $<<13*2=26>>26\nA: 26"


def test_share_of_the_other_candidates_with_an_equal_answer():
    verdict = CONSENSUS.call(RIGHT, [RIGHT, WRONG, RIGHT_TOO, "I do not know."])
    assert verdict.value == pytest.approx(1 / 3)
    assert verdict.detail == {"agreeing": 1, "others": 3, "answer": "18", "answers": ["26", "18.00", None],
                              "method": "exact"}
    assert CONSENSUS.call(WRONG, [RIGHT, WRONG, RIGHT_TOO]).value == 0.0


def test_only_one_occurrence_of_the_response_is_left_out():
    assert CONSENSUS.call("A: 5", ["A: 5", "A: 5", "A: 6"]).value == pytest.approx(1 / 2)
    # a response missing from the list is compared with all of it
    assert CONSENSUS.call("A: 5", ["A: 5.0", "A: 6"]).value == pytest.approx(1 / 2)


@pytest.mark.parametrize("response, candidates, reason", [
    ("I do not know.", ["I do not know.", "A: 5"], "no final answer found in the response"),
    ("A: 5", ["A: 5"], "no other candidate to agree with"),
    ("A: 5", [], "no other candidate to agree with"),
])
def test_na_with_a_reason(response, candidates, reason):
    verdict = CONSENSUS.call(response, candidates)
    assert (verdict.status, verdict.reason) == ("na", reason)


def test_symbolic_answers_go_to_math_verify():
    candidates = [r"so \boxed{\frac{1}{2}}", "The answer is 0.5", r"\boxed{1/2}", r"\boxed{\frac{1}{3}}"]
    assert consensus_fast(candidates[0], candidates) is None  # the exact path defers
    verdict = CONSENSUS.call(candidates[0], candidates)
    assert verdict.value == pytest.approx(2 / 3) and verdict.detail["method"] == "math-verify"


def test_a_percent_against_a_decimal_is_left_to_the_cas():
    assert consensus_fast("A: 50%", ["A: 50%", "A: 0.5"]) is None
    assert consensus_fast("A: 50%", ["A: 50%", "A: 50"]).value == 1.0


@pytest.mark.skipif(not GSM8K.exists(), reason="needs ../shared/bench/gsm8k")
def test_on_gsm8k_the_most_agreed_candidates_are_the_majority_vote():
    """The verifier and the eval's majority vote (on final_answer keys) pick the same candidates."""
    from skilldsl.eval.formats.lists import GSM8K_SOLVERS

    with open(GSM8K / "example_model_solutions.jsonl", encoding="utf-8") as rows:
        for line in rows:
            solutions = [json.loads(line)[name]["solution"] for name in GSM8K_SOLVERS]
            shares = [CONSENSUS.call(s, solutions) for s in solutions]
            keys = [final_answer(s) for s in solutions]
            top = max(v.value for v in shares if v.status == "ok")
            assert {k for k, v in zip(keys, shares) if v.status == "ok" and v.value == top} == \
                set(tournament.majority(keys)), solutions


# -- the stock skill ------------------------------------------------------------------------

def best_of_n(backend=None):
    return Skill(skilldsl.compile(skilldsl.stock_skill("best_of_n")), backend=backend)


def test_consensus_picks_the_majority_over_a_judge_backing_the_outlier():
    fake = FakeBackend(choices={"A: 26": "yes"}, default_choice="no")  # a judge that backs the outlier
    result = best_of_n(fake).score([{"prompt": "eggs?", "responses": [WRONG, RIGHT, "A: 17", RIGHT_TOO]}])[0]
    assert result.scores == pytest.approx([0.9 / 4, 1 / 3 + 0.1 / 4, 0.1 / 4, 1 / 3 + 0.1 / 4])
    assert result.best in (1, 3)
    assert result.trace["agree[1]"].detail["agreeing"] == 1


def test_a_strict_majority_needs_no_judge(monkeypatch):
    forbid_backend(monkeypatch, "three of four agree: consensus decides")
    result = best_of_n().score([{"prompt": "eggs?", "responses": [RIGHT, RIGHT_TOO, "A: 18.0", WRONG]}])[0]
    assert result.best in (0, 1, 2) and result.scores[:3] == [pytest.approx(2 / 3)] * 3


def test_the_judge_breaks_a_tie_between_answers():
    fake = FakeBackend(choices={"A: 18": "yes"}, default_choice="no")
    result = best_of_n(fake).score([{"prompt": "eggs?", "responses": ["A: 26", "A: 18", "26\nA: 26", RIGHT]}])[0]
    assert result.scores == pytest.approx([1 / 3 + 0.1 / 4, 1 / 3 + 0.9 / 4, 1 / 3 + 0.1 / 4, 1 / 3 + 0.9 / 4])
    assert fake.batch_sizes() == [4]


def test_with_a_reference_no_model_is_loaded(monkeypatch):
    forbid_backend(monkeypatch, "the reference decides")
    skill = best_of_n()
    result = skill.score([{"prompt": "eggs?", "responses": [WRONG, WRONG, RIGHT], "reference": "#### 18"}])[0]
    assert result.scores == [0.0, 0.0, 1.0] and result.best == 2
    assert skill.loaded_backends == []


def test_the_language_guide_lists_every_builtin_verifier():
    """docs/language.md's verifier list (where math.consensus is documented) stays complete."""
    from skilldsl.verifiers import all_verifiers

    doc = (Path(__file__).resolve().parents[1] / "docs" / "language.md").read_text(encoding="utf-8")
    listed = doc.split("The built-in verifiers", 1)[1].split("\n\n", 2)[1]
    builtins = {s.name for s in all_verifiers() if s.func.__module__.startswith("skilldsl.")}
    assert {name for name in builtins if not re.search(f"`{re.escape(name)}[`(]", listed)} == set()
