"""What every subcommand shares: one-line errors for missing files, exit codes (0 ok, 1 user
error, 2 usage), and the same option names and meanings across commands."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from skilldsl.cli import _parser, main

ROOT = Path(__file__).resolve().parent.parent
SKILLS = ROOT / "skills"
FIX = Path(__file__).parent / "fixtures" / "eval"
MATH = str(SKILLS / "math_answer.skill")


def one_error_line(capsys) -> str:
    """The single stderr line of a failed command (never a traceback or an internal error)."""
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: "), err
    assert "Traceback" not in err and "internal error" not in err
    return err


@pytest.mark.parametrize("argv", [
    ["score", MATH, "{missing}"],
    ["rank", MATH, "{missing}"],
    ["eval", MATH, "{missing}"],
    ["convert", "gsm8k-solutions", "{missing}"],
    ["score", "{missing}.skillc", "{missing}"],
    ["eval", "{missing}.skillc", "{missing}"],
    ["graph", "{missing}.skillc"],
    ["graph", "{missing}.skill"],
    ["explain", MATH, "--sample", "@{missing}"],
])
def test_a_missing_file_is_one_error_line_and_exit_1(argv, tmp_path, capsys):
    missing = str(tmp_path / "nope")
    assert main([a.replace("{missing}", missing) for a in argv]) == 1
    assert missing in one_error_line(capsys)


@pytest.mark.parametrize("argv", [
    ["score", MATH, "{data}", "--no-progress", "-o", "{nodir}/o.jsonl"],
    ["rank", MATH, "{data}", "--no-progress", "-o", "{nodir}/o.jsonl"],
    ["convert", "gsm8k-solutions", str(FIX / "gsm8k"), "-o", "{nodir}/o.jsonl"],
    ["rank", MATH, "{data}", "--no-progress", "-o", "{tmp}"],
])
def test_an_unwritable_output_is_one_error_line_and_exit_1(argv, tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"prompt": "2+2?", "candidates": ["4"], "response": "4", "reference": "4"}) + "\n")
    fill = {"{data}": str(data), "{nodir}": str(tmp_path / "nodir"), "{tmp}": str(tmp_path)}
    for key, value in fill.items():
        argv = [a.replace(key, value) for a in argv]
    assert main(argv) == 1
    assert str(tmp_path) in one_error_line(capsys)


@pytest.mark.parametrize("command", ["score", "explain", "graph"])
def test_an_unknown_stock_skill_name_is_a_user_error(command, tmp_path, capsys):
    extra = {"score": [str(tmp_path / "d.jsonl")], "explain": ["--sample", "{}"], "graph": []}[command]
    assert main([command, "no_such_stock_skill", *extra]) == 1
    assert "no_such_stock_skill" in one_error_line(capsys)


def test_an_edited_skillc_is_a_user_error(tmp_path, capsys):
    assert main(["build", MATH, "-o", str(tmp_path)]) == 0
    skillc = tmp_path / "math_answer.skillc"
    skillc.write_text(skillc.read_text().replace('"math_answer"', '"edited"', 1))
    capsys.readouterr()
    assert main(["graph", str(skillc)]) == 1
    assert "reward id does not match" in one_error_line(capsys)


def test_build_into_a_file_is_a_user_error(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    assert main(["build", MATH, "-o", str(tmp_path / "f")]) == 1
    assert "is not a directory" in one_error_line(capsys)


def test_graph_takes_a_stock_skill_name(capsys):
    assert main(["graph", "math_answer"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR")


@pytest.mark.parametrize("command", ["score", "rank", "eval", "convert"])
@pytest.mark.parametrize("bad", ["-1", "many"])
def test_limit_is_a_count_everywhere(command, bad, capsys):
    positional = ["gsm8k-solutions", "x"] if command == "convert" else [MATH, "x"]
    with pytest.raises(SystemExit) as exc:
        main([command, *positional, "--limit", bad])
    assert exc.value.code == 2 and "--limit" in capsys.readouterr().err


@pytest.mark.parametrize("size", ["0", "-1"])
def test_a_batch_size_below_one_is_a_usage_error_not_lost_rows(size, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["score", MATH, "x", "--batch-size", size])
    assert exc.value.code == 2 and "--batch-size" in capsys.readouterr().err


def test_model_options_are_the_same_on_every_command_that_runs_a_skill():
    sub = next(a for a in _parser()._actions if a.dest == "command")
    for command in ("score", "explain", "rank", "eval"):
        options = {o: a.help for a in sub.choices[command]._actions for o in a.option_strings}
        for flag in ("--model", "--device", "--dtype", "--no-cache"):
            assert flag in options, (command, flag)
        assert "Hugging Face id" in options["--model"]


def test_top_level_help_says_what_skill_means_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0 and "stock skill" in out and "Exit status: 0 ok, 1 user error" in out


def test_every_command_has_a_description():
    sub = next(a for a in _parser()._actions if a.dest == "command")
    assert all(p.description for p in sub.choices.values()), [n for n, p in sub.choices.items() if not p.description]


def test_score_and_rank_take_limit(tmp_path, capsys):
    rows = [{"prompt": "2+2?", "response": r, "reference": "4"} for r in ("4", "5", "4")]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["score", MATH, str(data), "--limit", "2", "--no-progress"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    ranked = tmp_path / "r.jsonl"
    ranked.write_text("".join(json.dumps({"id": i, "prompt": "2+2?", "candidates": ["5", "4"], "reference": "4"}) + "\n"
                              for i in range(3)))
    assert main(["rank", MATH, str(ranked), "--limit", "1", "--no-progress"]) == 0
    assert [json.loads(line)["best"] for line in capsys.readouterr().out.splitlines()] == ["4"]


def test_convert_with_no_usable_row_is_a_data_error_and_a_wrong_option_a_usage_error(tmp_path, capsys):
    src = tmp_path / "HumanEval.jsonl"
    src.write_text("{bad\n")
    assert main(["convert", "humaneval", str(src)]) == 1
    assert main(["convert", "ifeval", str(FIX / "ifeval"), "--response", "empty"]) == 2


def test_every_command_loads_its_skill_through_one_function():
    from skilldsl.cli._common import load_skill

    seen = []
    args = _parser().parse_args(["eval", "main.skill", "data.json", "--model", "m", "--no-cache",
                                 "--baseline", "other.skill"])
    load_skill(args, load=lambda path, **options: seen.append((path, options)))
    load_skill(args, args.baseline, load=lambda path, **options: seen.append((path, options)), batch_size=3)
    options = {"model": "m", "device": None, "dtype": None, "cache": False, "backend": None, "backend_options": None}
    assert seen == [("main.skill", options), ("other.skill", {**options, "batch_size": 3})]
