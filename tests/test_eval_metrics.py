"""Metrics against hand-computed values."""
import pytest

from skilldsl.eval import metrics


def test_wilson_interval_8_of_10():
    lo, hi = metrics.wilson(8, 10)
    assert (lo, hi) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert metrics.wilson(0, 0) is None
    lo, hi = metrics.wilson(0, 5)
    assert lo == 0.0 and hi == pytest.approx(0.4345, abs=1e-4)


def test_exact_mcnemar():
    # 1 vs 6 discordant: 2 * (C(7,0) + C(7,1)) / 2^7 = 16/128
    assert metrics.mcnemar_exact(1, 6) == pytest.approx(0.125)
    assert metrics.mcnemar_exact(6, 1) == pytest.approx(0.125)
    assert metrics.mcnemar_exact(0, 0) == 1.0
    assert metrics.mcnemar_exact(3, 3) == 1.0
    assert metrics.mcnemar_exact(0, 10) == pytest.approx(2 / 1024)


def test_paired_difference_uses_mcnemar_on_binary_items():
    mine = [{"id": str(k), "status": "ok", "value": v} for k, v in enumerate([1, 1, 1, 1, 1, 1, 0, 1])]
    theirs = [{"id": str(k), "status": "ok", "value": v} for k, v in enumerate([0, 0, 0, 0, 0, 0, 1, 1])]
    theirs.append({"id": "x", "status": "ok", "value": 1})  # not in both: ignored
    got = metrics.paired_difference(mine, theirs)
    assert got["n"] == 8 and got["difference"] == pytest.approx(7 / 8 - 2 / 8)
    assert (got["only_skill"], got["only_baseline"]) == (6, 1)
    assert got["p_value"] == pytest.approx(0.125) and got["test"] == "mcnemar-exact"


def test_paired_bootstrap_on_fractional_items():
    mine = [{"id": str(k), "status": "ok", "value": 0.9} for k in range(30)]
    theirs = [{"id": str(k), "status": "ok", "value": 0.1 + 0.01 * (k % 3)} for k in range(30)]
    got = metrics.paired_difference(mine, theirs)
    assert got["test"] == "paired-bootstrap" and got["p_value"] < 0.01
    same = metrics.paired_difference(mine, mine)
    assert same["difference"] == 0 and same["p_value"] == 1.0


def test_accuracy_picks_the_interval_method():
    assert metrics.accuracy([1, 0, 1, 1])["ci_method"] == "wilson"
    frac = metrics.accuracy([0.5, 1.0, 0.25, 0.75])
    assert frac["ci_method"] == "bootstrap" and frac["ci"][0] <= frac["accuracy"] <= frac["ci"][1]
    assert metrics.accuracy([])["accuracy"] is None


def test_position_consistency_and_cost():
    records = [{"consistent": True, "tokens_in": 10, "seconds": 1.0}, {"consistent": False, "tokens_in": 30},
               {"tokens_in": 2}]
    assert metrics.position_consistency(records) == {"n": 2, "consistency": 0.5}
    c = metrics.cost(records)
    assert c["total"]["tokens_in"] == 42 and c["per_item"]["tokens_in"] == pytest.approx(14)
