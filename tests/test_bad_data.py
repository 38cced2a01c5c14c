"""No row is ever lost to one bad row: a file with one row of each bad kind through ``score``,
``rank`` and ``eval``; the row reader's limits; damaged checkpoints; results stdout that no
plugin can write into. Every skill here is decided by verifiers: no model loads."""
from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from skilldsl.cli import main
from skilldsl.eval.formats import jsonrows, read_dataset
from skilldsl.eval.formats.common import read_numbered
from skilldsl.eval.formats.jsonrows import BOM, RowError, parse_row, read_document
from skilldsl.eval.formats.samples import convert_samples
from skilldsl.eval.items import EvalError

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).parent / "fixtures" / "eval"
DEEP = b"[" * 5000 + b"]" * 5000
TOO_LARGE = 16384  # the row size cap, lowered for the test (64 MiB in real runs); DEEP is 10,000 bytes


def good(i: int, **extra) -> bytes:
    row = {"id": f"g{i}", "prompt": "2+2?", "response": "The answer is 4.", "reference": "4", **extra}
    return json.dumps(row, ensure_ascii=False).encode()


def candidates(i: int, **extra) -> bytes:
    row = {"id": f"c{i}", "prompt": "2+2?", "candidates": ["It is 5.", "The answer is 4."],
           "reference": "4", "correct": [False, True], **extra}
    return json.dumps(row, ensure_ascii=False).encode()


def bad_rows(row) -> dict:
    """Line number -> one bad row of each kind the readers must survive (lines 1 and 13 good)."""
    return {
        1: b"\xef\xbb\xbf" + row(1),                              # a BOM: accepted
        2: DEEP,                                                  # 5,000 deep: over the recursion limit
        3: row(3, note=[[["x"]]])[:-1] + b', "bad": "\xff"}',     # an invalid UTF-8 byte
        4: b'{"prompt": oops}',                                   # not JSON
        5: row(5, pad="x" * TOO_LARGE),                           # too large
        6: b"[" * 150 + b"]" * 150,                               # parses, but deeper than the limit
        7: b"[1, 2]",                                             # not an object
        8: json.dumps({"id": "m8", "prompt": "2+2?"}).encode(),   # a required field missing
        9: row(1),                                                # a duplicate id
        10: b"   ",                                               # blank: not a row
        11: row(11, text="a\u2028line\u0085separator"),           # separators that are not newlines
    }


def write_bad_file(path: Path, row, good_rows: int = 20) -> list:
    """The bad rows, then ``good_rows`` good ones; returns the good line numbers."""
    lines = bad_rows(row)
    first = max(lines) + 1
    lines.update({first + k: row(first + k) for k in range(good_rows)})
    path.write_bytes(b"\n".join(lines[n] for n in sorted(lines)) + b"\n")
    return [1, 9, 11] + [first + k for k in range(good_rows)]


BAD_LINES = {2: "nested deeper than 100", 3: "not valid UTF-8: byte 0xff", 4: "invalid JSON",
             5: "larger than 16384 bytes", 6: "nested deeper than 100", 7: "must be a JSON object",
             8: "missing required field 'response'"}


@pytest.fixture
def small_rows(monkeypatch):
    monkeypatch.setattr(jsonrows, "MAX_ROW_BYTES", TOO_LARGE)


def test_score_scores_every_good_row_and_names_every_bad_line(tmp_path, capsys, small_rows):
    data = tmp_path / "bad.jsonl"
    good_lines = write_bad_file(data, good)
    assert main(["score", "math_answer", str(data), "--no-progress", "--batch-size", "4"]) == 1
    out, err = capsys.readouterr()
    records = {r["line"]: r for r in map(json.loads, out.splitlines())}
    assert sorted(records) == sorted(good_lines + list(BAD_LINES))  # one result per row, none lost
    assert all((records[n]["status"], records[n]["reward"]) == ("ok", 1.0) for n in good_lines)
    for line, why in BAD_LINES.items():
        assert records[line]["status"] == "error" and why in records[line]["reason"], (line, records[line])
    assert all(records[n]["reason"].startswith(f"line {n}: ") for n in (2, 3, 4, 5, 6))
    assert records[9]["id"] == records[1]["id"] == "g1"  # both rows of a duplicate id are kept
    assert 'warning: id "g1" is on lines 1, 9' in err
    assert f"scored {len(records)} samples (ok {len(good_lines)}, error {len(BAD_LINES)})" in err


def test_rank_skips_each_bad_row_with_its_line(tmp_path, capsys, small_rows):
    data = tmp_path / "bad.jsonl"
    good_lines = write_bad_file(data, candidates)
    assert main(["rank", "math_answer", str(data), "--no-progress"]) == 1  # rows were skipped
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    picks = [r for r in rows if r["status"] == "ok"]
    assert len(picks) == len(good_lines) - 1  # the duplicate id's second row is skipped, with a reason
    assert all(r["best"] == "The answer is 4." and r["correct"] for r in picks)
    skipped = {r["row"]: r["reason"] for r in rows if r["status"] == "skipped"}
    assert set(skipped) == {f"bad.jsonl:{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9)}
    assert "duplicate id 'c1' (first at bad.jsonl:1)" in skipped["bad.jsonl:9"]
    assert "missing field 'candidates'" in skipped["bad.jsonl:8"]
    assert "skipped bad.jsonl:3: not valid UTF-8" in err


def test_eval_skips_each_bad_row_with_its_line(tmp_path, capsys, small_rows):
    data = tmp_path / "bad.jsonl"
    good_lines = write_bad_file(data, candidates)
    # the file is mostly bad rows on purpose: any share of skips passes here (its own test: test_eval_cli.py)
    assert main(["eval", "math_answer", str(data), "--format", "candidates", "--no-progress", "--max-skipped", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["n"], summary["errors"], summary["accuracy"]) == (len(good_lines) - 1, 0, 1.0)
    rows = {r["row"]: r["reason"] for r in summary["skipped"]["rows"]}
    assert set(rows) == {f"bad.jsonl:{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9)}
    assert "nested deeper than 100" in rows["bad.jsonl:2"] and "larger than 16384 bytes" in rows["bad.jsonl:5"]


def test_a_json_array_file_loses_only_its_bad_elements(tmp_path):
    path = tmp_path / "Natural.json"
    element = json.dumps({"input": "Say hi", "output_1": "Hi", "output_2": "No", "label": 1}).encode()
    path.write_bytes(b"\xef\xbb\xbf[\n" + b",\n".join([element, DEEP, element.replace(b"Hi", b"H\xffi"), element,
                                                          b"{oops}", element]) + b"\n]\n")
    data = read_dataset(path, "llmbar")
    assert [item.id for item in data.items] == ["Natural:1", "Natural:4", "Natural:6"]
    reasons = {s.row: s.reason for s in data.skipped}
    assert "nested deeper than 100 levels (element starting on line 3)" in reasons["Natural.json:2"]
    assert "not valid UTF-8" in reasons["Natural.json:3"] and "invalid JSON" in reasons["Natural.json:5"]


def test_a_cut_json_array_says_so():
    rows = read_document(b'[{"a": 1},\n {"b": 2}')
    assert rows[0] == (1, {"a": 1}) and isinstance(rows[1][1], RowError)
    assert "the array is not closed" in str(rows[1][1]) and "line 2" in str(rows[1][1])


def test_row_limits_and_encoding():
    assert parse_row(b"\xef\xbb\xbf{}") == {} and parse_row("\ufeff[1]") == [1]
    assert parse_row(b"[" * 100 + b"]" * 100) is not None  # 100 levels: the limit itself
    for bad, why in ((b"[" * 101 + b"]" * 101, "deeper than 100"), (DEEP, "deeper than 100"),
                     (b'"\xc3"', "not valid UTF-8: byte 0xc3 at byte 2"), (b"1" * 5000, "invalid JSON"),
                     (b"{}" + b" " * (64 << 20), "larger than 64 MiB")):
        with pytest.raises(RowError, match=why):
            parse_row(bad)


def test_a_line_over_the_size_cap_is_skipped_without_holding_it(tmp_path, small_rows):
    import io

    stream = io.BytesIO(b'{"a": 1}\n' + b"x" * (10 * TOO_LARGE) + b"\n" + b'{"b": 2}\n')
    rows = list(jsonrows.read_lines(stream))
    assert rows[0] == (1, {"a": 1}) and rows[2] == (3, {"b": 2})
    assert rows[1][0] == 2 and "larger than" in str(rows[1][1])


def test_explain_refuses_a_deep_sample_as_a_usage_error(capsys):
    assert main(["explain", "math_answer", "--sample", DEEP.decode()]) == 2
    assert "nested deeper than 100 levels" in capsys.readouterr().err


def test_the_python_api_stops_a_deep_value_at_the_door():
    # a `json` input 3,000 levels deep used to reach the judge's template and err there with a
    # RecursionError (after loading the model); it is refused before any evidence runs
    import skilldsl

    deep: dict = {}
    for _ in range(3000):
        deep = {"x": deep}
    row = {"prompt": "Two words.", "response": "hello world", "instruction_id_list": ["length_constraints:number_words"],
           "kwargs": [{"relation": "less than", "num_words": 5}]}
    skill = skilldsl.load("instruction_following")
    results = skill.score([row, {**row, "kwargs": [deep]}, row])
    assert [(r.status, r.reward) for r in results] == [("ok", 1.0), ("error", None), ("ok", 1.0)]
    assert results[1].reason == "field 'kwargs' is nested deeper than 100 levels"
    assert skill.loaded_backends == []


# ---------------------------------------------------------------- damaged checkpoints
@pytest.fixture
def checkpoint(tmp_path, capsys):
    """A finished eval's checkpoint (header + 3 records) and the argv that resumes it."""
    data = tmp_path / "c.jsonl"
    data.write_bytes(b"\n".join(candidates(i) for i in range(3)) + b"\n")
    ckpt = tmp_path / "ck.jsonl"
    argv = ["eval", "math_answer", str(data), "--format", "candidates", "--checkpoint", str(ckpt), "--no-progress"]
    assert main(argv) == 0
    capsys.readouterr()
    return ckpt, argv + ["--resume"]


def _damage(ckpt: Path, line: int, text: bytes) -> None:
    lines = ckpt.read_bytes().splitlines()
    lines[line - 1] = text
    ckpt.write_bytes(b"\n".join(lines) + b"\n")


@pytest.mark.parametrize("line, text, why", [
    (1, b"{not json", "invalid JSON"),
    (1, b'{"nothing": 1}', "not a {\"header\": {...}} object"),
    (3, b"[1, 2]", "a record must be an object, not list"),
    (3, b'{"status": "ok", "kind": "bon", "subset": "all"}', "the record has no item id"),
    (3, b'{"id": "c1", "status": "ok", "kind": "bon", "subset": "all", "value": "\xff"}', "not valid UTF-8"),
    (3, b'{"id": "c1", "status": "okay", "kind": "bon", "subset": "all", "value": 1}', "unknown status 'okay'"),
    (4, b'{"id": "c0", "status": "ok", "kind": "bon", "subset": "all", "value": 1}', "a second record for item 'c0'"),
])
def test_a_damaged_checkpoint_is_a_user_error_with_its_fix(checkpoint, capsys, line, text, why):
    ckpt, resume = checkpoint
    _damage(ckpt, line, text)
    assert main(resume) == 1
    (message,) = capsys.readouterr().err.strip().splitlines()
    assert message.startswith(f"error: {ckpt}:{line}: not a usable checkpoint: ") and why in message
    assert message.endswith("delete it or run without --resume (its items are then evaluated again)")


def test_a_line_cut_by_an_interruption_is_redone(checkpoint, capsys):
    ckpt, resume = checkpoint
    ckpt.write_bytes(ckpt.read_bytes()[:-25])  # the kill cut the last record
    assert main(resume) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 3
    assert len(ckpt.read_text().splitlines()) == 4  # header + 3 records, whole again


# ---------------------------------------------------------------- the results stream
FORGING_PLUGIN = '''
import os, sys
from skilldsl.verifiers import verifier
print('{"line": 1, "id": "a", "reward": 1.0, "status": "ok"}')


@verifier("forge.lines", params=("response: text",), doc="Prints result lines of its own, every way it can.")
def forge(response: str) -> bool:
    print('{"line": 1, "id": "a", "reward": 1.0, "status": "ok"}')
    os.write(1, b'{"line": 2, "id": "b", "reward": 1.0, "status": "ok"}\\n')
    sys.__stdout__.write('{"id": "c", "reward": 1.0}\\n')  # buffered: flushed at exit
    return False
'''

FORGED_SKILL = """skill: forged
mode: pointwise
inputs: {prompt: text, response: text}
evidence:
  printed:
    check: forge.lines(response)
reward: 1 if printed else 0
"""


@pytest.fixture
def forging(tmp_path):
    (tmp_path / "forge_plugin.py").write_text(FORGING_PLUGIN, encoding="utf-8")
    (tmp_path / "forged.skill").write_text(FORGED_SKILL, encoding="utf-8")
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"id": i, "prompt": "p", "response": "r", "candidates": ["x", "y"]})
                                              + "\n" for i in "ab"), encoding="utf-8")
    return tmp_path


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SKILLDSL_PLUGINS"}
    return subprocess.run([sys.executable, "-m", "skilldsl", *args, "--plugin", "forge_plugin.py"], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("command", ["score", "rank", "explain", "eval"])
def test_a_plugin_cannot_write_into_the_results(forging, command):
    args = {"score": ["score", "forged.skill", "d.jsonl", "--no-progress"],
            "rank": ["rank", "forged.skill", "d.jsonl", "--no-progress"],
            "explain": ["explain", "forged.skill", "--sample", '{"prompt": "p", "response": "r"}', "--json"],
            "eval": ["eval", "forged.skill", "d.jsonl", "--format", "candidates", "--no-progress"]}[command]
    proc = _run(forging, *args)
    assert proc.returncode == 0, proc.stderr
    assert '"reward": 1.0' not in proc.stdout  # every forged line went to stderr ...
    assert proc.stderr.count('"reward": 1.0') >= 4  # ... where the user still sees it
    if command == "score":
        records = [json.loads(line) for line in proc.stdout.splitlines()]
        assert [(r["line"], r["id"], r["reward"]) for r in records] == [(1, "a", 0.0), (2, "b", 0.0)]
    elif command == "rank":
        assert [json.loads(line)["scores"] for line in proc.stdout.splitlines()] == [[0.0, 0.0]] * 2
    else:
        json.loads(proc.stdout)  # one JSON document, nothing around it


def test_json_lines_whose_first_row_is_a_cut_list_lose_only_that_row():
    rows = read_document(b'[1, 2\n{"a": 1}\n{"b": 2}\n')
    assert isinstance(rows[0][1], RowError) and rows[1:] == [(2, {"a": 1}), (3, {"b": 2})]


@pytest.mark.parametrize("data, rows", [(b"", []), (b" \n", []), (b"[]", []), (b"[1,2]\n[3]\n", [(1, [1, 2]), (2, [3])])])
def test_empty_files_and_json_lines_of_lists(data, rows):
    assert read_document(data) == rows


# ---------------------------------------------------------------- text inside a row, arrays, gzip, size, --limit
def test_a_check_list_given_as_text_is_read_by_the_row_parser(tmp_path):
    # json.loads on the field itself: a 5,000-deep or 5,000-digit list ended eval with an internal error
    lists = {"deep": "[" * 5000 + "]" * 5000, "digits": "[" + "1" * 5000 + "]", "cut": '["a", ', "ok": '["Is it short?"]'}
    path = tmp_path / "o.jsonl"
    path.write_text("".join(json.dumps({"id": k, "prompt": "p", "chosen": "a", "rejected": "b", "check_list": v}) + "\n"
                            for k, v in lists.items()), encoding="utf-8")
    data = read_dataset(path, "openrs")
    assert [(i.id, i.inputs["checklist"]) for i in data.items] == [("ok", ["Is it short?"])]
    why = {s.id: s.reason for s in data.skipped}
    assert "nested deeper than 100" in why["deep"] and "invalid JSON" in why["digits"] and "invalid JSON" in why["cut"]
    assert all(r.startswith("field 'check_list' is neither a list nor a JSON list") for r in why.values())


@pytest.mark.parametrize("stray", ['{"id": "2"}]', ']{"id": "2"}', '{"id": "2"}]]'])
def test_a_stray_bracket_in_a_json_array_costs_only_its_element(stray):
    # a `]` at depth 0 with text after it ended the array reading: nearly every row was lost
    elements = [json.dumps({"id": str(i)}) for i in range(1, 6)]
    elements[1] = stray
    rows = read_document(("[\n  " + ",\n  ".join(elements) + "\n]\n").encode())
    assert [v for _, v in rows if not isinstance(v, RowError)] == [{"id": str(i)} for i in (1, 3, 4, 5)]
    assert rows[1][0] == 2 and "element starting on line 3" in str(rows[1][1])
    junk = read_document(b'[{"id": "1"},\n {"id": "2"}] x\n')  # the array closed, then more text
    assert junk[0] == (1, {"id": "1"}) and "text after the array's closing ']' on line 2" in str(junk[1][1])


def test_json_lines_of_lists_are_still_rows_after_a_stray_bracket_rule():
    assert read_document(b'[1, 2]\n{"a": 1}\n[3]\n') == [(1, [1, 2]), (2, {"a": 1}), (3, [3])]
    assert read_document(b'[{"a": 1}]\n[{"b": 2}]\n') == [(1, [{"a": 1}]), (2, [{"b": 2}])]


def test_every_bad_element_of_a_long_array_names_its_own_line():
    # (line numbers came from copying the rest of the text per bad element: 40k of them took 269 s)
    n = 4000
    lines = ["["] + ['{"id": %d},' % k if k % 2 else "{oops}," for k in range(1, n + 1)] + ['{"id": "last"}', "]"]
    rows = read_document("\n".join(lines).encode())
    bad = [(number, str(value)) for number, value in rows if isinstance(value, RowError)]
    assert len(rows) == n + 1 and len(bad) == n // 2
    assert all(why.endswith(f"(element starting on line {number + 1})") for number, why in bad)


def humaneval_rows(n: int) -> list:
    return [json.dumps({"task_id": f"T/{k}", "prompt": "def f():\n", "canonical_solution": f"    return {k}\n" * 20,
                        "test": "def check(f): pass", "entry_point": "f"}).encode() + b"\n" for k in range(n)]


def test_a_cut_gzip_file_loses_only_the_row_it_cuts(tmp_path, capsys):
    whole = gzip.compress(b"".join(humaneval_rows(60)))
    cut = tmp_path / "HumanEval.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    samples, skipped = convert_samples("humaneval", cut)
    assert samples and [s["id"] for s in samples] == [f"T/{k}" for k in range(len(samples))]
    assert [s.row for s in skipped] == [f"HumanEval.jsonl.gz:{len(samples) + 1}"]
    assert "the compressed file is cut" in skipped[0].reason
    out = tmp_path / "he.jsonl"
    assert main(["convert", "humaneval", str(cut), "-o", str(out)]) == 0  # was an internal error (exit 70)
    assert len(out.read_text().splitlines()) == len(samples)
    assert "the compressed file is cut" in capsys.readouterr().err


def test_a_gzip_file_cut_between_rows_says_rows_are_missing(tmp_path):
    packer = zlib.compressobj(wbits=31)  # gzip, flushed after each row: the cut falls between rows
    cut = tmp_path / "rows.jsonl.gz"
    cut.write_bytes(b"".join(packer.compress(row) + packer.flush(zlib.Z_FULL_FLUSH) for row in humaneval_rows(3)))
    rows = read_numbered(cut)
    assert [n for n, _ in rows] == [1, 2, 3, 4] and all(isinstance(r, dict) for _, r in rows[:3])
    assert isinstance(rows[3][1], RowError) and "the compressed file is cut" in str(rows[3][1])


def test_a_file_that_is_not_gzip_is_a_user_error(tmp_path, capsys):
    path = tmp_path / "HumanEval.jsonl.gz"
    path.write_bytes(b"".join(humaneval_rows(2)))
    with pytest.raises(EvalError, match="HumanEval.jsonl.gz: cannot decompress"):
        read_numbered(path)
    assert main(["eval", "math_answer", str(path), "--format", "candidates", "--no-progress"]) == 1
    assert "cannot decompress" in capsys.readouterr().err


@pytest.mark.parametrize("bom", [b"", BOM])
@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_the_size_cap_counts_the_row_not_its_line_ending_or_bom(monkeypatch, bom, ending):
    monkeypatch.setattr(jsonrows, "MAX_ROW_BYTES", 100)
    row = b'{"pad": "' + b"y" * 89 + b'"}'
    over = row[:-2] + b'y"}'
    assert (len(row), len(over)) == (100, 101)
    data = bom + row + ending + over + ending + b"[3]" + ending
    for rows in (list(jsonrows.read_lines(io.BytesIO(data))), read_document(data)):
        assert rows[0] == (1, json.loads(row)) and rows[2] == (3, [3])
        assert "larger than 100 bytes" in str(rows[1][1])
    array = read_document(bom + b"[\n    " + row + b"," + ending + b"    " + over + ending + b"]" + ending)
    assert array[0] == (1, json.loads(row)) and "larger than 100 bytes" in str(array[1][1])
    assert list(jsonrows.read_lines(io.BytesIO(bom + row + b"\r"))) == [(1, json.loads(row))]  # last line, no LF


def limited_file(tmp_path) -> Path:
    path = tmp_path / "lim.jsonl"  # items on lines 1, 3 and 4; bad rows on lines 2 and 5
    path.write_bytes(b"\n".join([candidates(0), b"{oops", candidates(1), candidates(2), b'{"oops"']) + b"\n")
    return path


def test_a_limit_reports_only_the_skips_among_the_rows_it_reads(tmp_path, capsys):
    path = limited_file(tmp_path)
    assert main(["rank", "math_answer", str(path), "--limit", "1", "--no-progress"]) == 0  # line 5 made it 1
    out, err = capsys.readouterr()
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["c0"] and "skipped" not in err
    assert main(["rank", "math_answer", str(path), "--limit", "2", "--no-progress"]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r.get("row") for r in rows if r["status"] == "skipped"] == ["lim.jsonl:2"]
    assert main(["eval", "math_answer", str(path), "--format", "candidates", "--limit", "2", "--no-progress",
                 "--max-skipped", "1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 2 and [r["row"] for r in summary["skipped"]["rows"]] == ["lim.jsonl:2"]


def test_convert_with_a_limit_reports_only_the_skips_among_the_rows_it_reads(tmp_path, capsys):
    path = tmp_path / "he.jsonl"
    path.write_bytes(b"".join(humaneval_rows(2)) + b"{oops\n")
    assert main(["convert", "humaneval", str(path), "--limit", "1", "-o", str(tmp_path / "out.jsonl")]) == 0
    err = capsys.readouterr().err
    assert "skipped he.jsonl" not in err and "(0 rows skipped)" in err


def test_a_solution_given_as_python_text_is_read_under_the_parsers_limits(tmp_path):
    # graded solutions may be a Python literal; one the parser cannot hold ended convert with an internal error
    row = {"question": "1+1?", "ground_truth": "#### 2"}
    row.update({s: {"solution": "2", "is_correct": True} for s in ("6b_finetuning", "6b_verification",
                                                                 "175b_finetuning", "175b_verification")})
    hostile = {**row, "6b_finetuning": "-" * 100_000 + "1", "6b_verification": "(" * 300 + ")" * 300}
    (tmp_path / "example_model_solutions.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(hostile) + "\n")
    samples, skipped = convert_samples("gsm8k-solutions", tmp_path)
    assert len(samples) == 4 + 2
    assert {s.row: s.reason for s in skipped} == {
        "example_model_solutions.jsonl:2:6b_finetuning": "field '6b_finetuning' is not a solution object",
        "example_model_solutions.jsonl:2:6b_verification": "field '6b_verification' is not a solution object"}


def test_a_lone_surrogate_in_a_row_costs_no_row(tmp_path):
    # "b\ud800" is valid JSON (an escaped lone surrogate) with no UTF-8 form: writing its result line
    # ended score with exit 70 and lost every later row, on stdout and in an -o file alike
    rows = [{"id": "a", "prompt": "2+2?", "response": "The answer is 4.", "reference": "4"},
            {"id": "b\ud800", "prompt": "2+2?\ud800", "response": "The answer is 4. \udcff", "reference": "4"},
            {"id": "c", "prompt": "2+2?", "response": "The answer is 4.", "reference": "4"}]
    data, out = tmp_path / "sur.jsonl", tmp_path / "out.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="ascii")
    env = {k: v for k, v in os.environ.items() if k != "SKILLDSL_PLUGINS"}
    for extra in ([], ["-o", str(out)]):
        proc = subprocess.run([sys.executable, "-m", "skilldsl", "score", "math_answer", str(data), "--no-progress",
                               *extra], cwd=ROOT, capture_output=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
        written = out.read_bytes() if extra else proc.stdout
        records = [json.loads(line) for line in written.decode("utf-8").splitlines()]  # valid UTF-8 ...
        assert [r["id"] for r in records] == ["a", "b\ud800", "c"]  # ... reading back to the same value
        assert [(r["status"], r["reward"]) for r in records] == [("ok", 1.0)] * 3
