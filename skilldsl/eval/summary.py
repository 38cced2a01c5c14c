"""Turn item records into the JSON summary ``skilldsl eval`` prints.

Generic parts (accuracy with intervals, per subset, skips, errors, cost, position
consistency) apply to every format; the official scores of a benchmark are added by the
kind of its items (RewardBench 2, RM-Bench, best-of-N references, ties).
"""
from __future__ import annotations

from collections import Counter

from . import benchmarks as bm
from . import metrics
from . import tournament as tour
from .formats.lists import final_answer

__all__ = ["summarize", "official_scores"]

_MAX_ROWS = 100  # skipped rows listed one by one in the summary (all are counted)


def summarize(records: list, skipped: list, dataset, info, *, seed: int = 0) -> dict:
    """The summary dict for one skill on one data set."""
    judged = [r for r in records if r["status"] == "ok" and r.get("value") is not None]
    statuses = Counter(r["status"] for r in records)
    out = {"skill": info.name, "reward_id": info.reward_id, "mode": info.mode, "data": dataset.path,
           "format": dataset.format, "split": dataset.split, "items": len(records), "judged": len(judged),
           "errors": statuses.get("error", 0), "na": statuses.get("na", 0)}
    out.update(metrics.accuracy([r["value"] for r in judged], seed))
    graded = [r for r in records if r["status"] != "ok" or r.get("value") is not None]
    out["accuracy_errors_as_wrong"] = (sum(r["value"] or 0 for r in judged) / len(graded)) if graded else None
    out["subsets"] = metrics.by_subset(records, seed)
    out["skipped"] = _skips(skipped)
    out["error_reasons"] = dict(Counter(r["reason"] for r in records if r["status"] != "ok").most_common(10))
    out["position_consistency"] = metrics.position_consistency(records)
    out["cost"] = metrics.cost(records)
    official = official_scores(records, dataset)
    if official:
        out["official"] = official
    return out


def _skips(skipped: list) -> dict:
    return {"count": len(skipped), "reasons": dict(Counter(s.reason for s in skipped).most_common(20)),
            "rows": [s.to_json() for s in skipped[:_MAX_ROWS]]}


def official_scores(records: list, dataset) -> dict:
    """Benchmark-specific scores, by the kind of the judged items."""
    ok = [r for r in records if r["status"] == "ok"]
    kinds = {r["kind"] for r in ok}
    out = {}
    if "bestof" in kinds:
        out["rewardbench2"] = _rewardbench2([r for r in ok if r["kind"] == "bestof"])
    if "matrix" in kinds:
        out["rmbench"] = bm.rmbench_scores([(r["domain"], r["matrix"]) for r in ok if r["kind"] == "matrix"])
    if "bon" in kinds:
        out["best_of_n"] = _best_of_n([r for r in ok if r["kind"] == "bon"], dataset)
    if any(r["kind"] == "pair" and r.get("label") is None for r in ok):
        out["ties"] = _ties([r for r in ok if r["kind"] == "pair"])
    if dataset.format == "judgebench":  # every pair, judged or not: an unjudged pair is not right
        labels = {item.id: item.label for item in dataset.items}
        out["judgebench"] = bm.judgebench_scores([(r["subset"], _verdicts(r), labels.get(r["id"]))
                                                  for r in records if r["kind"] == "pair"])
    return out


def _verdicts(record: dict) -> list:
    """A pair record's verdicts, one per ask (a checkpoint written before they were kept: its one
    combined verdict)."""
    if "verdicts" in record:
        return record["verdicts"]
    return [record["pred"]] if record.get("status") == "ok" and "pred" in record else []


def _rewardbench2(records: list) -> dict:
    subsets = {}
    for name in sorted({r["subset"] for r in records}):
        rows = [r for r in records if r["subset"] == name]
        if name.lower() == "ties":
            ties = bm.rb2_ties_score([(r.get("row_id", r["id"]), r["scores"], r["num_correct"]) for r in rows])
            subsets[name] = {"score": ties["score"], "n": len(rows), "parts": ties}
        else:
            subsets[name] = {"score": sum(r["value"] for r in rows) / len(rows), "n": len(rows)}
    leaderboard = bm.rb2_leaderboard({k: v["score"] for k, v in subsets.items()})
    return {"subsets": subsets, "leaderboard_average": leaderboard,
            "leaderboard_note": None if leaderboard is not None else
            "needs all six subsets: " + ", ".join(bm.RB2_SUBSETS)}


def _best_of_n(records: list, dataset) -> dict:
    items = {item.id: item for item in dataset.items}
    rows = [(r, items[r["id"]]) for r in records if r["id"] in items and "correct" in r]
    n = len(rows)
    if not n:
        return {}
    selected = sum(r["value"] for r, _ in rows) / n
    random_pick = sum(sum(i.hidden["correct"]) / len(i.candidates) for _, i in rows) / n
    oracle = sum(any(i.hidden["correct"]) for _, i in rows) / n
    vote = sum(_majority_correct(i) for _, i in rows) / n
    return {"n": n, "selected": selected, "random_expected": random_pick, "oracle": oracle,
            "majority_vote_expected": vote,
            "note": "majority vote: final answers compared as text; a tie between answers counts "
                    "the expected correctness of picking one of the tied answers at random"}


def _majority_correct(item) -> float:
    answers = [final_answer(c) for c in item.candidates]
    top = tour.majority(answers)
    if not top:
        return sum(item.hidden["correct"]) / len(answers)
    scores = []
    for answer in top:
        graded = [ok for a, ok in zip(answers, item.hidden["correct"]) if a == answer]
        scores.append(sum(graded) / len(graded))
    return sum(scores) / len(scores)


def _ties(records: list) -> dict:
    ties = [r for r in records if r.get("label") is None]
    prefs = [r for r in records if r.get("label") is not None]
    return {"tie_items": len(ties), "tie_recall": metrics.accuracy([r["value"] for r in ties])["accuracy"],
            "accuracy_without_ties": metrics.accuracy([r["value"] for r in prefs]),
            "predicted_ties": sum(1 for r in records if r.get("pred") is None)}
