"""``skilldsl eval`` and ``skilldsl rank`` end to end, with a fake scorer injected."""
import argparse
import json
from pathlib import Path

import pytest

from skilldsl.cli import eval_cmd, rank_cmd
from skilldsl.eval.fake import FakeScorer

FIX = Path(__file__).parent / "fixtures" / "eval"


def parse(module, argv):
    parser = argparse.ArgumentParser(prog="skilldsl")
    module.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def loader(registry):
    def load(path, **options):
        registry.setdefault("options", []).append(options)
        return {"judge.skill": FakeScorer("pairwise", name="judge"),
                "points.skill": FakeScorer("pointwise", name="points")}[path]
    return load


def run_eval_cli(argv, capsys, max_skipped="1"):
    """``eval`` on fixtures; they hold bad rows on purpose, so by default any share of skips passes
    (``max_skipped=None``: the command's own default)."""
    seen = {}
    extra = ["--max-skipped", max_skipped] if max_skipped is not None else []
    code = eval_cmd.execute(parse(eval_cmd, ["eval", *argv, *extra]), loader(seen))
    out = capsys.readouterr()
    return code, out, seen


def test_eval_prints_summary_with_baseline_and_writes_reports(tmp_path, capsys):
    report = tmp_path / "r.html"
    code, out, seen = run_eval_cli(["judge.skill", str(FIX / "pandalm" / "testset-v1.json"), "--baseline",
                                    "points.skill", "--report", str(report), "--both-orders", "--model", "m1",
                                    "--no-progress"], capsys)
    assert code == 0
    summary = json.loads(out.out)
    assert summary["format"] == "pandalm" and summary["n"] == 5
    assert set(summary["subsets"]) == {"preference", "tie"}
    assert summary["skipped"]["count"] == 2
    assert summary["baseline"]["paired"]["test"] == "mcnemar-exact"
    assert summary["dataset_baselines"]["pandalm-7b"]["accuracy"] == pytest.approx(0.8)
    assert summary["position_consistency"]["n"] == 5
    assert seen["options"][0]["model"] == "m1"
    page = report.read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "Disagreements" in page
    assert "<script" not in page
    assert Path(summary["checkpoint"]).exists() and (tmp_path / "r.baseline.jsonl").exists()


def test_eval_markdown_report_and_resume(tmp_path, capsys):
    report = tmp_path / "r.md"
    argv = ["points.skill", str(FIX / "rewardbench2.jsonl"), "--report", str(report), "--no-progress"]
    code, out, _ = run_eval_cli(argv, capsys)
    first = json.loads(out.out)
    assert code == 0 and "| subset |" in report.read_text()
    code, out, _ = run_eval_cli(argv + ["--resume"], capsys)
    again = json.loads(out.out)
    assert again["official"] == first["official"] and again["accuracy"] == first["accuracy"]


def test_eval_bad_data_exits_1_and_bad_usage_2_with_a_message(tmp_path, capsys):
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"x": 1}\n')
    code, out, _ = run_eval_cli(["judge.skill", str(odd), "--no-progress"], capsys)
    assert code == 1 and "pass --format" in out.err
    code, out, _ = run_eval_cli(["judge.skill", str(odd), "--resume", "--no-progress"], capsys)
    assert code == 2 and "--resume needs a checkpoint" in out.err


def test_rank_picks_best_of_n(tmp_path, capsys):
    out_file = tmp_path / "picks.jsonl"
    args = parse(rank_cmd, ["rank", "judge.skill", str(FIX / "candidates.jsonl"), "--method", "knockout",
                            "-o", str(out_file), "--no-progress"])
    code = rank_cmd.execute(args, loader({}))
    picks = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert code == 1  # one row skipped (its `correct` list is malformed), and said so
    assert [p["best"] for p in picks[:2]] == ["b {7}", "c {9}"]
    assert picks[0]["correct"] is True
    assert picks[2]["status"] == "skipped" and "correct" in capsys.readouterr().err


class Interrupted(FakeScorer):
    def score(self, samples):
        raise KeyboardInterrupt


def test_interrupted_eval_says_how_to_resume(tmp_path, capsys):
    args = parse(eval_cmd, ["eval", "judge.skill", str(FIX / "openrs.jsonl"), "--out", str(tmp_path / "c.jsonl"),
                            "--no-progress"])
    with pytest.raises(KeyboardInterrupt):
        eval_cmd.execute(args, lambda path, **options: Interrupted("pairwise"))
    assert "--resume" in capsys.readouterr().err
    assert (tmp_path / "c.jsonl").read_text().count("\n") == 1  # the header, no item


def test_eval_passes_every_runtime_option_to_the_loader(capsys):
    code, _, seen = run_eval_cli(["judge.skill", str(FIX / "openrs.jsonl"), "--model", "m", "--dtype", "bfloat16",
                                  "--no-cache", "--no-progress", "--backend", "fake", "--backend-option", "confidence=0.7"],
                                 capsys)
    assert code == 0
    assert seen["options"][0] == {"model": "m", "device": None, "dtype": "bfloat16", "cache": False,
                                  "backend": "fake", "backend_options": {"confidence": 0.7}}


def test_eval_checkpoint_option_and_its_old_name(tmp_path, capsys):
    data = str(FIX / "openrs.jsonl")
    for flag in ("--checkpoint", "--out"):
        ckpt = tmp_path / f"{flag.strip('-')}.jsonl"
        code, out, _ = run_eval_cli(["judge.skill", data, flag, str(ckpt), "--no-progress"], capsys)
        assert code == 0 and json.loads(out.out)["checkpoint"] == str(ckpt)
        code, out, _ = run_eval_cli(["judge.skill", data, flag, str(ckpt), "--resume", "--no-progress"], capsys)
        assert code == 0 and json.loads(out.out)["checkpoint"] == str(ckpt)
    code, out, _ = run_eval_cli(["judge.skill", data, "--resume", "--no-progress"], capsys)
    assert code == 2 and "give --checkpoint FILE.jsonl or --report FILE" in out.err


@pytest.mark.parametrize("skill, method", [("judge.skill", "knockout"), ("points.skill", "argmax")])
def test_rank_method_follows_the_skill_mode_by_default(tmp_path, capsys, skill, method):
    picks = {}
    for given in ([], ["--method", method]):
        out_file = tmp_path / f"picks{len(given)}.jsonl"
        args = parse(rank_cmd, ["rank", skill, str(FIX / "candidates.jsonl"), "-o", str(out_file), "--no-progress",
                                *given])
        assert rank_cmd.execute(args, loader({})) == 1  # the malformed row is skipped, as above
        picks[len(given)] = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert picks[0] == picks[2] and picks[0][0]["status"] == "ok"
    assert (picks[0][0]["scores"] is None) == (method == "knockout")


def test_rank_still_refuses_a_method_the_mode_cannot_serve(tmp_path, capsys):
    args = parse(rank_cmd, ["rank", "judge.skill", str(FIX / "candidates.jsonl"), "--method", "argmax",
                            "--no-progress"])
    assert rank_cmd.execute(args, loader({})) == 1
    assert "method 'argmax' needs a pointwise or listwise skill" in capsys.readouterr().err


def test_eval_checkpoint_records_the_resolved_method(tmp_path, capsys):
    ckpt = tmp_path / "c.jsonl"
    code, out, _ = run_eval_cli(["judge.skill", str(FIX / "candidates.jsonl"), "--checkpoint", str(ckpt),
                                 "--no-progress"], capsys)
    assert code == 0 and json.loads(out.out)["options"]["method"] == "knockout"
    assert json.loads(ckpt.read_text().splitlines()[0])["header"]["options"]["method"] == "knockout"


def test_eval_fails_loudly_when_too_many_rows_were_skipped(tmp_path, capsys):
    # the summary reported accuracy on the rows that were left, with exit 0
    rows = [{"id": f"r{k}", "prompt": "p", "chosen": "good {1}", "rejected": "bad {0}"} for k in range(10)]
    rows[3] = {"id": "r3", "prompt": "p"}  # 1 of 10 rows: 10 % skipped
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    code, out, _ = run_eval_cli(["points.skill", str(data), "--format", "openrs", "--no-progress"], capsys,
                                max_skipped=None)
    assert code == 1 and json.loads(out.out)["skipped"]["count"] == 1  # the summary is still printed
    assert "1 of 10 rows (10%) were skipped" in out.err and "missing fields 'chosen', 'rejected'" in out.err, out.err
    code, _, _ = run_eval_cli(["points.skill", str(data), "--format", "openrs", "--no-progress"], capsys,
                              max_skipped="0.1")
    assert code == 0
