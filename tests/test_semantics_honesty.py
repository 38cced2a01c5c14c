"""An error never becomes a judgment, a missing input is na everywhere, and a checked skill never
errs by type (issue: "sound semantics and hard edges", items 2-4). Each test failed on 0.1."""
from __future__ import annotations

import json

import pytest

from _runtime_support import ScriptedBackend
from skilldsl.compiler import compile_source
from skilldsl.errors import SkillError
from skilldsl.ir import Program
from skilldsl.runtime import Skill, format_result
from skilldsl.verifiers import Verdict, registry, verifier

if registry.get("honesty.broken") is None:
    @verifier("honesty.broken", params=("response: text",))
    def _broken(response):
        return Verdict.error("the sandbox could not start")


def skill_of(text: str, backend=None, **kwargs) -> Skill:
    return Skill(compile_source(text), backend=backend or ScriptedBackend(), **kwargs)


JUDGED_FALLBACK = """
skill: fallback
mode: pointwise
inputs: {prompt: text, response: text}
evidence:
  passes:
    check: honesty.broken(response)
  judge:
    ask: {user: "Is this code right? {{ response }} Answer yes or no."}
    answer: choice(yes, no)
reward: REWARD
"""


@pytest.mark.parametrize("reward", [
    'passes if known(passes) else p(judge, "yes")',   # the idiom the docs teach
    'first(passes, p(judge, "yes"))',
    'default(passes, p(judge, "yes"))',
    'passes if not is_na(passes) else p(judge, "yes")',
    'mean(passes, p(judge, "yes"))',
    '1 if (passes or p(judge, "yes") > 0.5) else 0',
    '1 if (passes and p(judge, "yes") > 0.5) else 0',
])
def test_a_broken_verifier_is_never_replaced_by_the_judge(reward):
    fake = ScriptedBackend(choose=lambda text, options: "yes")
    result = skill_of(JUDGED_FALLBACK.replace("REWARD", reward), fake).score([{"prompt": "p", "response": "r"}])[0]
    assert (result.status, result.reward) == ("error", None)
    assert "the sandbox could not start" in result.reason


def test_catch_replaces_an_error_on_purpose_and_the_result_says_so():
    text = JUDGED_FALLBACK.replace("REWARD", 'first(catch(passes, na), p(judge, "yes"))')
    result = skill_of(text, ScriptedBackend(choose=lambda t, o: "yes")).score([{"prompt": "p", "response": "r"}])[0]
    assert result.status == "ok" and result.reward == pytest.approx(0.9)
    assert len(result.caught) == 1 and "the sandbox could not start" in result.caught[0]
    assert result.to_dict()["caught"] == result.caught
    assert f"caught error: {result.caught[0]}" in format_result(result)


def test_a_skillc_whose_verifier_is_gone_errs_instead_of_being_judged(tmp_path):
    program = compile_source(JUDGED_FALLBACK.replace("REWARD", 'passes if known(passes) else p(judge, "yes")'))
    doc = dict(program.doc)
    doc["evidence"] = {**doc["evidence"], "passes": {**doc["evidence"]["passes"],
                                                     "verifier": {"name": "honesty.not_installed", "version": "1"}}}
    broken = Program.from_doc(doc)
    result = Skill(broken, backend=ScriptedBackend(choose=lambda t, o: "yes")).score([{"prompt": "p", "response": "r"}])[0]
    assert result.status == "error" and "honesty.not_installed" in result.reason


# -- missing inputs are na everywhere ------------------------------------------------------------

OPTIONAL = """
skill: optional
mode: pointwise
inputs:
  response: text
  reference: {type: text, optional: true, visibility: reference}
evidence:
  code:
    run: "result = reference.strip() == response.strip()"
    uses: [response, reference]
  hinted:
    ask: {user: "Reference: {{ reference }}\\nAnswer: {{ response }}\\nSame? Answer yes or no."}
    answer: choice(yes, no)
    allow: [reference]
  guarded:
    ask: {user: "{% if reference is defined %}Reference: {{ reference }}{% endif %} {{ response }} Good?"}
    answer: choice(yes, no)
    allow: [reference]
reward: mean(code, p(hinted, "yes"), p(guarded, "yes"))
"""


def test_a_missing_optional_input_makes_run_and_prompt_evidence_na_never_none():
    fake = ScriptedBackend()
    result = skill_of(OPTIONAL, fake).score([{"response": "42"}])[0]
    assert result.trace["code"].status == "na" and "reference" in result.trace["code"].reason
    assert result.trace["hinted"].status == "na" and "reference" in result.trace["hinted"].reason
    assert result.trace["guarded"].status == "ok"           # a template may test for it
    assert not any("None" in fake.text(q.messages) for q in fake.requests)
    assert [fake.text(q.messages) for q in fake.requests] == [" 42 Good?"]


DERIVED = """
skill: derived
mode: pointwise
inputs: {response: text}
evidence:
  verdict:
    check: honesty.broken(response)
  judge:
    ask: {user: "A checker said {{ verdict | default('nothing') }} about {{ response }}. Good?"}
    answer: choice(yes, no)
reward: p(judge, "yes")
"""


def test_a_prompt_showing_an_erred_evidence_errs_filters_cannot_hide_it():
    fake = ScriptedBackend()
    result = skill_of(DERIVED, fake).score([{"response": "r"}])[0]
    assert result.status == "error" and "the sandbox could not start" in result.reason
    assert fake.requests == []  # the judge never saw a prompt built from a broken evidence


# -- the checker rejects what the evaluator would reject by type ----------------------------------

@pytest.mark.parametrize("reward,message", [
    ("1 if response < 3 else 0", "'<' needs two numbers or two texts, but this is text and an integer"),
    ('1 if j else "zero"', "the two branches of this 'if' have different types"),
    ('first(j, "x")', "first(): the arguments have different types"),
    ("len(3)", "len(): argument 1 must be text or a list"),
    ("count(response)", "count(): argument 1 must be a list of true/false"),
    ("mean(j, response)", "mean(): argument 2 must be a number"),
])
def test_the_checker_refuses_type_errors_the_evaluator_would_meet(reward, message):
    text = ("skill: t\nmode: pointwise\ninputs: {response: text}\nevidence:\n"
            "  j: {check: 'format.length(response, max=3)'}\nreward: " + reward + "\n")
    with pytest.raises(SkillError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compile_source(text)


def test_run_code_reading_an_input_it_does_not_use_is_refused():
    text = ("skill: t\nmode: pointwise\ninputs: {response: text, secret: {type: text, visibility: reference}}\n"
            "evidence:\n  r:\n    run: result = len(secret) > 0\n    uses: [response]\nreward: 1 if r else 0\n")
    with pytest.raises(SkillError, match="reads 'secret', which is not in its uses"):
        compile_source(text)


def test_a_route_is_a_choice_evidence():
    text = ("skill: t\nmode: pointwise\ninputs: {response: text}\nevidence:\n"
            "  a: {ask: {user: 'A {{ response }}'}, answer: 'choice(yes, no)'}\n"
            "  b: {ask: {user: 'B {{ response }}'}, answer: 'choice(yes, no)'}\n"
            "  pick: {route: [a, b], ask: {user: 'Which for {{ response }}?'}}\n"
            "reward: p(pick, \"a\") * p(a, \"yes\") + p(pick, \"b\") * p(b, \"yes\")\n")
    with pytest.raises(SkillError, match="'c' is not a label of 'pick'"):
        compile_source(text.replace('p(pick, "b")', 'p(pick, "c")'))
    fake = ScriptedBackend(choose=lambda t, o: {"a": 0.75, "b": 0.25} if "Which" in t else "yes")
    result = skill_of(text, fake).score([{"response": "r"}])[0]
    assert result.reward == pytest.approx(0.75 * 0.9 + 0.25 * 0.9)
    assert result.trace["pick"].value == "a"


# -- the author's terms ---------------------------------------------------------------------------

@pytest.mark.parametrize("text,message", [
    ("skill: t\nmode: pointwise\ninputs:\n    response: text\n  prompt: text\n", "does not line up"),
    ("skill: t\nmode: pointwise\ninputs: {response: text\nevidence: x\n", "mapping is not closed"),
    ("skill: t\nmode: pointwise\n  inputs: {response: text}\n", "unexpected ':' here"),
    ('skill: t\nabout: "abc\nmode: pointwise\n', "quoted string is not closed"),
    ("skill: t\nx:\n  - a\n - b\n", "does not line up"),
    ("skill: @t\n", "cannot start with this character"),
])
def test_yaml_errors_speak_the_authors_language_and_show_the_line(text, message):
    with pytest.raises(SkillError) as info:
        compile_source(text, "mem.skill")
    rendered = str(info.value)
    assert message in rendered and "<block end>" not in rendered and "<scalar>" not in rendered
    assert rendered.count("\n") >= 2 and "^" in rendered  # the source line and a caret, from memory


def test_diagnostics_of_in_memory_sources_carry_their_line():
    with pytest.raises(SkillError) as info:
        compile_source("skill: t\nmode: pointwise\ninputs: {response: text}\nevidence:\n"
                       "  j: {check: 'format.length(response, max=3)'}\nreward: 1 if response < 3 else 0\n",
                       "nowhere/on/disk.skill")
    assert str(info.value).splitlines()[1].strip() == "reward: 1 if response < 3 else 0"


def test_compare_on_a_pointwise_skill_names_the_mode():
    skill = Skill(compile_source(JUDGED_FALLBACK.replace("REWARD", 'p(judge, "yes")')), backend=ScriptedBackend())
    with pytest.raises(ValueError, match="compare\\(\\) needs a pairwise skill; 'fallback' is pointwise"):
        skill.compare("p", "a", "b")


def test_rank_reads_the_list_a_listwise_skill_declares(tmp_path):
    from skilldsl.cli import main

    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"id": "q1", "prompt": "6 x 7?", "reference": "42",
                                "responses": ["It is 41.", "6 x 7 = 42", "Maybe 40."]}) + "\n")
    out = tmp_path / "picks.jsonl"
    assert main(["rank", "best_of_n", str(data), "-o", str(out), "--no-progress"]) == 0  # candidates: responses
    pick = json.loads(out.read_text())
    assert (pick["id"], pick["selected"], pick["best"]) == ("q1", 1, "6 x 7 = 42")


def test_a_verifier_is_held_to_the_type_it_declares():
    if registry.get("honesty.half") is None:
        verifier("honesty.half", params=("response: text",), isolate=False)(lambda response: 0.5)
        verifier("honesty.share", params=("response: text",), isolate=False, returns="number")(lambda response: 0.5)
    text = ("skill: t\nmode: pointwise\ninputs: {response: text}\nevidence:\n  c: {check: 'CALL(response)'}\n"
            "reward: 1 if c else 0\n")
    result = skill_of(text.replace("CALL", "honesty.half")).score([{"response": "r"}])[0]
    assert result.status == "error" and "declares true/false" in result.reason  # never read as `true`
    with pytest.raises(SkillError, match="the condition after 'if' must be true/false, but this is a number"):
        compile_source(text.replace("CALL", "honesty.share"))
    shared = text.replace("CALL", "honesty.share").replace("1 if c else 0", "c")
    assert skill_of(shared).score([{"response": "r"}])[0].reward == 0.5


def test_an_error_caught_in_a_when_condition_is_listed_too():
    """`when: not is_error(x)` replaces an error as surely as catch() in the reward: the result says so."""
    text = JUDGED_FALLBACK.replace("REWARD", 'p(judge, "yes")').replace(
        "    answer: choice(yes, no)\n", "    answer: choice(yes, no)\n    when: not is_error(passes)\n")
    result = skill_of(text, ScriptedBackend(choose=lambda t, o: "yes")).score([{"prompt": "p", "response": "r"}])[0]
    assert result.status == "na" and result.trace["judge"].skipped == "when: false"
    assert len(result.caught) == 1 and "the sandbox could not start" in result.caught[0]


# -- a prompt cannot look at an unknown value and go on ------------------------------------------

UNKNOWN_READS = [  # each reads `verdict` without printing it; an erred one used to reach the judge as `ok`
    "{% if verdict == false %}REJECTED{% endif %}", "{% if verdict != true %}REJECTED{% endif %}",
    "{% if verdict < 1 %}low{% endif %}", "{% if verdict in [false, 0] %}REJECTED{% endif %}",
    "{% if verdict is false %}REJECTED{% endif %}", "{% if verdict is none %}none{% endif %}",
    "{% if verdict is sequence %}list{% endif %}", "{% if verdict is eq 0 %}zero{% endif %}",
    "{% if false is sameas verdict %}REJECTED{% endif %}", "{% if 0 is eq verdict %}zero{% endif %}",
    "{{ [verdict] | select('none') | list | length }}", "{{ [verdict] | reject('false') | list | length }}",
    "Checker: {{ [verdict] }}", "Checker: {{ {'v': verdict} }}", "{{ {'v': verdict} | dictsort }}",
    "{{ '%r' % verdict }}", "{{ '%r' | format(verdict) }}", "{{ verdict | tojson }}", "{{ [verdict] | tojson }}",
    "{{ [verdict, 1] | unique | list | length }}", "{{ verdict - 1 }}", "{{ -verdict }}", "{{ verdict | abs }}",
    "{{ verdict | round }}", "{% for a in [verdict, verdict] %}{{ loop.changed(a) }}{% endfor %}",
    "{{ response.startswith(verdict) }}",
]
ERRED = DERIVED.replace("A checker said {{ verdict | default('nothing') }} about", "TEMPLATE")
MISSING = ERRED.replace("inputs: {response: text}", "inputs: {response: text, verdict: {type: bool, optional: true}}")
MISSING = MISSING.replace("  verdict:\n    check: honesty.broken(response)\n", "")


@pytest.mark.parametrize("template", UNKNOWN_READS)
@pytest.mark.parametrize("source,status,reason", [(ERRED, "error", "the sandbox could not start"),
                                                  (MISSING, "na", "'verdict' is na")], ids=["erred", "missing"])
def test_a_template_that_looks_at_an_unknown_value_takes_its_status(template, source, status, reason):
    fake = ScriptedBackend(choose=lambda t, o: "yes")
    result = skill_of(source.replace("TEMPLATE", template), fake).score([{"response": "r"}])[0]
    assert (result.status, result.reward) == (status, None), result.trace["judge"]
    assert result.trace["judge"].status == status and reason in result.trace["judge"].reason
    assert fake.requests == []  # the judge never saw a prompt built from it


# -- a list reference ("any of these is correct") is never its text "D or J" ----------------------

LIST_REFERENCE = """
skill: list_reference
mode: pointwise
inputs:
  response: text
  reference: {type: text, visibility: reference}
evidence:
  EVIDENCE
reward: REWARD
"""
HONEST, HEDGE = ("D", "J"), ("D or J", "J or D", "or", "A")  # reference ["D", "J"]


def list_reference_rewards(evidence: str, reward: str, reference=("D", "J"), responses=HONEST + HEDGE,
                           backend=None) -> dict:
    text = LIST_REFERENCE.replace("EVIDENCE", evidence).replace("REWARD", reward)
    results = skill_of(text, backend).score([{"response": r, "reference": list(reference)} for r in responses])
    return {r: (res.reward, res.status, res.reason) for r, res in zip(responses, results)}


@pytest.mark.parametrize("reward", [
    "1 if response == reference else 0", "1 if reference == response else 0",
    "0 if response != reference else 1", "0 if reference != response else 1",
])
def test_a_hedge_naming_every_option_is_not_equal_to_a_list_reference(reward):
    got = list_reference_rewards("m: {check: 'ref.choice(response, reference)'}", reward)
    assert {r: got[r][0] for r in HONEST} == {"D": 1, "J": 1}  # each correct answer equals the reference
    assert {r: got[r][0] for r in HEDGE} == {r: 0 for r in HEDGE}  # "D or J" hedges; it is no answer


@pytest.mark.parametrize("check", [
    'ref.match(reference, response, mode="exact")', "ref.match(reference, response)",
    'ref.match(reference, response, mode="word")', "ref.choice(reference, response)",
    "math.equivalent(reference, response)",
])
def test_a_list_reference_in_the_response_place_is_read_as_its_options(check):
    # the reference verifiers given the arguments the other way round: the hedge used to match the text
    got = list_reference_rewards(f"m: {{check: '{check}'}}", "1 if m else 0")
    assert {r: got[r][0] for r in HONEST} == {"D": 1, "J": 1}
    assert all(got[r][0] != 1 for r in HEDGE), got
    numbers = list_reference_rewards("m: {check: 'math.equivalent(reference, response)'}", "1 if m else 0",
                                     reference=("6", "7"), responses=("7", "6 or 7"))
    assert (numbers["7"][0], numbers["6 or 7"][0]) == (1, 0)


def test_a_judge_vote_equal_to_one_option_is_equal_to_the_list_reference():
    evidence = ("judge:\n    ask: {user: 'Which option does {{ response }} choose?'}\n"
                "    answer: choice(A, D, J)")
    backend = ScriptedBackend(choose=lambda text, options: "D" if "choose D" in text else "A")
    got = list_reference_rewards(evidence, "1 if vote(judge) == reference else 0", backend=backend,
                                 responses=("I choose D", "I choose A"))
    assert (got["I choose D"][0], got["I choose A"][0]) == (1, 0)


def test_run_code_is_not_given_a_list_reference_as_text():
    # run code would see the string "D or J": `response == reference` rewarded exactly the hedge
    evidence = "eq:\n    run: result = response.strip() == reference\n    uses: [response, reference]"
    got = list_reference_rewards(evidence, "1 if eq else 0", responses=("D", "D or J"))
    for response in ("D", "D or J"):
        reward, status, reason = got[response]
        assert (reward, status) == (None, "error")
        assert "'reference' is a list of correct answers" in reason and "ref.match" in reason
    one = list_reference_rewards(evidence, "1 if eq else 0", reference=("D",), responses=("D", "D or J"))
    assert (one["D"][0], one["D or J"][0]) == (1, 0)  # one answer is plain text: the code runs


def test_a_verifier_that_cannot_read_options_refuses_a_list_reference():
    # format.regex took "D or J" as the pattern: only the hedge matched it
    got = list_reference_rewards("h: {check: 'format.regex(response, reference)'}", "1 if h else 0",
                                 responses=("D", "D or J"))
    assert all(got[r][:2] == (None, "error") and "list of correct answers" in got[r][2] for r in got), got
    one = list_reference_rewards("h: {check: 'format.regex(response, reference)'}", "1 if h else 0",
                                 reference=("D",), responses=("D",))
    assert one["D"][0] == 1


def test_a_list_reference_is_no_text_to_build_on():
    got = list_reference_rewards("m: {check: 'ref.choice(response, reference)'}",
                                 '1 if response == "The answer is " + reference else 0',
                                 responses=("The answer is D", "The answer is D or J"))
    assert all(got[r][:2] == (None, "error") and "list of correct answers" in got[r][2] for r in got), got


def test_a_list_reference_is_read_alike_by_eval_and_the_runtime():
    from skilldsl.eval.formats.common import reference
    from skilldsl.runtime.inputs import validate_sample

    spec = {"reference": {"type": "text", "visibility": "reference"}}
    for given in ([3, "4"], ["D", "J"], [7]):
        read = reference({"reference": given}, "reference")
        runtime = validate_sample({"reference": given}, spec)["reference"].value
        assert read == (list(runtime.options) if len(given) > 1 else runtime), given
