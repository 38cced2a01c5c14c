"""Every ```yaml example in docs/language.md compiles, or fails with its stated message."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from skilldsl.compiler import compile_source
from skilldsl.errors import SkillError
from skilldsl.ir.program import validate_doc
from skilldsl.runtime import Skill, format_result
from skilldsl.runtime.backends.fake import FakeBackend
from skilldsl.runtime.reward_model import RewardScore

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "language.md"
_BLOCK = re.compile(r"(?:<!-- error: (?P<error>[^\n]*?) -->\n)?```yaml\n(?P<body>.*?)```", re.S)


def _examples() -> list:
    text = DOC.read_text(encoding="utf-8")
    out = []
    for m in _BLOCK.finditer(text):
        line = text.count("\n", 0, m.start("body")) + 1
        out.append(pytest.param(m.group("body"), m.group("error"), line, id=f"line{line}"))
    return out


EXAMPLES = _examples()


def test_the_page_has_examples() -> None:
    assert len(EXAMPLES) >= 20


@pytest.mark.parametrize("body, error, line", EXAMPLES)
def test_example(body: str, error: "str | None", line: int) -> None:
    name = f"language-md-line{line}.skill"
    if error is None:
        program = compile_source(body, name, ROOT / "skills")
        assert program.reward_id.startswith("sha256:")
        validate_doc(program.doc)  # the IR schema accepts every kind of evidence the compiler emits
        return
    with pytest.raises(SkillError) as info:
        compile_source(body, name, ROOT / "skills")
    assert any(d.message.startswith(error) for d in info.value.diagnostics), info.value.render()


# -- ... and every example that compiles also runs on a sample -----------------------------------

_SAMPLE_VALUES = {"text": "The answer is 42.", "number": 0.5, "integer": 2, "bool": True,
                  "list[text]": ["Be brief.", "Be kind."], "list[number]": [0.25, 0.75], "json": {"k": 1}}


def _sample(program) -> dict:
    """A value of its declared type for every input (label inputs are for `eval` only)."""
    return {name: _SAMPLE_VALUES[spec["type"]] for name, spec in program.inputs.items()
            if spec.get("visibility") != "label"}


def _example_text(prompt: str, constraint: dict) -> str:
    """An answer that satisfies a generate constraint, as a model under that constraint would give."""
    if constraint["type"] == "json":
        return json.dumps(_from_schema(constraint.get("schema") or {}))
    if constraint["type"] == "regex":
        return next(x for x in ("A", "yes", "1", "x") if re.fullmatch(constraint["pattern"], x))
    return "fine"


def _from_schema(schema: dict):
    kind = schema.get("type")
    if kind == "object":
        return {k: _from_schema(v) for k, v in schema.get("properties", {}).items() if k in schema.get("required", ())}
    return {"array": [], "string": "x", "number": 1, "integer": 1, "boolean": True}.get(kind, None)


class _RewardModel(FakeBackend):
    def score_texts(self, texts):
        return [RewardScore(0.5, len(t.split()), False) for t in texts]


@pytest.mark.parametrize("body, error, line", [e for e in EXAMPLES if e.values[1] is None])
def test_example_runs(body: str, error: None, line: int) -> None:
    program = compile_source(body, f"language-md-line{line}.skill", ROOT / "skills")
    backend = _RewardModel(texts=_example_text)
    sample = _sample(program)
    if program.mode == "listwise":
        sample[program.doc["candidates"]] = ["The answer is 42.", "It is 41."]
    result = Skill(program, backend=backend, cache=False).score([sample])[0]
    assert result.status != "error", format_result(result, program)
