"""Official RewardBench 2 / RM-Bench scoring and best-of-N references, against hand-computed values.

Fixture responses end in ``{score}``; the fake pointwise scorer returns that number, so every
expected value below is worked out by hand from the fixture files.
"""
import math
from pathlib import Path

import pytest

from skilldsl.eval import run_eval
from skilldsl.eval import benchmarks as bm
from skilldsl.eval.fake import FakeScorer

FIX = Path(__file__).parent / "fixtures" / "eval"


def test_rb2_row_result_official_tie_penalty():
    assert bm.rb2_row_result([5, 1, 2, 3]) == 1.0
    assert bm.rb2_row_result([3, 3, 1, 0]) == 0.5       # chosen shares the max with one rejected
    assert bm.rb2_row_result([3, 3, 3, 3]) == 0.25
    assert bm.rb2_row_result([2, 4, 1, 0]) == 0.0


def test_rb2_ties_formula_by_hand():
    rows = [("ref:1", [5, 1, 2, 3], 1), ("tied:1", [6, 5, 1, 2], 2),
            ("ref:2", [1, 2, 0, 0], 1), ("tied:2", [5, 4, 3, 0], 2)]
    got = bm.rb2_ties_score(rows)
    # ref: acc (T, F) -> .5, margins 2 and -1; tied: acc (T, T) -> 1, spreads 1 and 1, margins 3 and 1
    # prompt 1: 3 > 1 and min(2, 3) = 2 > 1; prompt 2: 1 > 1 no, min(-1, 1) > 1 no
    margin = (math.tanh(2 / 1 - 1) + math.tanh(-1 / 1 - 1)) / 2
    assert got["ref_accuracy"] == 0.5 and got["tied_accuracy"] == 1.0
    assert got["correctness_preferred"] == 0.5 and got["correctness_preferred_hard"] == 0.5
    assert got["correctness_margin"] == pytest.approx(margin)
    assert got["score"] == pytest.approx(0.3 * 1 + 0.3 * 0.5 + 0.2 * 0.5 + 0.2 * 0.5 + 0.01 * margin)
    assert got["score"] == pytest.approx(0.6489878329)


def test_rb2_leaderboard_needs_all_six():
    scores = dict(zip(bm.RB2_SUBSETS, [0.6, 0.3, 0.9, 0.5, 0.7, 0.4]))
    assert bm.rb2_leaderboard(scores) == pytest.approx(3.4 / 6)
    del scores["Focus"]
    assert bm.rb2_leaderboard(scores) is None


def test_rewardbench2_end_to_end_with_pointwise_fake():
    run = run_eval(FakeScorer("pointwise"), FIX / "rewardbench2.jsonl", progress=False)
    official = run.summary["official"]["rewardbench2"]["subsets"]
    assert official["Factuality"]["score"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert official["Math"]["score"] == 1.0
    assert official["Ties"]["score"] == pytest.approx(0.6489878329)
    assert run.summary["skipped"]["count"] == 3


def test_rmbench_matrix_by_hand():
    assert bm.rmbench_matrix([3, 5, 7], [2, 4, 6]) == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    assert bm.rmbench_domain("safety-refuse") == "safety"


def test_rmbench_end_to_end_with_pointwise_fake():
    run = run_eval(FakeScorer("pointwise"), FIX / "rmbench.json", progress=False)
    got = run.summary["official"]["rmbench"]
    chat, math_ = got["domains"]["chat"], got["domains"]["math"]
    # chat: mean of [[1,0,0],[1,1,0],[1,1,1]] and [[1,1,0]]*3 -> [[1,.5,0],[1,1,0],[1,1,.5]]
    assert chat["matrix"] == [[1, 0.5, 0], [1, 1, 0], [1, 1, 0.5]]
    assert chat["hard"] == pytest.approx(0.5 / 3)
    assert chat["normal"] == pytest.approx(2.5 / 3)
    assert chat["easy"] == pytest.approx(1.0)
    # math: chosen 2,2,2 vs rejected 1,3,1 -> every row [1, 0, 1]
    assert (math_["hard"], math_["normal"], math_["easy"]) == pytest.approx((2 / 3, 2 / 3, 2 / 3))
    assert got["hard"] == pytest.approx((0.5 / 3 + 2 / 3) / 2)
    assert got["normal"] == pytest.approx((2.5 / 3 + 2 / 3) / 2)
    assert got["easy"] == pytest.approx((1 + 2 / 3) / 2)
    assert got["total"] == pytest.approx(2 / 3)


def test_rmbench_with_a_pairwise_skill_compares_cells_directly():
    run = run_eval(FakeScorer("pairwise"), FIX / "rmbench.json", progress=False)
    got = run.summary["official"]["rmbench"]["domains"]["math"]
    assert got["matrix"] == [[1, 0, 1], [1, 0, 1], [1, 0, 1]]


def test_gsm8k_best_of_n_references_by_hand():
    # solution lengths pick something; the references do not depend on the skill
    run = run_eval(FakeScorer("pointwise"), FIX / "gsm8k", progress=False)
    bon = run.summary["official"]["best_of_n"]
    # correct flags: [F,F,F,T], [T,T,F,T], [F,F,F,F]; answers 26/224/4/18, 3/3/250/3, all wrong
    assert bon["random_expected"] == pytest.approx((0.25 + 0.75 + 0) / 3)
    assert bon["oracle"] == pytest.approx(2 / 3)
    assert bon["majority_vote_expected"] == pytest.approx((0.25 + 1 + 0) / 3)
    correct = [[False, False, False, True], [True, True, False, True], [False] * 4]
    chosen = [r["selected"] for r in run.records]
    assert bon["selected"] == pytest.approx(sum(c[s] for c, s in zip(correct, chosen)) / 3)


def test_judgebench_pair_rule_by_hand():
    # ScalerLab/JudgeBench utils/metrics.py: +1 per judgment naming the label's winner, -1 per one
    # naming the other response, 0 per tie; right when the sum is positive
    right = bm.judgebench_pair_right
    assert right([0, 0], 0) and right([0, None], 0) and right([None, 1], 1)
    assert not right([0, 1], 0) and not right([None, None], 0) and not right([1, None], 0) and not right([], 0)
    assert right([0], 0) and not right([None], 0)  # one order asked: plain accuracy, a tie is not right


def test_judgebench_official_score_from_both_orders_of_the_original_files():
    from skilldsl.eval.judge import JudgeOptions

    # the fake prefers whatever is shown first (bias 0.3); |P - 0.5| <= 0.1 is a tie. By hand:
    # p1 A{1} B{0}, A>B: first order A (right), second P(A) = 0.58 (tie) -> right
    # p2 A{0} B{1}, B>A: first P(A) = 0.42 (tie), second B (right)        -> right
    # p3 A{1} B{1}, A>B: first A (right), second B (wrong)                 -> neither
    # p4 A{0} B{1}, A>B: first tie, second B (wrong)                       -> not right
    run = run_eval(FakeScorer("pairwise", bias=0.3), FIX / "judgebench" / "dataset=judgebench,response_model=fake-model.jsonl",
                   options=JudgeOptions(both_orders=True, tie_margin=0.1), progress=False)
    got = run.summary["official"]["judgebench"]
    assert (got["score"], got["n"]) == (0.5, 4)
    assert {c: v["score"] for c, v in got["categories"].items()} == {
        "knowledge": 1.0, "reasoning": 1.0, "math": 0.0, "coding": 0.0}
    records = {r["id"]: r for r in run.records}
    assert records["p1"]["verdicts"] == [0, None] and records["p3"]["verdicts"] == [0, 1]
