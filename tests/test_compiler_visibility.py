"""Visibility as taint: what a prompt shows carries the reference inputs it is derived from.

The located errors live in tests/skills/reference_taint_*.skill and label_everywhere.skill;
these tests cover what must still compile and what the IR then lets a prompt render.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from skilldsl.compiler import compile_source
from skilldsl.errors import SkillError

ROOT = Path(__file__).resolve().parent.parent

_HEAD = """\
skill: taint
mode: pointwise
inputs:
  response: text
  reference: {type: text, optional: true, visibility: reference}
  notes: {type: list, visibility: reference}
evidence:
  leak:
    run: print(reference)
    uses: [reference]
"""


def _compile(evidence: str, reward: str):
    return compile_source(_HEAD + evidence + f"reward: {reward}\n", "t.skill", ROOT / "skills")


def _messages(evidence: str, reward: str) -> list[str]:
    with pytest.raises(SkillError) as info:
        _compile(evidence, reward)
    return [d.message for d in info.value.diagnostics]


def test_allowed_derived_evidence_compiles() -> None:
    program = _compile("""\
  judge:
    ask: {user: "{{ response }} {{ leak }}"}
    answer: choice(yes, no)
    allow: [reference]
  rm:
    model: some/checkpoint
    input: "{{ leak }}"
    allow: [reference]
""", 'mean(p(judge, "yes"), rm)')
    assert program.evidence["judge"]["deps"] == ["leak"]
    assert program.evidence["rm"]["deps"] == ["leak"]


def test_untainted_evidence_needs_no_allow() -> None:
    _compile("""\
  length_ok:
    check: format.length(response, max=10)
  judge:
    ask: {user: "{{ response }} {{ length_ok }}"}
    answer: choice(yes, no)
""", 'p(judge, "yes")')


def test_when_and_reward_are_not_prompts() -> None:
    """A tainted evidence may decide a condition or the reward without any allow."""
    _compile("""\
  judge:
    ask: {user: "{{ response }}"}
    answer: choice(yes, no)
    when: leak == 1
""", 'p(judge, "yes") if leak else 0')


def test_when_taints_the_value_it_guards() -> None:
    """A condition on a reference decides whether the value is known: a prompt would see that."""
    messages = _messages("""\
  short:
    check: format.length(response, max=10)
    when: known(reference)
  judge:
    ask: {user: "{{ short }}"}
    answer: choice(yes, no)
""", 'p(judge, "yes")')
    assert messages == ["prompt of 'judge' reads 'short', which is derived from reference input 'reference'; "
                        "add it to `allow` if the judge may see it"]


def test_every_source_is_named_once_per_read() -> None:
    messages = _messages("""\
  both:
    each: notes
    check: ref.match(item, reference)
  judge:
    ask: {user: "{{ both }}"}
    answer: choice(yes, no)
    allow: [notes]
""", 'p(judge, "yes")')
    assert len(messages) == 1 and "reference input 'reference'" in messages[0]


def test_cycles_do_not_hang_the_taint_search() -> None:
    messages = _messages("""\
  first:
    ask: {user: "{{ second }} {{ leak }}"}
    answer: text
  second:
    ask: {user: "{{ first }}"}
    answer: text
""", "len(first)")
    assert any(m.startswith("evidence cycle") for m in messages)
    assert any("(through first -> leak)" in m for m in messages)
