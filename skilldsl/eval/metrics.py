"""Accuracy with confidence intervals, paired significance tests, position consistency, cost.

Pure Python (no numpy/scipy at import): the exact tests here need only binomial sums.
"""
from __future__ import annotations

import math
import random
from collections import defaultdict

__all__ = ["wilson", "bootstrap_ci", "accuracy", "by_subset", "mcnemar_exact", "paired_bootstrap",
           "paired_difference", "position_consistency", "cost"]


def wilson(successes: float, n: int, z: float = 1.959963984540054) -> "tuple[float, float] | None":
    """Wilson score interval for a proportion (95% by default); None when ``n`` is 0."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_ci(values: list, resamples: int = 2000, seed: int = 0, level: float = 0.95):
    """Percentile bootstrap interval of the mean of ``values`` (for fractional item scores)."""
    if not values:
        return None
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choice(values) for _ in range(n)) / n for _ in range(resamples))
    lo = means[int((1 - level) / 2 * resamples)]
    hi = means[min(resamples - 1, int((1 + level) / 2 * resamples))]
    return lo, hi


def _binary(values: list) -> bool:
    return all(v in (0.0, 1.0) for v in values)


def accuracy(values: list, seed: int = 0) -> dict:
    """Mean item value with a 95% interval: Wilson for 0/1 values, bootstrap otherwise."""
    n = len(values)
    if not n:
        return {"accuracy": None, "n": 0, "ci": None, "ci_method": None}
    mean = sum(values) / n
    if _binary(values):
        return {"accuracy": mean, "n": n, "ci": list(wilson(sum(values), n)), "ci_method": "wilson"}
    return {"accuracy": mean, "n": n, "ci": list(bootstrap_ci(values, seed=seed)), "ci_method": "bootstrap"}


def by_subset(records: list, seed: int = 0) -> dict:
    """:func:`accuracy` of the judged records of each subset, subsets sorted by name."""
    groups = defaultdict(list)
    for r in records:
        if r.get("status") == "ok" and r.get("value") is not None:
            groups[r["subset"]].append(r["value"])
    return {name: accuracy(values, seed) for name, values in sorted(groups.items())}


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: ``b`` items only the first got right, ``c`` only the
    second. Under H0 the discordant items split Binomial(b + c, 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    k = min(b, c)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired_bootstrap(first: list, second: list, resamples: int = 2000, seed: int = 0) -> float:
    """Two-sided paired bootstrap p-value of mean(first) - mean(second) (resampled items,
    centred under H0: share of resampled differences at least as extreme as observed)."""
    n = len(first)
    diffs = [a - b for a, b in zip(first, second)]
    observed = sum(diffs) / n
    centred = [d - observed for d in diffs]
    rng = random.Random(seed)
    extreme = sum(abs(sum(rng.choice(centred) for _ in range(n)) / n) >= abs(observed) - 1e-12
                  for _ in range(resamples))
    return (extreme + 1) / (resamples + 1)


def paired_difference(records: list, baseline: list, seed: int = 0) -> dict:
    """Skill minus baseline on the items both judged: difference, counts, p-value (exact
    McNemar for 0/1 item values, paired bootstrap otherwise)."""
    theirs = {r["id"]: r["value"] for r in baseline if r.get("status") == "ok" and r.get("value") is not None}
    pairs = [(r["value"], theirs[r["id"]]) for r in records
             if r.get("status") == "ok" and r.get("value") is not None and r["id"] in theirs]
    if not pairs:
        return {"n": 0, "difference": None, "p_value": None, "test": None}
    first, second = [a for a, _ in pairs], [b for _, b in pairs]
    out = {"n": len(pairs), "skill": sum(first) / len(pairs), "baseline": sum(second) / len(pairs)}
    out["difference"] = out["skill"] - out["baseline"]
    if _binary(first) and _binary(second):
        b = sum(1 for x, y in pairs if x > y)
        c = sum(1 for x, y in pairs if y > x)
        out.update(test="mcnemar-exact", only_skill=b, only_baseline=c, p_value=mcnemar_exact(b, c))
    else:
        out.update(test="paired-bootstrap", p_value=paired_bootstrap(first, second, seed=seed))
    return out


def position_consistency(records: list) -> dict:
    """Share of items whose judge gave the same verdict in both candidate orders."""
    checked = [r["consistent"] for r in records if r.get("consistent") is not None]
    if not checked:
        return {"n": 0, "consistency": None}
    return {"n": len(checked), "consistency": sum(checked) / len(checked)}


def cost(records: list) -> dict:
    """Totals and per-item means of tokens, seconds and scorer calls."""
    n = len(records)
    totals = {key: sum(r.get(key, 0) or 0 for r in records) for key in ("tokens_in", "tokens_out", "seconds", "calls")}
    per_item = {key: (value / n if n else None) for key, value in totals.items()}
    return {"total": totals, "per_item": per_item}
