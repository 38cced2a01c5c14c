"""The loader: positions of keys, values and of expressions inside every scalar style;
schema errors at the offending key; fuzzing the whole front end with YAML-ish text."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skilldsl.compiler import compile_source
from skilldsl.compiler.expr import parse_expr
from skilldsl.compiler.loader import parse_document
from skilldsl.errors import InternalError, SkillError

HEAD = "skill: s\nmode: pointwise\ninputs: {response: text}\n"
JUDGE = 'evidence:\n  judge:\n    ask: {user: "{{ response }}"}\n    answer: choice(yes, no)\n'


def _bad_name_position(reward_yaml: str) -> tuple[int, int]:
    """Where ``oops`` is reported when the reward (written as given) mentions it."""
    with pytest.raises(SkillError) as info:
        compile_source(HEAD + JUDGE + reward_yaml, "s.skill")
    diag = next(d for d in info.value.diagnostics if "oops" in d.message)
    return diag.span.line, diag.span.col


@pytest.mark.parametrize("reward_yaml, position", [
    ('reward: p(judge, "yes") + oops\n', (8, 27)),
    ("reward: 'p(judge, \"yes\") + oops'\n", (8, 28)),
    ('reward: "p(judge, \\"yes\\") +  oops"\n', (8, 31)),  # escapes inside the quotes
    ('reward: |\n  p(judge, "yes")\n    + oops\n', (10, 7)),
    ('reward: >\n  p(judge, "yes")\n  + oops\n', (10, 5)),
    ('reward:\n  p(judge, "yes")\n  + oops\n', (10, 5)),
    ('reward: |-\n    mean(\n      p(judge, "yes"),\n      oops)\n', (11, 7)),
])
def test_expression_positions_in_every_scalar_style(reward_yaml: str, position: tuple[int, int]) -> None:
    assert _bad_name_position(reward_yaml) == position


def test_key_and_value_spans() -> None:
    doc = parse_document(HEAD + JUDGE + "reward: p(judge, 'yes')\n", "s.skill")
    assert (doc.key_span(("evidence", "judge")).line, doc.key_span(("evidence", "judge")).col) == (5, 3)
    span = doc.span(("evidence", "judge", "answer"))
    assert (span.line, span.col, span.end_col) == (7, 13, 28)
    e = parse_expr(doc.raw(("evidence", "judge", "answer")), doc.file, doc.where(("evidence", "judge", "answer")))
    assert (e.args[1].span.line, e.args[1].span.col) == (7, 25)


def test_expression_text_is_the_scalar_as_written() -> None:
    doc = parse_document(HEAD + JUDGE + "reward: 1.0\n", "s.skill")
    assert doc.raw(("reward",)) == "1.0" and doc.data["reward"] == 1.0


@pytest.mark.parametrize("text, position, message", [
    (HEAD + JUDGE + "reward: 1\nmode: pairwise\n", (9, 1), "duplicate key 'mode' (first defined at line 2)"),
    (HEAD + JUDGE + "reward: 1\nextra: 2\n", (9, 1), "unknown key 'extra' at the top level"),
    (HEAD.replace("mode: pointwise\n", "") + JUDGE + "reward: 1\n", (1, 1), "the skill needs a 'mode' key"),
    (HEAD + JUDGE.replace("choice(yes, no)", "[yes]") + "reward: 1\n", (7, 13), "evidence.judge.answer must be"),
    (HEAD + JUDGE + "reward: 1\n---\nskill: t\n", (9, 1), "one YAML document"),
    (HEAD + JUDGE + "reward: 1\n1: x\n", (9, 1), "quote it"),
    (HEAD + JUDGE + "reward: &r [*r]\n", (8, 9), "recursive YAML alias"),
    (HEAD + "\tevidence: {}\n", (4, 1), "tabs"),
    (HEAD + 'evidence:\n  judge: {ask: {user: "{{ response }}"}, answer: choice(A, B, tie)}\nreward: 1\n', (5, 63),
     "unknown key 'tie)' in evidence.judge; inside { } a comma ends a value: quote it"),
])
def test_document_errors(text: str, position: tuple[int, int], message: str) -> None:
    with pytest.raises(SkillError) as info:
        compile_source(text, "s.skill")
    diag = info.value.diagnostics[0]
    assert ((diag.span.line, diag.span.col), message in diag.message) == (position, True), diag.message


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)]
    with pytest.raises(SkillError, match="too large"):
        compile_source("\n".join(lines) + "\n", "bomb.skill")


_FRAGMENTS = ["skill: s\n", "mode: pointwise\n", "mode: pairwise\n", "inputs: {response: text}\n",
              "inputs:\n  a: text\n  b: list\n", "evidence:\n", "  j:\n", "    ask: {user: \"{{ a }}\"}\n",
              "    answer: choice(A, B)\n", "    check: math.equivalent(a, b)\n", "    each: b\n",
              "reward: p(j, \"A\")\n", "reward: |\n  mean(j\n", "  - x\n", "key: [1, {a: \n", "&x *x\n",
              "    when: known(b)\n", "'\n", "\"\\x\"\n", ": :\n", "\t\n", "reward: j\n", "{{ }}\n", "files: {r: r.md}\n"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=12).map("".join))
def test_fuzz_front_end_only_skill_errors(text: str) -> None:
    try:
        compile_source(text, "fuzz.skill")
    except SkillError as exc:
        assert exc.diagnostics and exc.render()
    except InternalError as exc:  # pragma: no cover - the property under test
        raise AssertionError(f"internal error on {text!r}: {exc}") from exc


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=60))
def test_fuzz_random_text(text: str) -> None:
    try:
        compile_source(text, "fuzz.skill")
    except SkillError:
        pass


def test_shipped_schema_validates_stock_skills_on_its_own() -> None:
    """Editors use the schema without skilldsl: it must be valid and accept the stock skills."""
    from pathlib import Path

    import yaml
    from jsonschema import Draft202012Validator

    from skilldsl.compiler.loader import schema

    Draft202012Validator.check_schema(schema())
    validator = Draft202012Validator(schema())
    root = Path(__file__).resolve().parent.parent / "skills"
    for path in sorted(root.glob("*.skill")):
        assert not list(validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))), path.name


_STOCK_DIR = __import__("pathlib").Path(__file__).resolve().parent.parent / "skills"
_STOCK_TEXTS = sorted(p.read_text(encoding="utf-8") for p in _STOCK_DIR.glob("*.skill"))
_NOISE = list("{}[]()\"':,-|>&*!#%@`\n\t ab_.=<") + ["{{", "}}", "{%", "each: ", "when: ", "p(", "na", "if "]


@st.composite
def _mutated_stock_skill(draw) -> str:
    """A stock skill with a few random insertions and deletions (near-miss sources)."""
    text = draw(st.sampled_from(_STOCK_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:pos] + draw(st.sampled_from(_NOISE)) + text[pos:]
        else:
            text = text[:pos] + text[pos + draw(st.integers(1, 6)):]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated_stock_skill())
def test_fuzz_mutated_stock_skills(text: str) -> None:
    try:
        compile_source(text, "mutant.skill", _STOCK_DIR)
    except SkillError as exc:
        assert all(d.span is None or d.span.line >= 1 for d in exc.diagnostics)
