"""Data-set readers on fixtures in each benchmark's own schema (see tests/fixtures/eval/README.md)."""
import json
from pathlib import Path

import pytest

from skilldsl.eval import EvalError, read_dataset
from skilldsl.eval.formats import FORMATS, detect_format
from skilldsl.eval.formats.lists import final_answer

FIX = Path(__file__).parent / "fixtures" / "eval"
SHARED_GSM8K = Path(__file__).resolve().parents[2] / "shared" / "bench" / "gsm8k"


def reasons(dataset):
    return {s.reason for s in dataset.skipped}


def test_llmbar_directory_reads_every_subset_and_skips_bad_rows_with_reasons():
    d = read_dataset(FIX / "llmbar")
    assert d.format == "llmbar"
    assert {i.subset for i in d.items} == {"Natural", "Adversarial_Manual"}
    assert len(d.items) == 5
    assert reasons(d) == {"label 3 is not one of '1', '2'", "missing field 'output_2'"}
    assert [s.row for s in d.skipped] == ["Adversarial_Manual.json:3", "Adversarial_Manual.json:4"]
    natural = json.loads((FIX / "llmbar" / "Natural.json").read_text())
    first = next(i for i in d.items if i.id == "Natural:1")
    assert first.label == int(natural[0]["label"]) - 1
    assert first.candidates == [natural[0]["output_1"], natural[0]["output_2"]]
    assert first.inputs == {"prompt": natural[0]["input"]}


def test_pandalm_majority_ties_no_majority_and_duplicates():
    d = read_dataset(FIX / "pandalm" / "testset-v1.json")
    labels = {i.id: i.label for i in d.items}
    assert labels == {"0": 1, "1": 0, "91": None, "222": 1, "157": 0}
    assert {i.id: i.subset for i in d.items}["91"] == "tie"
    assert any("no majority among annotators [1, 2, 0]" in r for r in reasons(d))
    assert any(r.startswith("duplicate id '0'") for r in reasons(d))
    # row 157 stores the response True as a JSON boolean upstream; it stays a row, as text
    assert next(i for i in d.items if i.id == "157").candidates[0] == "True"


def test_pandalm_shipped_verdicts_agreement_with_the_majority():
    d = read_dataset(FIX / "pandalm" / "testset-v1.json")
    found = FORMATS["pandalm"].baselines(FIX / "pandalm" / "testset-v1.json", d.items)
    # gpt: 0->'1' (label 2) no, 1 yes, 91->'2' (tie) no, 157 yes, 222 yes
    assert found["gpt-3.5-turbo"]["accuracy"] == pytest.approx(3 / 5)
    # pandalm-7b: 0 yes, 1 yes, 91 tie yes, 157->tie (label 1) no, 222 yes
    assert found["pandalm-7b"]["accuracy"] == pytest.approx(4 / 5)


def test_judgebench_reference_categories_and_hidden_fields():
    d = read_dataset(FIX / "judgebench" / "openrs_judgebench_claude.jsonl")
    assert d.format == "judgebench"
    assert {i.subset for i in d.items} == {"knowledge", "math", "coding", "reasoning"}
    assert reasons(d) == {"missing field 'ground_truth'"}
    for item in d.items:
        assert set(item.inputs) == {"prompt", "reference"}
        assert item.label == 0
    leaky = next(i for i in d.items if "order" in i.hidden)
    assert leaky.hidden["order"] == "chosen_first"


def test_judgebench_list_ground_truth_is_kept_as_alternatives():
    # OpenRS's GPT-4o JudgeBench file lists several letters for 6 of its 350 rows; they were skipped
    d = read_dataset(FIX / "judgebench" / "openrs_judgebench_gpt.jsonl")
    assert d.format == "judgebench" and not d.skipped
    assert [i.inputs["reference"] for i in d.items] == [["I", "J"], ["D", "J"]]


def test_a_reference_list_must_hold_texts(tmp_path):
    path = tmp_path / "o.jsonl"
    rows = [{"id": k, "prompt": "p", "chosen": "a", "rejected": "b", "reference": ref}
            for k, ref in (("one", ["x"]), ("empty", []), ("nested", [["x"]]), ("number", [3, "4"]))]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    d = read_dataset(path, "openrs")
    assert {i.id: i.inputs["reference"] for i in d.items} == {"one": "x", "number": ["3", "4"]}
    assert reasons(d) == {"field 'reference' should be text or a non-empty list of texts"}


def test_a_list_reference_reaches_only_a_skill_that_reads_it_as_alternatives(tmp_path):
    # the reader accepted a list for any skill: one whose `reference` is plain text got the list
    # (the runtime then erred on it, counted as the skill's error, or a scorer read it as it was)
    from skilldsl.eval import run_eval
    from skilldsl.eval.fake import FakeScorer

    path = tmp_path / "o.jsonl"
    path.write_text("".join(json.dumps({"id": k, "prompt": "p", "chosen": "a {2}", "rejected": "b {1}", "reference": ref})
                            + "\n" for k, ref in (("listed", ["D", "J"]), ("one", "D"))), encoding="utf-8")
    inputs = {"prompt": "text", "response": "text"}
    plain = FakeScorer("pointwise", inputs={**inputs, "reference": "text"})
    run = run_eval(plain, path, fmt="openrs", progress=False)
    assert [r["id"] for r in run.records] == ["one"] and run.summary["errors"] == 0
    (skip,) = run.summary["skipped"]["rows"]
    assert skip["id"] == "listed" and "'reference' is a list of answers" in skip["reason"]
    assert not any(isinstance(sample.get("reference"), list) for sample in plain.seen)
    reads = FakeScorer("pointwise", inputs={**inputs, "reference": {"type": "text", "visibility": "reference"}})
    run = run_eval(reads, path, fmt="openrs", progress=False)
    assert [r["id"] for r in run.records] == ["listed", "one"] and run.summary["skipped"]["count"] == 0


def test_openrs_generic_and_candidates():
    d = read_dataset(FIX / "openrs.jsonl")
    assert d.format == "openrs" and [i.id for i in d.items] == ["o1", "o2"]
    assert d.items[1].inputs["reference"] == "Paris"
    assert reasons(d) == {"missing field 'rejected'"}
    c = read_dataset(FIX / "candidates.jsonl")
    assert c.format == "candidates"
    assert [i.kind for i in c.items] == ["bon", "rank"]
    assert reasons(c) == {"field 'correct' should be 2 booleans, one per candidate"}


def test_rmbench_and_rewardbench2_schemas():
    rm = read_dataset(FIX / "rmbench.json")
    assert rm.format == "rmbench" and [i.subset for i in rm.items] == ["chat", "chat", "math"]
    assert all(len(i.candidates) == 6 and i.num_correct == 3 for i in rm.items)
    assert reasons(rm) == {"field 'chosen' should have 3 items, has 2"}
    rb = read_dataset(FIX / "rewardbench2.jsonl")
    assert rb.format == "rewardbench2"
    assert len(rb.items) == 8
    assert any("'oops'" in r for r in reasons(rb))
    assert "num_correct 2 but 1 chosen completions" in reasons(rb)
    assert any(s.row == "rewardbench2.jsonl:11" and s.reason.startswith("invalid JSON") for s in rb.skipped)


def test_gsm8k_best_of_four_with_gold_from_test_jsonl():
    for path in (FIX / "gsm8k", FIX / "gsm8k" / "test.jsonl", FIX / "gsm8k" / "example_model_solutions.jsonl"):
        d = read_dataset(path)
        assert d.format == "gsm8k-bon"
        assert [i.inputs["reference"] for i in d.items] == ["18", "3", "70000"]
        assert [i.hidden["correct"] for i in d.items][0] == [False, False, False, True]


def test_final_answer_normalisation():
    assert final_answer("so 9 * 2 = 18\n#### 18") == "18"
    assert final_answer("total\nA: 90,000") == "90000"
    assert final_answer("It takes 3.0 bolts\nA: 3.0") == "3"
    assert final_answer("no digits here") is None
    # endings of GSM8K graded solutions (openai/grade-school-math @ 3101c7d50724) the eval's
    # former extraction misread as "14", "5" and "10"
    assert final_answer("the number of women remaining is 9/14-20 = 7/14\nA: 7/14") == "0.5"
    assert final_answer("she can start at 12/60=1/5 pm\nA: 1/5") == "0.2"
    assert final_answer("so Peter is 10+John's age\nA: 10+John's age") == "10+John's age"
    assert final_answer("A: 0." + "3" * 60 + "5") == "0." + "3" * 60 + "5"  # long decimals stay exact


@pytest.mark.skipif(not (SHARED_GSM8K / "test.jsonl").exists(), reason="needs ../shared/bench/gsm8k")
def test_final_answer_agrees_with_math_equivalent_on_every_gsm8k_solution():
    """One final-answer reading: equal keys exactly when math.equivalent says equal."""
    from skilldsl.verifiers.math import equivalent_fast

    d = read_dataset(SHARED_GSM8K)
    pairs = [(c, i.inputs["reference"]) for i in d.items for c in i.candidates]
    assert len(pairs) == 4 * 1319
    for solution, reference in pairs:
        verdict = equivalent_fast(solution, reference)
        if verdict is not None and verdict.status == "ok":
            assert (final_answer(solution) == reference) == verdict.value, solution[-200:]


def test_unknown_format_lists_known_ones(tmp_path):
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"question": "q", "answer": "a"}\n')
    with pytest.raises(EvalError) as err:
        detect_format(odd)
    assert "pass --format" in str(err.value) and "rewardbench2" in str(err.value)
    with pytest.raises(EvalError, match="unknown format 'nope'"):
        read_dataset(odd, "nope")
    with pytest.raises(EvalError, match="no such file"):
        read_dataset(tmp_path / "missing.json")


def test_limit_keeps_the_first_items():
    assert [i.id for i in read_dataset(FIX / "openrs.jsonl", limit=1).items] == ["o1"]


def test_per_subset_keeps_the_first_items_of_every_subset():
    d = read_dataset(FIX / "llmbar", per_subset=1)
    assert sorted(i.id.split(":")[0] for i in d.items) == ["Adversarial_Manual", "Natural"]
    assert len(read_dataset(FIX / "llmbar", per_subset=1, limit=1).items) == 1


# -- the layouts the benchmarks publish (fixtures with their field names and types) -----------------

PUBLISHED = [
    (FIX / "rmbench_published", "rmbench"),
    (FIX / "rmbench_published" / "chat_filtered.json", "rmbench"),
    (FIX / "rmbench_published" / "code_filtered.json", "rmbench"),
    (FIX / "rmbench_published" / "safety-refuse_filtered.json", "rmbench"),
    (FIX / "rmbench_total_dataset.json", "rmbench"),
    (FIX / "judgebench" / "dataset=judgebench,response_model=fake-model.jsonl", "judgebench"),
    (FIX / "rewardbench2_published.jsonl", "rewardbench2"),
]


@pytest.mark.parametrize("path, fmt", PUBLISHED, ids=lambda x: getattr(x, "name", x))
def test_auto_detection_picks_each_published_layout_and_reads_every_row(path, fmt):
    # RM-Bench's chat file was read as RewardBench 2 (4 items, all 0.0); with --format rmbench
    # every row was skipped for a missing 'domain'; JudgeBench's own files were refused
    assert detect_format(path) == fmt
    d = read_dataset(path)
    assert d.format == fmt and d.items and not d.skipped, [s.reason for s in d.skipped]


def test_rmbench_domain_comes_from_the_file_or_the_row_and_ids_are_per_domain():
    d = read_dataset(FIX / "rmbench_published")  # a directory: every domain file
    assert [(i.id, i.subset) for i in d.items] == [
        ("chat:0", "chat"), ("chat:1", "chat"), ("code:0", "code"), ("safety-refuse:0", "safety")]
    code = d.items[2]
    assert code.hidden["language"] == "python" and code.hidden["subset"] == "bigcode/humanevalpack"
    assert set(code.inputs) == {"prompt"}  # nothing else reaches the skill
    total = read_dataset(FIX / "rmbench_total_dataset.json")
    assert [(i.id, i.subset) for i in total.items] == [
        ("chat:chat/0", "chat"), ("chat:chat/1", "chat"), ("safety-refuse:safety-refuse/0", "safety")]


def test_rmbench_rows_without_a_domain_outside_a_domain_file_are_skipped_with_the_reason(tmp_path):
    rows = json.loads((FIX / "rmbench_published" / "chat_filtered.json").read_text())
    (tmp_path / "mine.json").write_text(json.dumps(rows))
    d = read_dataset(tmp_path / "mine.json", "rmbench")
    assert not d.items and reasons(d) == {
        "no field 'domain', and the file's name (not <domain>_filtered.json) names none"}


def test_judgebench_original_rows_keep_their_order_label_and_category():
    d = read_dataset(FIX / "judgebench" / "dataset=judgebench,response_model=fake-model.jsonl")
    assert [(i.id, i.subset, i.label) for i in d.items] == [
        ("p1", "knowledge", 0), ("p2", "reasoning", 1), ("p3", "math", 0), ("p4", "coding", 0)]
    first = d.items[0]
    assert first.candidates == ["The answer is A. {1}", "The answer is B. {0}"]
    assert set(first.inputs) == {"prompt"} and first.hidden["response_model"] == "fake-model"


def test_rewardbench2_ids_repeat_across_subsets_and_precise_if_names_its_constraint():
    d = read_dataset(FIX / "rewardbench2_published.jsonl")
    assert [i.id for i in d.items] == ["Factuality:5", "Precise IF:5", "Math:6", "Ties:ref:1", "Ties:tied:1"]
    precise = d.items[1]
    assert precise.inputs == {"prompt": "prompt Precise IF 5", "instruction_id_list": ["length_constraints:number_words"]}
    assert d.items[2].candidates[0] == "see https:/x {2}"  # "\/" in the JSON text is "/"
    assert all(set(i.inputs) <= {"prompt", "instruction_id_list"} for i in d.items)  # no metadata answers


def test_rewardbench2_ties_score_reads_the_rows_own_ids():
    from skilldsl.eval import run_eval
    from skilldsl.eval.fake import FakeScorer

    run = run_eval(FakeScorer("pointwise"), FIX / "rewardbench2_published.jsonl", progress=False)
    subsets = run.summary["official"]["rewardbench2"]["subsets"]
    ties = subsets["Ties"]["parts"]
    assert ties["ref_accuracy"] == 1.0 and ties["tied_accuracy"] == 1.0  # ref:1 and tied:1 paired by n
    assert subsets["Math"]["score"] == 0.0 and subsets["Factuality"]["score"] == 1.0


def test_unsure_detection_says_which_formats_fit_and_why(tmp_path):
    odd = tmp_path / "odd.jsonl"
    odd.write_text(json.dumps({"id": 1, "prompt": "p", "chosen": ["a"], "rejected": ["b", "c"], "subset": "x"}) + "\n")
    with pytest.raises(EvalError) as err:
        detect_format(odd)
    assert "RM-Bench and RewardBench 2" in str(err.value) and "num_correct" in str(err.value)
