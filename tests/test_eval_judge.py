"""What the skill sees, candidate orientation, errors, and resuming an interrupted eval."""
import json
import random
from pathlib import Path

import pytest

from skilldsl.eval import EvalError, EvalItem, Judge, JudgeOptions, run_eval
from skilldsl.eval.fake import FakeScorer
from skilldsl.eval.items import Dataset
from skilldsl.eval.runner import run_items

FIX = Path(__file__).parent / "fixtures" / "eval"


def synthetic_pairs(n=400, seed=1):
    rng = random.Random(seed)
    items = []
    for k in range(n):
        good, bad = f"good answer {k} {{9}}", f"bad answer {k} {{1}}"
        label = rng.randint(0, 1)
        cands = [good, bad] if label == 0 else [bad, good]
        items.append(EvalItem(id=f"s{k}", subset="syn", kind="pair", candidates=cands,
                              inputs={"prompt": f"q{k}"}, label=label, hidden={"order": label}))
    return Dataset("openrs", "synthetic", items)


def test_judgebench_samples_carry_only_declared_inputs_and_no_label_fields():
    inputs = {"prompt": "text", "a": "text", "b": "text",
              "reference": {"type": "text", "optional": True, "visibility": "reference"},
              "secret": {"type": "text", "optional": True, "visibility": "label"}}
    fake = FakeScorer("pairwise", inputs=inputs)
    run_eval(fake, FIX / "judgebench" / "openrs_judgebench_claude.jsonl", progress=False)
    assert fake.seen
    rows = [json.loads(line) for line in (FIX / "judgebench" / "openrs_judgebench_claude.jsonl").read_text().splitlines()]
    leaky = {str(r[k]) for r in rows for k in ("order", "question_id", "original_id", "response_model", "query_type")
             if k in r}
    for sample in fake.seen:
        assert set(sample) == {"prompt", "a", "b", "reference"}
        assert not leaky & {str(v) for v in sample.values()}


def test_undeclared_reference_is_not_sent_and_withhold_removes_it():
    fake = FakeScorer("pairwise")
    run_eval(fake, FIX / "judgebench" / "openrs_judgebench_claude.jsonl", progress=False)
    assert all(set(s) == {"prompt", "a", "b"} for s in fake.seen)
    ref = FakeScorer("pointwise", inputs={"prompt": "text", "response": "text", "reference": "text"})
    run = run_eval(ref, FIX / "judgebench" / "openrs_judgebench_claude.jsonl", progress=False,
                   options=JudgeOptions(withhold=("reference",)))
    assert not ref.seen and run.summary["skipped"]["count"] == 5  # 4 lack a required input, 1 bad row


def test_candidate_position_is_independent_of_the_label():
    data = synthetic_pairs()
    fake = FakeScorer("pairwise")
    records, _ = run_items(Judge(fake, JudgeOptions(seed=3)), data, progress=False)
    by_label = {0: [], 1: []}
    labels = {i.candidates[0]: i.label for i in data.items} | {i.candidates[1]: i.label for i in data.items}
    for sample in fake.seen:
        by_label[labels[sample["a"]]].append("good" in sample["a"])
    shares = [sum(v) / len(v) for v in by_label.values()]
    assert all(0.4 < s < 0.6 for s in shares)
    assert all(r["value"] == 1.0 for r in records)  # the fake prefers the better one wherever it is


def test_a_position_biased_judge_scores_chance_not_the_label():
    # always prefers the first slot: any leak of the label into position would show here
    biased = FakeScorer("pairwise", quality=lambda text: 0.0, bias=0.4)
    records, _ = run_items(Judge(biased, JudgeOptions(seed=0)), synthetic_pairs(), progress=False)
    acc = sum(r["value"] for r in records) / len(records)
    assert 0.4 < acc < 0.6
    again, _ = run_items(Judge(biased, JudgeOptions(seed=0)), synthetic_pairs(), progress=False)
    assert again == records  # the coin is seeded


def test_both_orders_cancels_position_bias_and_measures_consistency():
    biased = FakeScorer("pairwise", quality=lambda text: 0.0, bias=0.4)
    records, _ = run_items(Judge(biased, JudgeOptions(both_orders=True)), synthetic_pairs(40), progress=False)
    assert all(r["p_first"] == pytest.approx(0.5) and r["pred"] is None for r in records)
    assert all(r["consistent"] is False for r in records)
    fair = FakeScorer("pairwise")
    records, _ = run_items(Judge(fair, JudgeOptions(both_orders=True)), synthetic_pairs(40), progress=False)
    assert all(r["consistent"] and r["value"] == 1.0 for r in records)
    assert len(fair.seen) == 80


def test_ties_follow_the_tie_margin():
    item = EvalItem(id="t", subset="tie", kind="pair", candidates=["x {5}", "y {5.2}"], inputs={"prompt": "p"})
    data = Dataset("pandalm", "t", [item])
    strict, _ = run_items(Judge(FakeScorer("pairwise"), JudgeOptions()), data, progress=False)
    loose, _ = run_items(Judge(FakeScorer("pairwise"), JudgeOptions(tie_margin=0.15)), data, progress=False)
    assert strict[0]["pred"] == 1 and strict[0]["value"] == 0.0
    assert loose[0]["pred"] is None and loose[0]["value"] == 1.0


def test_errors_are_counted_never_scored():
    fake = FakeScorer("pointwise", fail_on="Paris")
    run = run_eval(fake, FIX / "openrs.jsonl", progress=False, fmt="openrs")
    s = run.summary
    assert (s["errors"], s["judged"], s["n"]) == (1, 1, 1)
    assert s["error_reasons"] == {"scripted failure": 1}
    assert s["accuracy_errors_as_wrong"] == pytest.approx(0.5)


def test_a_raising_scorer_loses_no_row():
    class Boom(FakeScorer):
        def score(self, samples):
            raise RuntimeError("backend down")
    run = run_eval(Boom("pairwise"), FIX / "openrs.jsonl", progress=False)
    assert run.summary["errors"] == 2 and "backend down" in next(iter(run.summary["error_reasons"]))


def test_knockout_and_round_robin_select_through_the_judge():
    for method in ("knockout", "round-robin"):
        run = run_eval(FakeScorer("pairwise"), FIX / "candidates.jsonl", progress=False,
                       options=JudgeOptions(method=method))
        assert [r["selected"] for r in run.records] == [1, 2]
        assert run.summary["accuracy"] == 1.0
    with pytest.raises(EvalError, match="needs a pointwise or listwise skill"):
        run_eval(FakeScorer("pairwise"), FIX / "candidates.jsonl", progress=False)


def test_argmax_ties_are_broken_by_the_seeded_order_not_the_file():
    items = [EvalItem(id=f"r{k}", subset="s", kind="bon", candidates=["a {1}", "b {1}", "c {1}", "d {1}"],
                      inputs={"prompt": "p"}, hidden={"correct": [True, False, False, False]}) for k in range(200)]
    records, _ = run_items(Judge(FakeScorer("pointwise")), Dataset("candidates", "x", items), progress=False)
    picks = [r["selected"] for r in records]
    assert 0.15 < picks.count(0) / len(picks) < 0.35


def test_listwise_skill_sees_a_shuffled_list_and_scores_map_back():
    fake = FakeScorer("listwise")
    run = run_eval(fake, FIX / "rewardbench2.jsonl", progress=False)
    assert run.summary["official"]["rewardbench2"]["subsets"]["Ties"]["score"] == pytest.approx(0.6489878329)
    firsts = [s["candidates"][0] for s in fake.seen]
    chosen_first = sum(f.startswith("c ") for f in firsts)
    assert 0 < chosen_first < len(firsts)  # the chosen completion is not always shown first
    picks = run_eval(FakeScorer("listwise"), FIX / "candidates.jsonl", progress=False)
    assert [r["selected"] for r in picks.records] == [1, 2]


def test_malformed_skills_are_refused():
    with pytest.raises(EvalError, match="unknown mode"):
        Judge(FakeScorer("odd", inputs={"x": "text"}))
    with pytest.raises(EvalError, match=r"must declare input\(s\) \['b'\]"):
        Judge(FakeScorer("pairwise", inputs={"prompt": "text", "a": "text"}))


class Interrupting(FakeScorer):
    """Dies (like Ctrl-C) on its second call."""

    def score(self, samples):
        if self.calls == 1:
            raise KeyboardInterrupt
        return super().score(samples)


def test_resume_skips_finished_items(tmp_path):
    data = synthetic_pairs(10)
    ckpt = tmp_path / "run.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_items(Judge(Interrupting("pairwise")), data, checkpoint=str(ckpt), chunk=4, progress=False)
    assert len(ckpt.read_text().splitlines()) == 1 + 4
    fresh = FakeScorer("pairwise")
    records, _ = run_items(Judge(fresh), data, checkpoint=str(ckpt), resume=True, chunk=4, progress=False)
    assert len(fresh.seen) == 6 and [r["id"] for r in records] == [i.id for i in data.items]
    clean, _ = run_items(Judge(FakeScorer("pairwise")), data, progress=False)
    assert records == clean
    other = FakeScorer("pairwise", reward_id="sha256:other")
    with pytest.raises(EvalError, match="checkpoint was written with"):
        run_items(Judge(other), data, checkpoint=str(ckpt), resume=True, progress=False)


def test_torn_last_line_is_redone(tmp_path):
    data = synthetic_pairs(3)
    ckpt = tmp_path / "c.jsonl"
    run_items(Judge(FakeScorer("pairwise")), data, checkpoint=str(ckpt), progress=False)
    lines = ckpt.read_text().splitlines()
    ckpt.write_text("\n".join(lines[:-1] + [lines[-1][:10]]))
    fresh = FakeScorer("pairwise")
    records, _ = run_items(Judge(fresh), data, checkpoint=str(ckpt), resume=True, progress=False)
    assert len(fresh.seen) == 1 and len(records) == 3
    assert len(ckpt.read_text().splitlines()) == 4
