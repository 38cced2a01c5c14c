"""Bad input at run time: one unservable request, a cut-off answer or a model that cannot load
fails its own evidence with a reason — never the wave, never a missing row."""
from __future__ import annotations

import pytest

from _runtime_support import C, E, I, ask, call, check, program
from skilldsl.ir import Program
from skilldsl.runtime import Skill
from skilldsl.runtime.backends import hf
from skilldsl.runtime.backends.base import RequestError
from skilldsl.runtime.backends.fake import FakeBackend
from skilldsl.runtime.evidence import template_context
from skilldsl.runtime.executor import Executor

JUDGED = program({"r": "text"}, {"j": ask("Is {{ r }} right?")}, call("p", E("j"), C("yes")))
VERDICT = {"type": "json", "schema": {"type": "object", "properties": {"score": {"type": "integer"}},
                                      "required": ["score"]}}


def test_one_unservable_request_errs_only_its_own_sample():
    fake = FakeBackend({"BAD": RequestError("the chat template refused this prompt")}, default_choice="yes")
    skill = Skill(JUDGED, backend=fake)
    good, bad, other = skill.score([{"r": "a"}, {"r": "BAD"}, {"r": "b"}])
    assert fake.batch_sizes() == [3]  # one call for the wave, and no retry for a per-request error
    assert good.reward == pytest.approx(0.9) and other.reward == pytest.approx(0.9)
    assert bad.status == "error" and bad.reward is None
    assert bad.reason == bad.trace["j"].reason == "the chat template refused this prompt"


def test_one_bad_item_of_an_each_errs_only_that_item():
    prog = program({"r": "text", "items": "list"},
                   {"each": {"kind": "each", "over": "items", "var": "item", "cost": 400,
                             "body": ask("Does {{ r }} satisfy {{ item }}?")}},
                   call("mean", call("p", E("each"), C("yes"))))
    fake = FakeBackend({"BAD": RequestError("refused")}, default_choice="yes")
    [res] = Skill(prog, backend=fake).score([{"r": "x", "items": ["one", "BAD", "two"]}])
    items = res.trace["each"].detail["items"]
    assert [i["status"] for i in items] == ["ok", "error", "ok"] and items[1]["reason"] == "refused"
    assert res.status == "error" and res.reason == "refused"  # mean() of an error is an error, never a score


def test_a_cut_off_json_answer_is_an_error_never_a_partial_value():
    prog = program({"r": "text"}, {"v": ask("{{ r }}", answer=VERDICT)},
                   {"get": E("v"), "key": "score"})
    prog.doc["evidence"]["v"]["decoding"]["max_tokens"] = 2
    fake = FakeBackend(texts={"long": '{"score": 3, "note": "x"}', "short": '{"score": 4}'})
    long_, short = Skill(prog, backend=fake).score([{"r": "long"}, {"r": "short"}])
    assert short.reward == 4.0
    assert long_.status == "error" and long_.trace["v"].value is None
    assert long_.reason == "answer cut off at max_tokens=2 before it was complete"


class _Sparse(FakeBackend):
    """A backend that (wrongly) returns None for requests whose prompt mentions HOLE."""

    def choice_logprobs(self, requests):
        results = super().choice_logprobs(requests)
        return [None if "HOLE" in r.messages[0]["content"] else res for r, res in zip(requests, results)]


def test_a_missing_result_is_an_error_for_that_row_only():
    good, hole = Skill(JUDGED, backend=_Sparse(default_choice="yes")).score([{"r": "a"}, {"r": "HOLE"}])
    assert good.status == "ok" and hole.status == "error"
    assert hole.reason == "the backend returned no result for this request"


def _counting(monkeypatch, name, exc):
    calls = []

    def fail(*args, **kwargs):
        calls.append(args)
        raise exc

    monkeypatch.setattr(hf, name, fail)
    return calls


@pytest.mark.parametrize("where, exc, says", [
    ("resolve_model", hf.BackendError("model path not found: /nowhere/judge"), "model path not found: /nowhere/judge"),
    ("load_model", OSError("/tmp/judge has no config.json"), "OSError: /tmp/judge has no config.json"),
])
def test_a_model_that_fails_to_load_is_tried_once_across_waves(monkeypatch, tmp_path, where, exc, says):
    attempts = _counting(monkeypatch, where, exc)
    skill = Skill(JUDGED, model=str(tmp_path), cache=False, batch_size=1)  # one executor batch per sample
    results = skill.score([{"r": "a"}, {"r": "b"}, {"r": "c"}])
    assert len(attempts) == 1  # not once per batch, nor once per retry
    assert [r.status for r in results] == ["error"] * 3
    assert len({r.reason for r in results}) == 1 and says in results[0].reason
    assert skill.stats["waves"] == 3


def test_prompt_facts_are_per_program_even_when_programs_share_nodes():
    files = {"rubric": {"path": "r.md", "sha256": "x", "text": "RUBRIC ONE"}}
    prog = program({"r": "text"}, {"j": ask("{{ files.rubric }} {{ r }}")}, call("p", E("j"), C("yes")), files=files)
    other = Program({**prog.doc, "files": {"rubric": {"path": "r.md", "sha256": "y", "text": "RUBRIC TWO"}}})
    assert other.evidence["j"] is prog.evidence["j"]  # the same node object
    fake = FakeBackend()
    Skill(prog, backend=fake).score([{"r": "x"}])
    Skill(other, backend=fake).score([{"r": "x"}])
    assert fake.prompts() == ["RUBRIC ONE x", "RUBRIC TWO x"]


def test_templates_cannot_change_the_shared_files():
    files = {"rubric": {"path": "r.md", "sha256": "x", "text": "KEEP"}}
    prog = program({"r": "text"}, {"j": ask("{{ files.update({'rubric': 'CHANGED'}) }}{{ files.rubric }}")},
                   call("p", E("j"), C("yes")), files=files)
    first, second = Skill(prog, backend=FakeBackend()).score([{"r": "x"}, {"r": "y"}])
    assert first.status == second.status == "error" and "template" in first.reason
    row = Executor(prog, lambda alias: None).rows_of({"r": "x"})[0]
    assert template_context(row, prog.evidence["j"], {})["files"]["rubric"] == "KEEP"


def test_a_verifier_registered_after_a_failed_lookup_is_found():
    from skilldsl.verifiers import registry, verifier

    prog = program({"r": "text"}, {"c": check("rt_errors.late", I("r"))}, E("c"))
    skill = Skill(prog)
    assert "unknown verifier" in skill.score([{"r": "x"}])[0].reason
    if registry.get("rt_errors.late") is None:
        verifier("rt_errors.late", params=("response: text",), isolate=False)(lambda response: response == "x")
    assert skill.score([{"r": "x"}])[0].reward == 1.0
