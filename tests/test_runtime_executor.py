"""The executor on a scripted fake backend: laziness, batching, when/each/route/swap, errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from _runtime_support import (
    REF, VERIFIER_CALLS, C, E, I, ScriptedBackend, ask, call, check, math_like, op, program, registered,
)
from skilldsl.runtime import Skill, format_result


# -- laziness ------------------------------------------------------------------------------------


def test_verifier_decided_skill_never_creates_a_backend():
    skill = Skill(math_like())  # no backend injected: creating one would load a model
    results = skill.score([{"prompt": "1+1", "response": "2", "reference": "2"},
                           {"prompt": "1+1", "response": "3", "reference": "2"}])
    assert [r.reward for r in results] == [1.0, 0.0]
    assert skill.loaded_backends == []
    assert results[0].trace["judge"].skipped == "not needed"


def test_verifier_only_scoring_does_not_import_torch(tmp_path):
    script = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from _runtime_support import math_like\n"
        "from skilldsl.runtime import Skill\n"
        "r = Skill(math_like()).score([{'prompt': 'p', 'response': 'a', 'reference': 'a'}])[0]\n"
        "assert r.reward == 1.0, r\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_judge_only_asked_for_rows_that_need_it():
    fake = ScriptedBackend(choose=lambda text, options: "yes")
    results = Skill(math_like(), backend=fake).score([
        {"prompt": "p1", "response": "right", "reference": "right"},
        {"prompt": "p2", "response": "unsure"},            # no reference: the judge decides
        {"prompt": "p3", "response": "x", "reference": "?"},  # verifier says na: the judge decides
    ])
    assert fake.calls == [("choice_logprobs", 2)]
    asked = [fake.text(r.messages) for r in fake.requests]
    assert any("unsure" in t for t in asked) and any("p3" in t for t in asked)
    assert not any("right" in t for t in asked)
    assert results[0].reward == 1.0 and results[0].trace["judge"].skipped
    assert results[1].reward == pytest.approx(0.9) and results[1].trace["judge"].status == "ok"
    assert results[2].trace["matches"].status == "na"


# -- batching -------------------------------------------------------------------------------------


def test_one_backend_call_per_wave_across_rows_swaps_and_items():
    prog = program(
        {"prompt": "text", "a": "text", "b": "text", "checklist": "list"},
        {"pair": ask("{{ prompt }} A: {{ a }} B: {{ b }}", ("A", "B"), swap=True),
         "items": {"kind": "each", "over": "checklist", "var": "item", "cost": 400,
                   "body": ask("Does A satisfy {{ item }} ({{ index }})? {{ a }}")}},
        call("mean", call("p", E("pair"), C("A")), call("p", E("items"), C("yes"))),
        mode="pairwise",
    )
    fake = ScriptedBackend()
    n, k = 5, 3
    samples = [{"prompt": f"q{i}", "a": "x", "b": "y", "checklist": [f"c{j}" for j in range(k)]} for i in range(n)]
    skill = Skill(prog, backend=fake)
    results = skill.score(samples)
    assert fake.calls == [("choice_logprobs", n * (2 + k))]
    assert skill.stats["waves"] == 1
    assert all(r.status == "ok" for r in results)
    assert results[0].trace["items"].detail["items"][2]["distribution"]["yes"] == pytest.approx(0.9)


def test_dependent_evidence_takes_one_more_wave_not_one_per_row():
    prog = program(
        {"response": "text"},
        {"first": ask("Is {{ response }} polite?"),
         "second": ask("Earlier verdict: {{ first }}. Is {{ response }} helpful?", deps=["first"])},
        call("p", E("second"), C("yes")),
    )
    fake = ScriptedBackend()
    skill = Skill(prog, backend=fake)
    results = skill.score([{"response": f"r{i}"} for i in range(4)])
    assert fake.calls == [("choice_logprobs", 4), ("choice_logprobs", 4)]
    assert "Earlier verdict: yes" in fake.text(fake.requests[-1].messages)
    assert skill.stats["waves"] == 2 and all(r.status == "ok" for r in results)


def test_batch_size_splits_batches():
    fake = ScriptedBackend()
    skill = Skill(program({"r": "text"}, {"j": ask("{{ r }}")}, call("p", E("j"), C("yes"))), backend=fake, batch_size=2)
    assert len(skill.score([{"r": str(i)} for i in range(5)])) == 5
    assert fake.calls == [("choice_logprobs", 2), ("choice_logprobs", 2), ("choice_logprobs", 1)]


# -- swap -----------------------------------------------------------------------------------------


def pairwise(labels=("A", "tie", "B")):
    return program({"a": "text", "b": "text"},
                   {"judge": ask("Response A: {{ a }}\nResponse B: {{ b }}\nWhich is better?", labels, swap=True)},
                   call("p", E("judge"), C("A")), mode="pairwise")


def test_swap_mirrors_labels_and_cancels_position_bias():
    biased = ScriptedBackend(choose=lambda text, options: {"A": 0.7, "tie": 0.1, "B": 0.2})
    r = Skill(pairwise(), backend=biased).compare("q", "one", "two")
    orders = r.trace["judge"].detail["orders"]
    assert orders[0]["A"] == pytest.approx(0.7) and orders[1]["A"] == pytest.approx(0.7)
    assert r.reward == pytest.approx((0.7 + 0.2) / 2)   # swapped B (0.2) is original A
    assert r.trace["judge"].detail["distribution"]["tie"] == pytest.approx(0.1)
    requests = [biased.text(q.messages) for q in biased.requests]
    assert "Response A: one" in requests[0] and "Response A: two" in requests[1]


def test_swap_keeps_a_consistent_preference():
    def prefers_good(text, options):
        return "A" if text.index("good") < text.index("bad") else "B"

    fake = ScriptedBackend(choose=prefers_good)
    skill = Skill(pairwise(("A", "B")), backend=fake)
    assert skill.compare("q", "good", "bad").reward == pytest.approx(0.9)
    assert skill.compare("q", "bad", "good").reward == pytest.approx(0.1)


# -- when, each, route, samples, answers -----------------------------------------------------------


def test_when_false_skips_and_is_recorded():
    prog = program(
        {"response": "text", "reference": REF},
        {"matches": check("rt_test.same", I("response"), I("reference"), when=call("known", I("reference"))),
         "judge": ask("{{ response }}")},
        call("first", E("matches"), call("p", E("judge"), C("yes"))),
    )
    fake = ScriptedBackend()
    before = len(VERIFIER_CALLS)
    r = Skill(prog, backend=fake).score([{"response": "x"}])[0]
    assert r.trace["matches"].skipped == "when: false" and r.trace["matches"].status == "na"
    assert len(VERIFIER_CALLS) == before   # the verifier never ran
    assert r.reward == pytest.approx(0.9)


def test_each_items_locals_and_per_item_when():
    body = ask("Item {{ index }}: {{ item }} / {{ response }}", when=op("!=", {"local": "item"}, C("skip me")))
    prog = program({"response": "text", "checklist": "list"},
                   {"items": {"kind": "each", "over": "checklist", "var": "item", "body": body, "cost": 400}},
                   call("mean", call("p", E("items"), C("yes"))))
    fake = ScriptedBackend(choose=lambda text, options: "yes" if "cats" in text else "no")
    r = Skill(prog, backend=fake).score([{"response": "R", "checklist": ["cats", "skip me", "dogs"]}])[0]
    assert [fake.text(q.messages) for q in fake.requests] == ["Item 0: cats / R", "Item 2: dogs / R"]
    items = r.trace["items"].detail["items"]
    assert items[1]["skipped"] == "when: false"
    assert r.trace["items"].value == ["yes", None, "no"]
    assert r.reward == pytest.approx((0.9 + 0.1) / 2)
    text = format_result(r)
    assert "[1] na: when: false" in text and "[2] 'no'  {yes: 0.1, no: 0.9}" in text


def test_route_runs_only_the_chosen_evidence():
    prog = program(
        {"response": "text"},
        {"strict": ask("STRICT {{ response }}"), "lenient": ask("LENIENT {{ response }}"),
         "pick": {"kind": "route", "cost": 200, "when": None, "deps": ["lenient", "strict"],
                  "options": ["strict", "lenient"],
                  "prompt": {"user": "Which evidence decides {{ response }}?"},
                  "answer": {"type": "choice", "labels": ["strict", "lenient"]}, "model": "default"}},
        op("if", op("==", E("pick"), C("strict")), call("p", E("strict"), C("yes")), call("p", E("lenient"), C("yes"))),
    )

    def choose(text, options):
        if "Which evidence" in text:
            return "lenient"
        return "no" if "STRICT" in text else "yes"

    fake = ScriptedBackend(choose=choose)
    r = Skill(prog, backend=fake).score([{"response": "r"}])[0]
    assert r.trace["pick"].detail["chosen"] == "lenient" and r.trace["pick"].value == "lenient"
    assert r.trace["pick"].detail["distribution"]["lenient"] == pytest.approx(0.9)  # p(pick, "lenient")
    assert r.trace["strict"].skipped == "not needed"
    assert not any("STRICT" in fake.text(q.messages) for q in fake.requests)
    assert r.reward == pytest.approx(0.9)
    assert fake.calls == [("choice_logprobs", 1), ("choice_logprobs", 1)]


def test_samples_vote_over_constrained_generations():
    answers = iter(["yes", "no", "yes"])
    fake = ScriptedBackend(write=lambda text, constraint: next(answers))
    prog = program({"r": "text"}, {"j": ask("{{ r }}", samples=3)}, call("p", E("j"), C("yes")))
    r = Skill(prog, backend=fake).score([{"r": "x"}])[0]
    assert fake.calls == [("generate", 3)]
    assert {q.seed for q in fake.requests} == {0, 1, 2}
    assert fake.requests[0].constraint == {"type": "regex", "pattern": "yes|no"}
    assert r.reward == pytest.approx(2 / 3) and r.trace["j"].value == "yes"


def test_score_answer_expectation():
    prog = program({"r": "text"}, {"s": ask("{{ r }}", answer={"type": "score", "min": 1, "max": 3})},
                   call("expect", E("s")))
    fake = ScriptedBackend(choose=lambda text, options: {"1": 0.2, "2": 0.3, "3": 0.5})
    r = Skill(prog, backend=fake).score([{"r": "x"}])[0]
    assert fake.requests[0].options == ("1", "2", "3")
    assert r.reward == pytest.approx(0.2 + 0.6 + 1.5) and r.trace["s"].value == 3


def test_json_answers_are_parsed_and_fields_read():
    prog = program({"r": "text"}, {"j": ask("{{ r }}", answer={"type": "json", "schema": {"type": "object"}})},
                   {"get": E("j"), "key": "score"})
    fake = ScriptedBackend(write=lambda text, constraint: '{"score": 0.25}' if "good" in text else "not json")
    good, bad = Skill(prog, backend=fake).score([{"r": "good"}, {"r": "bad"}])
    assert fake.calls == [("generate", 2)]
    assert good.reward == 0.25
    assert bad.status == "error" and "not valid JSON" in bad.reason


# -- visibility and templates --------------------------------------------------------------------


def test_prompts_see_reference_only_when_allowed_and_never_labels():
    inputs = {"response": "text", "reference": REF, "gold": {"type": "text", "visibility": "label"}}
    leaky = program(inputs, {"j": ask("{{ response }} {{ reference }}")}, call("p", E("j"), C("yes")))
    allowed = program(inputs, {"j": ask("{{ response }} {{ reference }}", allow=["reference"])},
                      call("p", E("j"), C("yes")))
    label = program(inputs, {"j": ask("{{ gold }}", allow=["gold"])}, call("p", E("j"), C("yes")))
    sample = {"response": "R", "reference": "REF", "gold": "G"}
    fake = ScriptedBackend()
    r = Skill(leaky, backend=fake).score([sample])[0]
    assert r.status == "error" and "reference" in r.reason and fake.calls == []
    assert Skill(allowed, backend=fake).score([sample])[0].status == "ok"
    assert fake.text(fake.requests[0].messages) == "R REF"
    assert Skill(label, backend=fake).score([sample])[0].status == "error"


def test_files_in_templates_and_system_message():
    prog = program({"r": "text"}, {"j": ask("{{ files.rubric }}|{{ r }}", system="Be strict.")},
                   call("p", E("j"), C("yes")), files={"rubric": {"path": "x.md", "sha256": "", "text": "RUBRIC"}})
    fake = ScriptedBackend()
    Skill(prog, backend=fake).score([{"r": "x"}])
    assert list(fake.requests[0].messages) == [{"role": "system", "content": "Be strict."},
                                               {"role": "user", "content": "RUBRIC|x"}]


def test_truncation_is_recorded_in_the_trace():
    prog = program({"r": "text"}, {"j": ask("{{ r }}")}, call("p", E("j"), C("yes")))
    fake = ScriptedBackend(truncate_over=100)
    short, long_ = Skill(prog, backend=fake).score([{"r": "x"}, {"r": "y" * 1000}])
    assert short.trace["j"].detail["truncated"] is False
    assert long_.trace["j"].detail["truncated"] is True and long_.status == "ok"
    strict = program({"r": "text"}, {"j": ask("{{ r }}")}, call("p", E("j"), C("yes")), settings={"truncate": "error"})
    assert "model context" in Skill(strict, backend=fake).score([{"r": "y" * 1000}])[0].reason


# -- error paths -------------------------------------------------------------------------------------


def test_bad_rows_get_error_results_and_others_continue():
    fake = ScriptedBackend()
    results = Skill(math_like(), backend=fake).score([
        {"prompt": "p", "response": "a", "reference": "a"},
        {"prompt": "p"},
        {"prompt": "p", "response": 42},
        "not an object",
        {"prompt": "p", "response": "b", "reference": "b", "extra": [1]},
    ])
    assert len(results) == 5
    assert [r.status for r in results] == ["ok", "error", "error", "error", "ok"]
    assert "missing required field 'response'" in results[1].reason
    assert "must be text" in results[2].reason
    assert "JSON object" in results[3].reason
    assert all(r.reward_id == math_like().reward_id for r in results)


def test_verifier_raising_is_an_error_value():
    prog = program({"response": "text"}, {"b": check("rt_test.boom", I("response"))},
                   call("default", E("b"), C(0.0)))
    r = Skill(prog).score([{"response": "x"}])[0]
    assert r.status == "error" and "kaboom" in r.reason and r.reward is None
    assert r.trace["b"].status == "error"
    recovered = program({"response": "text"}, {"b": check("rt_test.boom", I("response"))},
                        op("if", call("is_error", E("b")), C(0.0), C(1.0)))
    assert Skill(recovered).score([{"response": "x"}])[0].reward == 0.0


def test_unknown_or_changed_verifier_is_an_error():
    gone = program({"r": "text"}, {"c": check("rt_test.nosuch", I("r"))}, E("c"))
    assert "unknown verifier" in Skill(gone).score([{"r": "x"}])[0].reason
    old = program({"r": "text", "s": "text"}, {"c": check("rt_test.same", I("r"), I("s"), version="0")}, E("c"))
    assert "version" in Skill(old).score([{"r": "x", "s": "x"}])[0].reason


def test_backend_errors_are_retried_then_reported():
    prog = program({"r": "text"}, {"j": ask("{{ r }}")}, call("p", E("j"), C("yes")), settings={"retries": 1})
    flaky = ScriptedBackend(fail=1)
    assert Skill(prog, backend=flaky).score([{"r": "x"}])[0].status == "ok"
    assert flaky.calls == [("choice_logprobs", 1), ("choice_logprobs", 1)]
    broken = ScriptedBackend(fail=5)
    r = Skill(prog, backend=broken).score([{"r": "x"}, {"r": "y"}])
    assert len(broken.calls) == 2   # bounded: one try + one retry
    assert all(x.status == "error" and "scripted failure" in x.reason for x in r)


def test_backend_failure_spares_rows_that_do_not_need_it():
    broken = ScriptedBackend(fail=10)
    ok_row, judged = Skill(math_like(), backend=broken).score(
        [{"prompt": "p", "response": "a", "reference": "a"}, {"prompt": "p", "response": "b"}])
    assert ok_row.status == "ok" and judged.status == "error"


def test_model_that_cannot_load_is_an_error_per_row():
    skill = Skill(math_like(), backend={})  # no backend for alias "default": KeyError on creation
    r = skill.score([{"prompt": "p", "response": "b"}])[0]
    assert r.status == "error" and "could not be loaded" in r.reason


def test_template_errors_and_reward_type_errors():
    undefined = program({"r": "text"}, {"j": ask("{{ nope }}")}, call("p", E("j"), C("yes")))
    assert "template" in Skill(undefined, backend=ScriptedBackend()).score([{"r": "x"}])[0].reason
    text_reward = program({"r": "text"}, {}, I("r"))
    r = Skill(text_reward).score([{"r": "x"}])[0]
    assert r.status == "error" and "number" in r.reason
    na_reward = program({"r": REF}, {}, I("r"))
    assert Skill(na_reward).score([{}])[0].status == "na"


def test_run_and_model_evidence(monkeypatch):
    import skilldsl.sandbox
    from skilldsl.verifiers import Verdict

    seen = []

    def fake_run(code, inputs, limits):
        seen.append((code, inputs, limits))
        return Verdict.ok(inputs["response"] == "42", stdout="")

    monkeypatch.setattr(skilldsl.sandbox, "run_skill_code", fake_run, raising=False)
    prog = program({"response": "text", "secret": "text"},
                   {"t": {"kind": "run", "cost": 10, "when": None, "deps": [], "code": "print(1)",
                          "uses": ["response"], "limits": {"timeout": 5}},
                    "rm": {"kind": "model", "cost": 50, "when": None, "deps": [], "model": "x", "input": "{{ response }}"}},
                   op("if", E("t"), C(1.0), C(0.0)))
    r = Skill(prog).score([{"response": "42", "secret": "s"}])[0]
    assert r.reward == 1.0 and seen == [("print(1)", {"response": "42"}, {"timeout": 5})]


# -- results, rank, explain ------------------------------------------------------------------------


def test_results_are_json_serialisable_with_reward_id():
    fake = ScriptedBackend()
    r = Skill(pairwise(), backend=fake).compare("q", "a", "b")
    d = json.loads(json.dumps(r.to_dict()))
    assert d["reward_id"] == pairwise().reward_id and d["status"] == "ok"
    assert d["trace"]["judge"]["detail"]["orders"][1]["A"] == pytest.approx(0.9)
    assert d["tokens_in"] > 0 and d["tokens_out"] == 2


def test_rank_pointwise_and_listwise():
    def choose(text, options):
        return {"yes": 0.8, "no": 0.2} if "best" in text else {"yes": 0.3, "no": 0.7}

    point = program({"prompt": "text", "response": "text"}, {"j": ask("{{ prompt }} {{ response }}")},
                    call("p", E("j"), C("yes")))
    r = Skill(point, backend=ScriptedBackend(choose=choose)).rank("q", ["meh", "best", "bad"])
    assert r.best == 1 and r.scores == pytest.approx([0.3, 0.8, 0.3])
    listwise = program({"prompt": "text", "responses": "list"}, {"j": ask("{{ prompt }} {{ candidate }}")},
                       call("p", E("j"), C("yes")), mode="listwise", candidates="responses")
    fake = ScriptedBackend(choose=choose)
    r2 = Skill(listwise, backend=fake).rank("q", ["meh", "best"])
    assert r2.best == 1 and fake.calls == [("choice_logprobs", 2)] and "j[1]" in r2.trace
    text = format_result(r2)
    assert "scores: [0.3, 0.8]  best: 1" in text and "  j[1] (ask): 'yes'" in text


def test_explain_is_readable():
    text = Skill(math_like(), backend=ScriptedBackend()).explain({"prompt": "p", "response": "r"})
    assert "reward: 0.9" in text
    assert "matches (check): na: argument: input 'reference' is not given" in text
    assert "distribution: {yes: 0.9, no: 0.1}" in text


def test_created_backends_are_cached_unless_disabled(tmp_path, monkeypatch):
    monkeypatch.setenv("SKILLDSL_HOME", str(tmp_path))
    inner = ScriptedBackend()
    inner.cacheable = True  # stands for a model, whose answers the LLM cache keeps
    prog = program({"r": "text"}, {"j": ask("{{ r }}")}, call("p", E("j"), C("yes")))
    with registered("test-inner", inner):
        first = Skill(prog, backend="test-inner").score([{"r": "x"}])[0]
        again = Skill(prog, backend="test-inner").score([{"r": "x"}])[0]
        assert inner.calls == [("choice_logprobs", 1)]
        assert first.reward == again.reward and again.trace["j"].detail["cached"] is True
        assert first.trace["j"].detail["cached"] is False
        Skill(prog, backend="test-inner", cache=False).score([{"r": "x"}])
    assert inner.calls == [("choice_logprobs", 1)] * 2


def test_run_evidence_in_the_real_sandbox():
    pytest.importorskip("skilldsl.sandbox.code")
    prog = program({"response": "text"},
                   {"t": {"kind": "run", "cost": 10, "when": None, "deps": [], "uses": ["response"],
                          "code": "result = len(response) == 2", "limits": {"timeout": 10}}},
                   op("if", E("t"), C(1.0), C(0.0)))
    good, bad = Skill(prog).score([{"response": "42"}, {"response": "4"}])
    assert (good.reward, bad.reward) == (1.0, 0.0)
    crash = dict(prog.evidence["t"], code="raise SystemExit(3)")
    r = Skill(program({"response": "text"}, {"t": crash}, E("t"))).score([{"response": "x"}])[0]
    assert r.status == "error" and r.reason.startswith("run:")


def test_an_evidence_cycle_is_an_error_not_a_hang():
    prog = program({"r": "text"}, {"x": ask("{{ y }}", deps=["y"]), "y": ask("{{ x }}", deps=["x"])},
                   call("p", E("x"), C("yes")))
    fake = ScriptedBackend()
    r = Skill(prog, backend=fake).score([{"r": "a"}])[0]
    assert r.status == "error" and "cycle" in r.reason and fake.calls == []


def test_listwise_rows_with_bad_candidates_fail_alone():
    listwise = program({"prompt": "text", "responses": {"type": "list", "optional": True}},
                       {"j": ask("{{ prompt }} {{ candidate }}")},
                       call("p", E("j"), C("yes")), mode="listwise", candidates="responses")
    fake = ScriptedBackend()
    none, empty, fine = Skill(listwise, backend=fake).score(
        [{"prompt": "q"}, {"prompt": "q", "responses": []}, {"prompt": "q", "responses": ["a"]}])
    assert none.status == "error" and "not a list" in none.reason
    assert empty.status == "error" and empty.scores == []
    assert fine.status == "ok" and fine.best == 0
    unhashable = program({"x": "json"}, {}, {"index": I("x"), "at": I("x")})
    r = Skill(unhashable).score([{"x": {"k": 1}}])[0]
    assert r.status == "error" and "cannot index" in r.reason


def test_sampled_answers_outside_the_labels_are_an_error():
    fake = ScriptedBackend(write=lambda text, constraint: "perhaps")
    prog = program({"r": "text"}, {"j": ask("{{ r }}", samples=2)}, call("p", E("j"), C("yes")))
    r = Skill(prog, backend=fake).score([{"r": "x"}])[0]
    assert r.status == "error" and "none of the labels" in r.reason
    assert all(q.max_tokens >= 4 for q in fake.requests)


def test_sample_text_is_data_never_template_code(capsys):
    fake = ScriptedBackend()
    prog = program({"r": "text"}, {"j": ask("Judge: {{ r }}")}, call("p", E("j"), C("yes")))
    Skill(prog, backend=fake, progress=True).score([{"r": "{{ 7*7 }} {% raw %}Answer: yes"}])
    assert fake.text(fake.requests[0].messages) == "Judge: {{ 7*7 }} {% raw %}Answer: yes"
    assert "1/1" in capsys.readouterr().err  # the progress bar


def test_a_broken_verifier_pool_fails_its_rows_only(monkeypatch):
    import skilldsl.runtime.executor as executor

    def broken(payloads):
        raise OSError("pool is gone")

    monkeypatch.setattr(executor, "run_verifiers", broken)
    fake = ScriptedBackend()
    checked, judged = Skill(math_like(), backend=fake).score(
        [{"prompt": "p", "response": "a", "reference": "a"}, {"prompt": "p", "response": "b"}])
    # the broken verifier is an error of its row, never handed to the judge instead ...
    assert checked.status == "error" and checked.trace["matches"].status == "error"
    assert "pool is gone" in checked.reason and checked.trace["judge"].skipped == "not needed"
    assert judged.status == "ok"  # ... and the row without a reference is judged as usual


def test_a_negative_batch_size_is_refused_rather_than_losing_rows():
    with pytest.raises(ValueError, match="batch_size must be 1 or more"):
        Skill(math_like(), batch_size=-1)
    assert Skill(math_like(), batch_size=0).batch_size == 64  # 0, like None, means the default
