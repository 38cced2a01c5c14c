"""The IR document: canonical bytes, reward id coverage, save/load integrity."""
import json

import pytest

from skilldsl.ir import FORMAT, Program, canonical_json, compute_reward_id


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
    with pytest.raises(ValueError, match="not a skilldsl-ir/1 file"):
        Program.load(path)
