"""Listwise selection on known preferences."""
import math

import pytest

from skilldsl.eval import tournament as t

QUALITY = [3.0, 9.0, 1.0, 7.0, 5.0]


def prefer(pairs):
    return [1.0 if QUALITY[i] > QUALITY[j] else 0.0 for i, j in pairs]


def outcomes():
    return [(i, j, p) for (i, j), p in zip(t.round_robin(5), prefer(t.round_robin(5)))]


def test_argmax_breaks_ties_by_the_given_order():
    assert t.argmax([1, 5, 5, 2]) == 1
    assert t.argmax([1, 5, 5, 2], order=[3, 2, 1, 0]) == 2


def test_knockout_finds_the_best_with_byes():
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 3, 1]):
        assert t.run_knockout(order, prefer) == 1


def test_knockout_asks_n_minus_one_games():
    asked = []
    t.run_knockout(list(range(5)), lambda pairs: asked.extend(pairs) or prefer(pairs))
    assert len(asked) == 4


def test_round_robin_ratings_recover_the_order():
    expected = sorted(range(5), key=lambda k: QUALITY[k])
    for rate in t.RATINGS.values():
        ratings = rate(5, outcomes())
        assert sorted(range(5), key=lambda k: ratings[k]) == expected


def test_bradley_terry_two_players_by_hand():
    # one sure win + 0.5 pseudo-wins each way: wins 1.5 vs 0.5 -> strength ratio 3
    a, b = t.bradley_terry(2, [(0, 1, 1.0)])
    assert a - b == pytest.approx(math.log(3), abs=1e-6)


def test_majority():
    assert sorted(t.majority(["1", "2", "2", "1", None])) == ["1", "2"]
    assert t.majority([None, None]) == []
