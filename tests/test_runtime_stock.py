"""The stock skills in ``skills/``, compiled and run end to end on the scripted FakeBackend."""
from __future__ import annotations

import pytest

import skilldsl
from skilldsl.runtime import Skill

fake_mod = pytest.importorskip("skilldsl.runtime.backends.fake")
FakeBackend = fake_mod.FakeBackend


def stock(name, backend=None):
    return Skill(skilldsl.compile(skilldsl.stock_skill(name)), backend=backend)


def test_math_answer_reference_decides_without_a_model():
    skill = stock("math_answer")
    results = skill.score([
        {"prompt": "1+1?", "response": "So the answer is \\boxed{2}.", "reference": "2"},
        {"prompt": "1+1?", "response": "The answer is 3.", "reference": "2"},
    ])
    assert [r.reward for r in results] == [1.0, 0.0]
    assert skill.loaded_backends == []
    assert results[0].trace["judge"].skipped == "not needed"


def test_math_answer_judge_when_no_reference():
    fake = FakeBackend(choices={"Solution: 7": "yes"}, default_choice="no")
    results = stock("math_answer", fake).score([
        {"prompt": "3+4?", "response": "7"},
        {"prompt": "3+4?", "response": "8"},
        {"prompt": "3+4?", "response": "\\boxed{7}", "reference": "7"},
    ])
    assert fake.batch_sizes() == [2]
    assert results[0].reward == pytest.approx(0.9) and results[1].reward == pytest.approx(0.1)
    assert results[2].reward == 1.0
    assert "You grade math solutions strictly." in fake.prompts()[0]


def test_math_answer_pays_nothing_for_hiding_the_answer_from_its_reference():
    # a wrong final answer scored 0 while a solution with no final answer went to the judge and
    # scored p(yes): an RL policy learned to stop answering (seen in the TRL example's GRPO steps)
    fake = FakeBackend(default_choice="yes")  # a judge that believes everything
    results = stock("math_answer", fake).score([
        {"prompt": "6*7?", "response": "I computed it carefully and I am confident in my work.", "reference": "42"},
        {"prompt": "6*7?", "response": "The answer is 41.", "reference": "42"},
        {"prompt": "6*7?", "response": "The answer is 42.", "reference": "42"},
        {"prompt": "6*7?", "response": "I computed it carefully and I am confident in my work."},  # no reference: judged
    ])
    assert [r.reward for r in results[:3]] == [0.0, 0.0, 1.0]
    assert results[3].reward == pytest.approx(0.9) and fake.batch_sizes() == [1]


def test_pairwise_judge_swaps_in_one_call():
    def better(prompt, options):
        return "A" if prompt.index("GOOD") < prompt.index("BAD") else "B"

    fake = FakeBackend(choices=better)
    skill = stock("pairwise_judge", fake)
    results = skill.score([{"prompt": "q", "a": "GOOD", "b": "BAD"}, {"prompt": "q", "a": "BAD", "b": "GOOD"}])
    assert fake.batch_sizes() == [4]
    assert results[0].reward == pytest.approx(0.9) and results[1].reward == pytest.approx(0.1)
    assert results[0].trace["judge"].detail["orders"][1]["B"] == pytest.approx(0.9)


def test_reward_judge_reference_first_then_one_batched_wave():
    def choose(prompt, options):
        if "Criterion" in prompt:
            return "yes" if "XRESP" in prompt else "no"
        return "A" if prompt.index("XRESP") < prompt.index("YRESP") else "B"

    fake = FakeBackend(choices=choose)
    skill = stock("reward_judge", fake)
    decided, judged = skill.score([
        {"prompt": "2+2?", "a": "\\boxed{4}", "b": "\\boxed{5}", "reference": "4"},
        {"prompt": "q", "a": "XRESP", "b": "YRESP", "checklist": ["short", "polite", "correct"]},
    ])
    assert decided.reward == 1.0 and decided.trace["judge"].skipped == "not needed"
    assert fake.batch_sizes() == [2 + 3 + 3]   # swap x2 + both checklists, one call
    assert judged.status == "ok"
    assert judged.reward == pytest.approx((0.5 + (0.9 - 0.1) / 2 + 0.9) / 2)


def test_instruction_following_judges_only_unchecked_instructions():
    fake = FakeBackend(choices={"Instruction:": "yes"})
    r = stock("instruction_following", fake).score([{
        "prompt": "Write in lowercase, and do something odd.",
        "response": "all lowercase here",
        "instruction_id_list": ["change_case:english_lowercase", "no_such:instruction"],
        "kwargs": [{}, {}],
    }])[0]
    follows = r.trace["follows"].detail["items"]
    assert follows[0]["value"] is True and follows[1]["status"] == "na"
    assert fake.batch_sizes() == [1] and "no_such:instruction" in fake.prompts()[0]
    assert r.reward == pytest.approx((1.0 + 0.9) / 2)


def test_code_tests_runs_in_the_sandbox():
    skill = stock("code_tests")
    ok_, bad = skill.score([
        {"prompt": "def add(a, b):", "response": "def add(a, b):\n    return a + b\n",
         "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n", "entry_point": "add"},
        {"prompt": "def add(a, b):", "response": "def add(a, b):\n    return a - b\n",
         "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n", "entry_point": "add"},
    ])
    assert ok_.reward == 1.0 and bad.reward == 0.0
    assert skill.loaded_backends == []


def test_code_tests_scores_a_response_without_code_zero():
    # the skill's `about` promises reward 0 (ok(False)), not na, for a response with no code
    task = {"prompt": "def add(a, b):\n    \"\"\"Add.\"\"\"\n", "entry_point": "add",
            "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n"}
    results = stock("code_tests").score([{**task, "response": ""}, {**task, "response": "I cannot solve this."}])
    assert [(r.status, r.reward) for r in results] == [("ok", 0.0), ("ok", 0.0)]
    assert results[1].trace["passes"].detail["status"] == "failed"


def test_a_compiled_route_runs_only_the_chosen_evidence(tmp_path):
    source = tmp_path / "routed.skill"
    source.write_text(
        "skill: routed\nversion: 1\nabout: t\nmode: pointwise\n"
        "inputs: {prompt: text, response: text}\n"
        "evidence:\n"
        "  strict: {ask: {user: 'STRICT {{ response }}'}, answer: 'choice(yes, no)'}\n"
        "  lenient: {ask: {user: 'LENIENT {{ response }}'}, answer: 'choice(yes, no)'}\n"
        "  pick: {route: [strict, lenient], ask: {user: 'Which evidence decides {{ prompt }}?'}}\n"
        "reward: |\n  (1 if strict == \"yes\" else 0) if pick == \"strict\"\n"
        "    else (1 if lenient == \"yes\" else 0) if p(pick, \"lenient\") > 0.5 else na\n")
    fake = FakeBackend(choices={"Which evidence": "lenient", "LENIENT": "yes"}, default_choice="no")
    r = Skill(skilldsl.compile(source), backend=fake).score([{"prompt": "q", "response": "r"}])[0]
    assert r.reward == 1.0 and r.trace["pick"].detail["chosen"] == "lenient"
    assert not fake.saw("STRICT") and r.trace["strict"].skipped == "not needed"


ALL_KINDS = """
skill: allkinds
version: 1
about: every evidence kind in one listwise skill
mode: listwise
inputs:
  prompt: text
  responses: list[text]
  reference: {type: text, optional: true, visibility: reference}
  checklist: {type: list, optional: true}
candidates: responses
models:
  rm: {id: some/rm}
evidence:
  exact:
    check: ref.match(candidate, reference)
    when: known(reference)
  runs:
    run: |
      result = len(prompt) > 3
    uses: [prompt]
    timeout: 10
  items:
    each: checklist
    ask:
      user: "{{ item }} / {{ candidate }}"
    answer: choice(yes, no)
  rate:
    ask:
      user: "Rate {{ candidate }} against {{ reference }}"
    allow: [reference]
    answer: score(1, 5)
    samples: 3
    temperature: 0.7
  rmv:
    model: rm
    input: "{{ prompt }} {{ candidate }}"
reward: first(exact, mean(runs, mean(p(items, "yes")), expect(rate) / 5, clip(rmv, 0, 1)))
"""


def test_every_evidence_kind_compiled_and_run(tmp_path):
    from test_runtime_reward_model import FakeRM

    source = tmp_path / "allkinds.skill"
    source.write_text(ALL_KINDS)
    fake = FakeBackend(choices={"good": "yes"}, default_choice="no",
                       texts=lambda prompt, constraint: "5" if "against REF" in prompt else "1")
    rm = FakeRM()
    skill = Skill(skilldsl.compile(source), backend={"default": fake, "rm": rm})
    with_ref, no_ref = skill.score([
        {"prompt": "a prompt", "responses": ["REF", "other"], "reference": "REF"},
        {"prompt": "a prompt", "responses": ["good one", "bad one"], "checklist": ["c1", "c2"]},
    ])
    assert with_ref.scores == [1.0, 0.0] and with_ref.best == 0   # the reference decides
    assert with_ref.trace["rate[0]"].skipped == "not needed" and not fake.saw("against REF")
    # no reference: `rate` shows the missing reference, so it is na (never "None" in a prompt) and
    # the mean skips it: run (true) + checklist + reward model, averaged
    assert no_ref.trace["rate[0]"].status == "na" and "'reference' is na" in no_ref.trace["rate[0]"].reason
    assert no_ref.scores == pytest.approx([(1 + 0.9 + 1) / 3, (1 + 0.1 + 1) / 3])
    assert rm.calls == [["a prompt good one", "a prompt bad one"]]
    assert fake.batch_sizes("generate") == [] and fake.batch_sizes("choice_logprobs") == [4]
    assert not any("None" in p for p in fake.prompts())
