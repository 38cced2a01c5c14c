"""``skilldsl convert``: native benchmark files -> pointwise samples, then ``skilldsl score``.

Fixtures (tests/fixtures/eval/README.md): GSM8K's first 3 problems, IFEval rows 339-342 and
HumanEval's first 2 problems, unedited copies of the development data.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from _runtime_support import forbid_backend
from skilldsl.cli import main
from skilldsl.eval.formats.common import read_rows
from skilldsl.eval.formats.samples import SAMPLE_FORMATS, convert_samples
from skilldsl.eval.items import EvalError

FIX = Path(__file__).parent / "fixtures" / "eval"
SOLVERS = ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification")


def jsonl(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_gsm8k_solutions_one_sample_per_graded_solution():
    raw, gold = jsonl(FIX / "gsm8k" / "example_model_solutions.jsonl"), jsonl(FIX / "gsm8k" / "test.jsonl")
    for src in (FIX / "gsm8k", FIX / "gsm8k" / "example_model_solutions.jsonl"):
        samples, skipped = convert_samples("gsm8k-solutions", src)
        assert skipped == [] and len(samples) == 4 * len(raw)
        assert all(tuple(s) == SAMPLE_FORMATS["gsm8k-solutions"].fields for s in samples)
    assert [s["id"] for s in samples[:4]] == [f"1:{solver}" for solver in SOLVERS]
    for n, row in enumerate(raw):
        answer = next(g["answer"] for g in gold if g["question"] == row["question"]).split("####")[1].strip()
        for solver, sample in zip(SOLVERS, samples[4 * n: 4 * n + 4]):
            assert sample["prompt"] == row["question"] and sample["reference"] == answer.replace(",", "")
            assert (sample["response"], sample["is_correct"]) == (row[solver]["solution"], row[solver]["is_correct"])


def test_gsm8k_bad_rows_are_skipped_with_reasons(tmp_path):
    good = jsonl(FIX / "gsm8k" / "example_model_solutions.jsonl")[0]
    no_solver = {k: v for k, v in good.items() if k != "175b_verification"}
    bad_grade = {**good, "6b_finetuning": {"solution": "x", "is_correct": "yes"}}
    lines = [json.dumps(good), "{oops", json.dumps(no_solver), json.dumps(bad_grade), json.dumps([1])]
    (tmp_path / "example_model_solutions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    samples, skipped = convert_samples("gsm8k-solutions", tmp_path)  # no test.jsonl: gold from ground_truth
    assert len(samples) == 4 + 3 + 3
    assert samples[0]["reference"] == good["ground_truth"].rsplit("A:", 1)[1].strip()
    reasons = {s.row: s.reason for s in skipped}
    assert "invalid JSON" in reasons["example_model_solutions.jsonl:2"]
    assert "'175b_verification' should be" in reasons["example_model_solutions.jsonl:3:175b_verification"]
    assert "'6b_finetuning' should be" in reasons["example_model_solutions.jsonl:4:6b_finetuning"]
    assert "not an object" in reasons["example_model_solutions.jsonl:5"]


def test_ifeval_joins_responses_by_prompt_then_by_line():
    inputs = jsonl(FIX / "ifeval" / "input_data.jsonl")
    answers = jsonl(FIX / "ifeval" / "input_response_data_gpt4_20231107_145030.jsonl")
    samples, skipped = convert_samples("ifeval", FIX / "ifeval")
    assert skipped == [] and [s["id"] for s in samples] == [str(r["key"]) for r in inputs]
    assert all(tuple(s) == SAMPLE_FORMATS["ifeval"].fields for s in samples)
    by_prompt = {a["prompt"]: a["response"] for a in answers}
    unmatched = [i for i, row in enumerate(inputs) if row["prompt"] not in by_prompt]
    assert unmatched == [1]  # key 2785: the responses file words this prompt differently
    for i, (row, sample) in enumerate(zip(inputs, samples)):
        assert sample["response"] == (answers[i]["response"] if i in unmatched else by_prompt[row["prompt"]])
        assert (sample["prompt"], sample["kwargs"]) == (row["prompt"], row["kwargs"])
        assert sample["instruction_id_list"] == row["instruction_id_list"]


def test_ifeval_bad_rows_and_missing_responses(tmp_path):
    inputs = jsonl(FIX / "ifeval" / "input_data.jsonl")
    answers = jsonl(FIX / "ifeval" / "input_response_data_gpt4_20231107_145030.jsonl")
    rows = [inputs[0], inputs[1], {**inputs[2], "kwargs": [{}]}, {**inputs[3], "key": inputs[0]["key"]}]
    (tmp_path / "input_data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(EvalError, match="--responses FILE"):
        convert_samples("ifeval", tmp_path)
    fewer = tmp_path / "answers.jsonl"  # one row short: no line-by-line fallback for key 2785
    fewer.write_text("".join(json.dumps(a) + "\n" for a in answers[:1] + answers[2:]), encoding="utf-8")
    samples, skipped = convert_samples("ifeval", tmp_path / "input_data.jsonl", responses=fewer)
    assert [s["id"] for s in samples] == [str(inputs[0]["key"])]
    assert [(s.row, s.reason) for s in skipped] == [
        ("input_data.jsonl:2", "no response for this prompt in the responses file"),
        ("input_data.jsonl:3", f"field 'kwargs' should be {len(inputs[2]['instruction_id_list'])} objects, "
                               "one per instruction id"),
        ("input_data.jsonl:4", f"duplicate id '{inputs[0]['key']}' (first at input_data.jsonl:1)"),
    ]


def test_humaneval_canonical_or_empty_from_gzip_or_plain(tmp_path):
    raw = read_rows(FIX / "humaneval" / "HumanEval.jsonl.gz")
    canonical, skipped = convert_samples("humaneval", FIX / "humaneval")
    empty, _ = convert_samples("humaneval", FIX / "humaneval" / "HumanEval.jsonl.gz", response="empty")
    assert skipped == [] and [s["id"] for s in canonical] == [r["task_id"] for r in raw]
    assert [s["response"] for s in canonical] == [r["canonical_solution"] for r in raw]
    assert [s["response"] for s in empty] == [""] * len(raw)
    assert [{k: s[k] for k in ("prompt", "test", "entry_point")} for s in canonical] == \
        [{k: r[k] for k in ("prompt", "test", "entry_point")} for r in raw]
    plain = tmp_path / "he.jsonl"
    plain.write_text(gzip.decompress((FIX / "humaneval" / "HumanEval.jsonl.gz").read_bytes()).decode())
    assert convert_samples("humaneval", plain)[0] == canonical
    no_solution = tmp_path / "cut.jsonl"
    no_solution.write_text(json.dumps({k: v for k, v in raw[0].items() if k != "canonical_solution"}) + "\n")
    assert convert_samples("humaneval", no_solution)[1][0].reason == "missing field 'canonical_solution'"
    assert len(convert_samples("humaneval", no_solution, response="empty")[0]) == 1


def test_unknown_formats_options_and_paths():
    with pytest.raises(EvalError, match="unknown sample format"):
        convert_samples("nope", FIX)
    with pytest.raises(EvalError, match="takes no option response"):
        convert_samples("ifeval", FIX / "ifeval", response="empty")
    with pytest.raises(EvalError, match="--response must be one of"):
        convert_samples("humaneval", FIX / "humaneval", response="half")
    with pytest.raises(EvalError, match="no such file"):
        convert_samples("humaneval", FIX / "missing")
    with pytest.raises(EvalError, match="no such responses file"):
        convert_samples("ifeval", FIX / "ifeval", responses=FIX / "missing.jsonl")
    with pytest.raises(EvalError, match="cannot read humaneval data: .*HumanEval.jsonl.gz"):
        convert_samples("humaneval", FIX / "gsm8k")  # a directory without the file


@pytest.fixture
def no_model(monkeypatch):
    forbid_backend(monkeypatch, "verifiers decide these skills: no model may load")


def convert_then_score(tmp_path, capsys, skill, fmt, src, *options):
    samples, scored = tmp_path / f"{fmt}.jsonl", tmp_path / f"{fmt}.scored.jsonl"
    assert main(["convert", fmt, str(src), "-o", str(samples), *options]) == 0
    assert f"wrote {len(jsonl(samples))} {fmt} samples" in capsys.readouterr().err
    assert main(["score", skill, str(samples), "-o", str(scored), "--no-progress"]) == 0
    return jsonl(samples), jsonl(scored)


def test_converted_humaneval_scores_with_code_tests(tmp_path, capsys, no_model):
    for option, want in (([], 1.0), (["--response", "empty"], 0.0)):
        samples, results = convert_then_score(tmp_path, capsys, "code_tests", "humaneval", FIX / "humaneval", *option)
        assert [r["id"] for r in results] == [s["id"] for s in samples]
        assert [(r["status"], r["reward"]) for r in results] == [("ok", want)] * len(samples)


def test_converted_ifeval_scores_without_a_judge(tmp_path, capsys, no_model):
    samples, results = convert_then_score(tmp_path, capsys, "instruction_following", "ifeval", FIX / "ifeval")
    assert [r["id"] for r in results] == [s["id"] for s in samples]
    for sample, result in zip(samples, results):
        items = result["trace"]["follows"]["detail"]["items"]
        assert [i["status"] for i in items] == ["ok"] * len(sample["instruction_id_list"])
        assert result["reward"] == pytest.approx(sum(i["value"] for i in items) / len(items))
        assert {i["skipped"] for i in result["trace"]["judged"]["detail"]["items"]} == {"when: false"}


def test_converted_gsm8k_scores_with_math_answer(tmp_path, capsys, no_model):
    samples, results = convert_then_score(tmp_path, capsys, "math_answer", "gsm8k-solutions", FIX / "gsm8k")
    assert [r["id"] for r in results] == [s["id"] for s in samples]
    assert [r["reward"] for r in results] == [float(s["is_correct"]) for s in samples]


def test_convert_command_reports_skips_and_errors(tmp_path, capsys):
    src = tmp_path / "HumanEval.jsonl"
    src.write_text(json.dumps({"task_id": "t/0"}) + "\n{bad\n", encoding="utf-8")
    assert main(["convert", "humaneval", str(src), "-o", str(tmp_path / "o.jsonl")]) == 1  # nothing usable
    err = capsys.readouterr().err
    assert "skipped HumanEval.jsonl:1: missing fields 'prompt', 'test', 'entry_point'" in err
    assert "skipped HumanEval.jsonl:2: invalid JSON" in err and "wrote 0 humaneval samples" in err
    assert main(["convert", "ifeval", str(FIX / "ifeval"), "--response", "empty"]) == 2
    assert "takes no option response" in capsys.readouterr().err
    assert main(["convert", "gsm8k-solutions", str(FIX / "gsm8k"), "--limit", "2"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == \
        ["1:6b_finetuning", "1:6b_verification"]
