"""`each: [a, b]`: one evidence per listed text input — checker rules, IR, runtime, and
equivalence with the same evidence written out once per input."""
from __future__ import annotations

import pytest

from skilldsl.compiler import compile_source
from skilldsl.compiler.graph import to_mermaid
from skilldsl.errors import SkillError
from skilldsl.ir import Program
from skilldsl.ir.program import validate_doc
from skilldsl.runtime import Skill
from skilldsl.runtime.backends.fake import FakeBackend

QUESTION = "# Request\\n{{ prompt }}\\n# Response\\n{{ %s }}\\nDoes the response follow the request? Answer yes or no."

EACH_FORM = f"""skill: judge_each
mode: pairwise
inputs: {{prompt: text, a: text, b: text}}
evidence:
  good:
    each: [a, b]
    ask: {{user: "{QUESTION % 'item'}"}}
    answer: choice(yes, no)
reward: 0.5 + (p(good, "yes")[0] - p(good, "yes")[1]) / 2
"""

# the judge-each-response design being tuned for skills/pairwise_judge.skill, written out per input
# (the answer is quoted: inside { } a comma would end the value)
SPLIT_FORM = f"""skill: judge_each
mode: pairwise
inputs: {{prompt: text, a: text, b: text}}
evidence:
  good_a: {{ask: {{user: "{QUESTION % 'a'}"}}, answer: "choice(yes, no)"}}
  good_b: {{ask: {{user: "{QUESTION % 'b'}"}}, answer: "choice(yes, no)"}}
reward: 0.5 + (p(good_a, "yes") - p(good_b, "yes")) / 2
"""


def _skill(evidence: str, reward: str, inputs: str = "{prompt: text, a: text, b: text}", mode: str = "pairwise") -> str:
    return f"skill: t\nmode: {mode}\ninputs: {inputs}\nevidence:\n{evidence}reward: {reward}\n"


def _errors(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(SkillError) as info:
        compile_source(text, "t.skill")
    assert info.value.render().startswith("t.skill:")
    return [(d.span.line, d.span.col, d.message) for d in info.value.diagnostics]


def _good(each: str = "[a, b]", user: str = "{{ item }} Good? Answer yes or no.", extra: str = "") -> str:
    return f'  good:\n    each: {each}\n    ask: {{user: "{user}"}}\n    answer: choice(yes, no)\n{extra}'


# -- IR ------------------------------------------------------------------------------------


def test_lowers_to_an_each_over_the_input_names() -> None:
    program = compile_source(EACH_FORM, "t.skill")
    good = program.evidence["good"]
    assert (good["kind"], good["over"], good["var"]) == ("each", ["a", "b"], "item")
    assert good["reads"] == good["body"]["reads"] == ["a", "b", "prompt"]
    assert (good["cost"], good["body"]["cost"]) == (200, 100)  # the length is known: 2 × the ask
    assert program.reward["args"][1]["args"][0]["args"][0] == {
        "index": {"call": "p", "args": [{"evidence": "good"}, {"const": "yes"}], "kwargs": {}}, "at": {"const": 0}}
    validate_doc(program.doc)
    assert "each ask over [a, b]" in to_mermaid(program)


def test_the_ir_schema_refuses_an_empty_or_repeated_over() -> None:
    doc = compile_source(EACH_FORM, "t.skill").doc
    for over in ([], ["a", "a"], "a"):
        bad = {**doc, "evidence": {"good": {**doc["evidence"]["good"], "over": over}}}
        if over == "a":
            validate_doc(bad)  # the list-input form
        else:
            with pytest.raises(ValueError, match="evidence.good.over"):
                validate_doc(bad)


def test_item_is_text_and_index_an_integer() -> None:
    errors = _errors(_skill(_good(), "p(good, \"yes\")[0] + len(item)"))
    assert (9, 33, "'item' is only defined inside evidence with each:") in errors
    text = _skill(_good(extra="    when: len(item) > index\n"), 'mean(p(good, "yes"))')
    assert compile_source(text, "t.skill").evidence["good"]["body"]["when"]["op"] == ">"
    errors = _errors(_skill(_good(extra="    when: item > 1 and index\n"), 'mean(p(good, "yes"))'))
    assert any(m.startswith("'and' needs true/false on both sides, but this is an integer") for _, _, m in errors)


# -- checker -------------------------------------------------------------------------------


@pytest.mark.parametrize("each, inputs, where, message", [
    ("[a, bb]", "{prompt: text, a: text, b: text}", (6, 15), "each: 'bb' is not an input (did you mean 'b'?)"),
    ("[a, gold]", "{a: text, b: text, gold: {type: text, visibility: label}}", (6, 15),
     "each: 'gold' is a label input; labels reach no evidence"),
    ("[a, n]", "{a: text, b: text, n: number}", (6, 15), "each: 'n' is a number; each: [...] takes text inputs"),
    ("[a, xs]", "{a: text, b: text, xs: list}", (6, 15),
     "each: 'xs' is a list of text; each: [...] takes text inputs, one item per input (to fan out over its "
     "items, write each: xs)"),
    ("[a, b, a]", "{a: text, b: text}", (6, 18), "each: 'a' is listed twice"),
    ("[]", "{a: text, b: text}", (6, 11), "each: the list of inputs is empty"),
])
def test_bad_lists_are_located(each: str, inputs: str, where: tuple, message: str) -> None:
    errors = _errors(_skill(_good(each), 'mean(p(good, "yes"))', inputs))
    assert any((line, col) == where and m.startswith(message) for line, col, m in errors), errors


def test_the_names_are_located_in_block_style_too() -> None:
    evidence = '  good:\n    each:\n      - a\n      - bb\n    ask: {user: "{{ item }}"}\n    answer: choice(yes, no)\n'
    assert (8, 9) in [(line, col) for line, col, _ in _errors(_skill(evidence, 'mean(p(good, "yes"))'))]


@pytest.mark.parametrize("at, ok", [("0", True), ("1", True), ("-1", True), ("-2", True), ("2", False), ("-3", False)])
def test_constant_indexes_are_checked_against_the_known_length(at: str, ok: bool) -> None:
    for reward in (f'p(good, "yes")[{at}]', f"1 if good[{at}] == \"yes\" else 0"):
        text = _skill(_good(), reward)
        if ok:
            compile_source(text, "t.skill")
        else:
            message = f"index {at} is out of range: 'good' has 2 item(s), one per input of each: [a, b] (indexes 0 to 1)"
            assert message in [m for _, _, m in _errors(text)]


def test_an_index_into_a_list_input_fan_out_is_not_bounded() -> None:
    text = _skill(_good("xs"), 'p(good, "yes")[7]', "{xs: list, a: text, b: text}")
    assert compile_source(text, "t.skill").reward["at"] == {"const": 7}


def test_swap_is_refused() -> None:
    text = _skill(_good(user="A: {{ a }} B: {{ b }} Is {{ item }} better? Answer yes or no.",
                        extra="    swap: true\n"), 'p(good, "yes")[0]')
    (line, col, message), = _errors(text)
    assert (line, col) == (9, 5) and message.startswith("swap: each: [a, b] judges each input alone")


def test_a_listed_reference_input_taints_item_and_what_reads_the_evidence() -> None:
    inputs = "{a: text, b: text, ref: {type: text, visibility: reference}}"
    errors = _errors(_skill(_good("[a, ref]"), 'mean(p(good, "yes"))', inputs))
    assert errors == [(7, 21, "prompt of 'good' reads 'item', which is derived from reference input 'ref'; "
                              "add it to `allow` if the judge may see it")]
    allowed = _skill(_good("[a, ref]", extra="    allow: [ref]\n"), 'mean(p(good, "yes"))', inputs)
    assert compile_source(allowed, "t.skill").evidence["good"]["reads"] == ["a", "ref"]
    shown = ('  later:\n    ask: {user: "{{ good }}"}\n    answer: choice(yes, no)\n')
    errors = _errors(_skill(_good("[a, ref]", extra="    allow: [ref]\n") + shown, 'p(later, "yes")', inputs))
    assert any(m.startswith("prompt of 'later' reads 'good', which is derived from reference input 'ref'")
               for _, _, m in errors)


def test_a_check_may_fan_out_over_inputs_and_read_a_reference() -> None:
    inputs = "{a: text, b: text, ref: {type: text, visibility: reference}}"
    text = _skill("  right:\n    each: [a, b]\n    check: ref.match(item, ref)\n", "1 if right[0] else 0", inputs)
    right = compile_source(text, "t.skill").evidence["right"]
    assert right["reads"] == right["body"]["reads"] == ["a", "b", "ref"]
    assert right["body"]["args"] == [{"local": "item"}, {"input": "ref"}]


# -- runtime -------------------------------------------------------------------------------


def _choose(prompt: str, options: list) -> dict:
    return {"yes": 0.8, "no": 0.2} if "polite" in prompt else {"yes": 0.3, "no": 0.7}


SAMPLES = [{"prompt": "say hi", "a": "hi, polite", "b": "go away"},
           {"prompt": "say hi", "a": "meh", "b": "a polite hello"},
           {"prompt": "say hi", "a": "polite", "b": "polite too"}]


def _score(text: str, samples: list = SAMPLES) -> tuple[list, FakeBackend]:
    fake = FakeBackend(choices=_choose)
    results = Skill(compile_source(text, "t.skill"), backend=fake, cache=False).score(samples)
    return results, fake


def test_scores_like_the_evidence_written_out_per_input() -> None:
    (each, each_fake), (split, split_fake) = _score(EACH_FORM), _score(SPLIT_FORM)
    assert [r.status for r in each] == ["ok"] * 3
    assert [r.reward for r in each] == pytest.approx([r.reward for r in split])
    assert [r.reward for r in each] == pytest.approx([0.75, 0.25, 0.5])
    assert sorted(map(str, each_fake.requests)) == sorted(map(str, split_fake.requests))
    assert each_fake.n_calls("choice_logprobs") == split_fake.n_calls("choice_logprobs") == 1
    items = each[0].trace["good"].detail["items"]
    assert [i["distribution"]["yes"] for i in items] == pytest.approx([0.8, 0.3])


def test_a_missing_optional_input_makes_the_evidence_na() -> None:
    text = _skill(_good("[a, c]"), '1 if known(good) else 0', "{a: text, b: text, c: {type: text, optional: true}}")
    (result,), fake = _score(text, [{"a": "x", "b": "y"}])
    assert (result.reward, result.trace["good"].status) == (0, "na")
    assert "'c' is not given" in result.trace["good"].reason and not fake.requests


def test_runtime_index_out_of_range_is_na() -> None:
    text = _skill(_good(), 'default(p(good, "yes")[n], 0.25)', "{a: text, b: text, n: integer}")
    results, _ = _score(text, [{"a": "polite", "b": "x", "n": 0}, {"a": "polite", "b": "x", "n": 5}])
    assert [r.reward for r in results] == pytest.approx([0.8, 0.25])


def test_an_older_list_input_node_still_runs() -> None:
    doc = compile_source(EACH_FORM, "t.skill").doc
    text = _skill(_good("xs"), 'p(good, "yes")[0] - p(good, "yes")[1]', "{xs: list, a: text, b: text}")
    program = compile_source(text, "t.skill")
    assert program.evidence["good"]["over"] == "xs" and Program.from_doc(doc).evidence["good"]["over"] == ["a", "b"]
    results, _ = _score(text, [{"xs": ["polite", "rude"], "a": "", "b": ""}])
    assert results[0].reward == pytest.approx(0.5)
