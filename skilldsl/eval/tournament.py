"""Listwise selection over N candidates from pointwise rewards or pairwise preferences.

- :func:`argmax`: the best pointwise reward; ties broken by a given (seeded) order, never by
  the data set's order, which may correlate with the label.
- :func:`knockout`: sequential single-elimination (JETTS-style); a generator that yields each
  round's pairs and receives P(first beats second), so a runner can batch a round across items.
- :func:`round_robin`: every pair once; :func:`bradley_terry` (MM algorithm, Hunter 2004),
  :func:`elo` or :func:`borda` turn the soft outcomes into ratings.
- :func:`majority`: the most common final answers (majority vote). Agreement as evidence a
  skill can use is the verifier ``math.consensus``.
"""
from __future__ import annotations

import math
from collections import Counter
from itertools import combinations
from typing import Callable, Generator

__all__ = ["argmax", "knockout", "run_knockout", "round_robin", "bradley_terry", "elo", "borda",
           "RATINGS", "majority", "Outcome"]

# (i, j, p): candidate i beat candidate j with probability p
Outcome = tuple


def argmax(scores: list, order: "list | None" = None) -> int:
    """Index of the highest score; among equal scores the first in ``order`` wins."""
    order = list(range(len(scores))) if order is None else order
    best = order[0]
    for index in order[1:]:
        if scores[index] > scores[best]:
            best = index
    return best


def knockout(entrants: list) -> Generator[list, list, int]:
    """Single elimination over ``entrants`` (indices, already in bracket order). Yields the
    round's pairs, receives P(first beats second) for each; a bye goes to the odd one out.
    An exact 0.5 keeps the first of the pair (the bracket order is seeded-random)."""
    alive = list(entrants)
    while len(alive) > 1:
        pairs = [(alive[k], alive[k + 1]) for k in range(0, len(alive) - 1, 2)]
        probs = yield pairs
        winners = [i if p >= 0.5 else j for (i, j), p in zip(pairs, probs)]
        alive = winners + ([alive[-1]] if len(alive) % 2 else [])
    return alive[0]


def run_knockout(entrants: list, prefer: Callable[[list], list]) -> int:
    """Run :func:`knockout` with a synchronous ``prefer(pairs) -> probabilities``."""
    game = knockout(entrants)
    try:
        pairs = next(game)
        while True:
            pairs = game.send(prefer(pairs))
    except StopIteration as done:
        return done.value


def round_robin(n: int) -> list:
    """Every unordered pair ``(i, j)``, ``i < j``, once."""
    return list(combinations(range(n), 2))


def bradley_terry(n: int, outcomes: list, prior: float = 0.5, iterations: int = 200) -> list:
    """Bradley–Terry strengths (log scale) by the MM algorithm. Soft wins count fractionally;
    ``prior`` pseudo-wins each way per game keep undefeated candidates finite."""
    wins = [[0.0] * n for _ in range(n)]
    for i, j, p in outcomes:
        wins[i][j] += p + prior
        wins[j][i] += 1 - p + prior
    strength = [1.0] * n
    for _ in range(iterations):
        strength = _mm_step(wins, strength)
    return [math.log(s) for s in strength]


def _mm_step(wins: list, strength: list) -> list:
    n = len(strength)
    new = []
    for i in range(n):
        total_wins = sum(wins[i])
        denom = sum((wins[i][j] + wins[j][i]) / (strength[i] + strength[j]) for j in range(n) if j != i)
        new.append(total_wins / denom if denom else strength[i])
    norm = math.exp(sum(math.log(s) for s in new) / n)  # geometric mean 1: fixes the scale
    return [s / norm for s in new]


def elo(n: int, outcomes: list, k: float = 16.0, passes: int = 10, start: float = 1000.0) -> list:
    """Elo ratings from soft outcomes, replayed ``passes`` times in a fixed order so the
    result does not hinge on which game came first."""
    rating = [start] * n
    for _ in range(passes):
        for i, j, p in outcomes:
            expected = 1 / (1 + 10 ** ((rating[j] - rating[i]) / 400))
            rating[i] += k * (p - expected)
            rating[j] -= k * (p - expected)
    return rating


def borda(n: int, outcomes: list) -> list:
    """Mean probability of beating the others (a candidate's average soft win rate)."""
    total, games = [0.0] * n, [0] * n
    for i, j, p in outcomes:
        total[i] += p
        total[j] += 1 - p
        games[i] += 1
        games[j] += 1
    return [t / g if g else 0.0 for t, g in zip(total, games)]


RATINGS = {"bt": bradley_terry, "elo": elo, "borda": borda}


def majority(answers: list) -> list:
    """The most common final answers (several when tied); empty if no candidate has one."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return []
    top = max(counts.values())
    return [a for a, c in counts.items() if c == top]
