"""``benchmarks/tune_skills.py``: the tie margin chosen from one run's per-item probabilities."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_tuning():
    spec = importlib.util.spec_from_file_location("tune_skills", ROOT / "benchmarks" / "tune_skills.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(p: float, label, status: str = "ok") -> dict:
    return {"status": status, "p_first": p, "label": label}


def test_tie_margin_is_the_smallest_best_margin_on_the_grid():
    records = [_record(0.9, 0), _record(0.1, 1), _record(0.52, None), _record(0.458, None), _record(0.55, 0),
               _record(0.5, 1, status="error")]
    chosen = load_tuning().tie_margin(records)
    assert (chosen["accuracy_at_0"], chosen["n"], chosen["ties"]) == (0.6, 5, 2)
    assert (chosen["chosen"], chosen["accuracy"]) == (0.045, 1.0)


def test_no_margin_when_ties_only_cost_accuracy():
    records = [_record(0.51, 0), _record(0.48, 1), _record(0.7, 0)]
    assert load_tuning().tie_margin(records)["chosen"] == 0.0


def _summary(values: list) -> dict:
    acc = sum(values) / len(values)
    return {"accuracy": acc, "ci": [0.0, 1.0], "n": len(values), "errors": 0, "na": 0, "reward_id": "r",
            "cost": {"per_item": {"tokens_in": 10, "seconds": 0.1}}, "subsets": {"s": {"accuracy": acc}}}


def test_the_best_mean_dev_accuracy_wins_and_sets_the_margin(tmp_path):
    tune = load_tuning()
    values = {"a": [1, 0, 0, 0], "b": [1, 1, 0, 1]}
    runs = {}
    for key, vals in values.items():
        for set_key, *_ in tune.SETS:
            records = [{"id": str(k), "status": "ok", "value": v, "p_first": 0.9 if v else 0.52, "label": 0}
                       for k, v in enumerate(vals)]
            lines = ['{"header": {}}'] + [json.dumps(r) for r in records]
            (tmp_path / f"{key}-{set_key}.jsonl").write_text("\n".join(lines) + "\n")
            runs[key, set_key] = {"command": f"skilldsl eval {key}", "summary": _summary(vals)}
    doc = tune.decide(runs, tmp_path)
    assert (doc["winner"], doc["ranking"]) == ("b", ["b", "a"])
    assert doc["paired_vs_a"]["b"]["llmbar"]["difference"] == 0.5
    assert doc["tie_margin"]["chosen"] == 0.0  # no human ties among these records: a margin only costs
    text = tune.render(doc)
    assert "Winner: (b)" in text and "It replaces (a)" in text and "skilldsl eval b" in text
