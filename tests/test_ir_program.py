"""The IR document: canonical bytes, reward id coverage, save/load integrity."""
import json
from pathlib import Path

import pytest

from skilldsl.ir import FORMAT, Program, canonical_json, canonical_numbers, compute_reward_id
from skilldsl.ir.program import validate_doc


def _doc(**over):
    doc = {
        "format": FORMAT,
        "skill": "t",
        "version": 1,
        "mode": "pointwise",
        "about": "a test",
        "source": "t.skill",
        "inputs": {"response": {"type": "text", "optional": False, "visibility": "visible"}},
        "files": {},
        "models": {},
        "settings": {},
        "candidates": None,
        "evidence": {},
        "reward": {"const": 1},
        "plan": {"order": [], "eager": [], "lazy": []},
    }
    doc.update(over)
    return doc


def test_canonical_json_is_key_order_independent():
    assert canonical_json({"b": 1, "a": [1, "é"]}) == canonical_json({"a": [1, "é"], "b": 1})
    assert canonical_json({"a": "é"}) == '{"a":"é"}'.encode()


def test_canonical_json_rejects_nan():
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_reward_id_ignores_description_but_not_semantics():
    base = compute_reward_id(_doc())
    assert compute_reward_id(_doc(about="other words", source="moved.skill")) == base
    assert compute_reward_id(_doc(reward={"const": 0})) != base
    assert compute_reward_id(_doc(version=2)) != base


def test_canonical_numbers_make_whole_numbers_ints_but_temperatures_floats():
    doc = {"limits": {"timeout": 5.0, "memory_mb": 512}, "reward": {"const": 0.5}, "xs": [1.0, True, 2.5],
           "settings": {"temperature": 0, "seed": 0.0}, "decoding": {"temperature": 0.7}, "big": 1e300, "s": "1.0"}
    out = canonical_numbers(doc)
    assert out == {"limits": {"timeout": 5, "memory_mb": 512}, "reward": {"const": 0.5}, "xs": [1, True, 2.5],
                   "settings": {"temperature": 0.0, "seed": 0}, "decoding": {"temperature": 0.7}, "big": 1e300,
                   "s": "1.0"}
    assert [type(x) for x in (out["limits"]["timeout"], out["xs"][1], out["settings"]["temperature"])] == [int, bool, float]
    assert doc["limits"]["timeout"] == 5.0 and isinstance(doc["limits"]["timeout"], float)  # not mutated


def test_equal_numbers_give_equal_reward_ids():
    five = Program.from_doc(_doc(reward={"const": 5}, settings={"temperature": 1}))
    five_point_o = Program.from_doc(_doc(reward={"const": 5.0}, settings={"temperature": 1.0}))
    assert five.reward_id == five_point_o.reward_id and five.to_bytes() == five_point_o.to_bytes()
    assert five.reward_id != Program.from_doc(_doc(reward={"const": 5.5})).reward_id


def test_save_load_roundtrip(tmp_path):
    program = Program.from_doc(_doc())
    path = program.save(tmp_path)
    assert path.name == "t.skillc"
    again = Program.load(path)
    assert again.doc == program.doc
    assert again.reward_id == program.reward_id
    assert path.read_bytes() == again.to_bytes()


def test_load_rejects_tampered_file(tmp_path):
    path = Program.from_doc(_doc()).save(tmp_path)
    doc = json.loads(path.read_text())
    doc["reward"] = {"const": 0}
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="reward id does not match"):
        Program.load(path)


def test_load_rejects_other_formats(tmp_path):
    path = tmp_path / "x.skillc"
    path.write_text(json.dumps({"format": "other/9"}))
    with pytest.raises(ValueError, match="not a skilldsl-ir/2 file"):
        Program.load(path)


# -- the IR's shape (skilldsl/schema/ir.schema.json) ----------------------------------------

GOLDEN = Path(__file__).parent / "golden"


def _mangled(tmp_path, mutate, name="reward_judge"):
    """A golden program changed by ``mutate``, saved with a matching reward id (as a hand-written
    file would be), so only its shape is wrong."""
    doc = json.loads((GOLDEN / f"{name}.skillc").read_text())
    mutate(doc)
    doc["reward_id"] = compute_reward_id(doc)
    path = tmp_path / f"{name}.skillc"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.skillc")), ids=lambda p: p.stem)
def test_every_golden_program_has_the_ir_shape(path):
    validate_doc(json.loads(path.read_text()))


def test_load_rejects_a_truncated_file(tmp_path):
    path = tmp_path / "cut.skillc"
    path.write_bytes((GOLDEN / "math_answer.skillc").read_bytes()[:300])
    with pytest.raises(ValueError, match=r"cut\.skillc: not JSON \(.*line 1 column \d+\)"):
        Program.load(path)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("plan"), "the top level needs a 'plan' key"),
    (lambda d: d["evidence"]["judge"].pop("answer"), "evidence.judge needs a 'answer' key"),
    (lambda d: d["evidence"]["judge"].update(kind="vote"), "evidence.judge.kind must be one of check, ask, run, route, model, each; got text 'vote'"),
    (lambda d: d["evidence"]["a_items"]["body"].update(kind="each"), "evidence.a_items.body.kind must be one of check, ask, run, route, model; got text 'each'"),
    (lambda d: d["evidence"]["a_match"].pop("verifier"), "evidence.a_match needs a 'verifier' key"),
    (lambda d: d["evidence"]["judge"]["answer"].pop("labels"), "evidence.judge.answer needs a 'labels' key"),
    (lambda d: d["inputs"]["a"].update(type="string"), "inputs.a.type must be one of"),
    (lambda d: d["reward"]["args"][0].update(call=None), "unknown key 'op' in reward.args[0] (allowed: args, call, kwargs)"),
    (lambda d: d["reward"]["args"][1].update(argz=[]), "unknown key 'argz' in reward.args[1] (did you mean 'args'?)"),
])
def test_load_rejects_a_mangled_program_saying_where(tmp_path, mutate, message):
    path = _mangled(tmp_path, mutate)
    with pytest.raises(ValueError) as info:
        Program.load(path)
    assert str(info.value).startswith(f"{path}: not a valid skilldsl-ir/2 program: {message}")


def test_the_cli_reports_a_mangled_program_in_one_line(tmp_path, capsys):
    from skilldsl.cli import main

    path = _mangled(tmp_path, lambda d: d["evidence"]["judge"].pop("prompt"), "math_answer")
    data = tmp_path / "x.jsonl"
    data.write_text('{"prompt": "1+1?", "response": "2"}\n')
    assert main(["score", str(path), str(data), "--no-progress"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: {path}: not a valid skilldsl-ir/2 program: evidence.judge needs a 'prompt' key"]


def test_a_node_of_no_known_shape_says_so(tmp_path):
    path = _mangled(tmp_path, lambda d: d["reward"]["args"].__setitem__(1, {"weird": 1}))
    with pytest.raises(ValueError, match=r"reward\.args\[1\]: this is not an expression node"):
        Program.load(path)


def test_a_program_of_the_retired_format_says_rebuild(tmp_path):
    doc = json.loads((GOLDEN / "math_answer.skillc").read_text())
    doc["format"] = "skilldsl-ir/1"
    path = tmp_path / "old.skillc"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="skilldsl-ir/1 is no longer run: .*first\\(\\)/known\\(\\) skipped errors.*skilldsl build"):
        Program.load(path)
