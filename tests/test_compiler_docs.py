"""Every ```yaml example in docs/language.md compiles, or fails with its stated message."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from skilldsl.compiler import compile_source
from skilldsl.errors import SkillError
from skilldsl.ir.program import validate_doc

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
