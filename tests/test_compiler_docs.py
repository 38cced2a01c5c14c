"""Every ```yaml example in docs/language.md compiles, or fails with its stated message."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from skilldsl.compiler import compile_file, compile_source
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


# -- swap cancels a position bias in every skill that uses it ------------------------------------

def _swapped_examples() -> list:
    """Each docs example and stock skill with a swapped judge, compiled."""
    out = []
    for body, error, line in (e.values for e in EXAMPLES):
        if error is None and "swap: true" in body:
            out.append(pytest.param(compile_source(body, f"line{line}.skill", ROOT / "skills"), id=f"line{line}"))
    for path in sorted((ROOT / "skills").glob("*.skill")):
        program = compile_file(path)
        if any(ev.get("swap") for ev in program.doc["evidence"].values()):
            out.append(pytest.param(program, id=path.stem))
    return out


def _always_a(prompt: str, options: list):
    """A judge that answers "A" whatever it reads, certain of it (else its first label)."""
    return {"A": 1.0} if "A" in options else options[0]


@pytest.mark.parametrize("program", _swapped_examples())
def test_a_judge_always_answering_a_earns_a_coin_flip(program) -> None:
    """Pure position bias: swap asks in both orders and mirrors the second, so the side labels
    (first and last) end up equally likely and the reward is that of two equal responses. With the
    tie between them (A, B, tie) the mirrored A would land on the tie: 0.75, not 0.5."""
    sample = {**_sample(program), "a": "Paris.", "b": "Lyon."}
    result = Skill(program, backend=FakeBackend(choices=_always_a), cache=False).score([sample])[0]
    assert result.reward == pytest.approx(0.5), format_result(result, program)
    for name, ev in program.doc["evidence"].items():
        if ev.get("swap"):
            dist = result.trace[name].detail["distribution"]
            labels = ev["answer"]["labels"]
            assert dist[labels[0]] == pytest.approx(dist[labels[-1]]), (name, dist)


def test_the_swap_examples_include_the_documented_tie() -> None:
    """The hostile test above covers the docs' 3-label pairwise example, not only 2-label stock judges."""
    labels = [ev["answer"]["labels"] for p in _swapped_examples() for ev in p.values[0].doc["evidence"].values()
              if ev.get("swap")]
    assert ["A", "tie", "B"] in labels and ["A", "B"] in labels


@pytest.mark.parametrize("labels, refused", [
    (("A", "tie", "B"), False), (("Response A", "equal", "Response B"), False), (("first", "tie", "second"), False),
    (("a", "=", "b"), False), (("1", "0", "2"), False),
    (("A", "B", "tie"), True), (("Response A", "Response B", "tie"), True), (("first", "second", "tie"), True),
    (("1", "2", "0"), True), (("A", "C", "B"), False), (("left", "right", "draw"), True),
])
def test_a_swapped_three_label_choice_keeps_its_tie_in_the_middle(labels, refused) -> None:
    body = ("skill: s\nmode: pairwise\ninputs: {prompt: text, a: text, b: text}\nevidence:\n  judge:\n"
            '    ask: {user: "{{ a }} {{ b }}"}\n'
            f"    answer: choice({', '.join(repr(x) if ' ' in x or x == '=' else x for x in labels)})\n"
            "    swap: true\nreward: 1\n")
    if not refused:
        compile_source(body, "s.skill", ROOT / "skills")
        return
    with pytest.raises(SkillError) as info:
        compile_source(body, "s.skill", ROOT / "skills")
    assert info.value.diagnostics[0].message.startswith("swap exchanges the first and last labels"), info.value.render()
    assert info.value.diagnostics[0].span.line == 7


def test_a_swapped_prompt_showing_neither_response_only_averages_to_even_odds() -> None:
    """What the checker's warning says: the labels are mirrored all the same, so a certain judge
    reading neither a nor b earns 0.5 (and the warning is given)."""
    body = ("skill: s\nmode: pairwise\ninputs: {prompt: text, a: text, b: text}\nevidence:\n  judge:\n"
            '    ask: {user: "{{ prompt }}"}\n    answer: choice(A, B)\n    swap: true\nreward: p(judge, "A")\n')
    warnings = []
    program = compile_source(body, "s.skill", ROOT / "skills", diagnostics=warnings)
    assert any(w.message.startswith("swap: the prompt of 'judge' does not show both") for w in warnings)
    result = Skill(program, backend=FakeBackend(choices=_always_a), cache=False).score(
        [{"prompt": "p", "a": "Paris.", "b": "Lyon."}])[0]
    assert result.reward == pytest.approx(0.5)
