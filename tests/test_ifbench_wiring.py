"""IFBench kwargs read from the prompt (RewardBench 2 Precise IF rows carry ids, no kwargs).

A fake IFBench instruction (``fake:letter_x``: the response has exactly ``n`` letters x) stands
in for the families' checkers, so the wiring is tested on its own.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import skilldsl
from skilldsl.cli import main
from skilldsl.eval.formats.samples import convert_samples
from skilldsl.eval.items import EvalError
from skilldsl.runtime import Skill
from skilldsl.verifiers import ifbench, ifeval

FakeBackend = pytest.importorskip("skilldsl.runtime.backends.fake").FakeBackend

FAKE = "fake:letter_x"
PROMPT = "Write a haiku. Use the letter x exactly 3 times."


def _derive(prompt: str) -> dict:
    found = re.search(r"letter x exactly (-?\d+) times", prompt)
    if not found:
        raise ValueError("no 'letter x exactly N times' in the prompt")
    return {"n": int(found.group(1))}


@pytest.fixture(autouse=True)
def fake_instruction(monkeypatch):
    instruction = ifeval.Instruction(FAKE, lambda response, n: response.count("x") == n, {"n": "count"})
    monkeypatch.setitem(ifbench.INSTRUCTIONS, FAKE, instruction)
    monkeypatch.setitem(ifbench.DERIVE, FAKE, _derive)


@pytest.mark.parametrize("kwargs", [None, {}, {"n": None}])
def test_missing_kwargs_are_read_from_the_prompt(kwargs):
    followed = ifeval.check("x marks xx spot", FAKE, kwargs, prompt=PROMPT)
    assert (followed.status, followed.value) == ("ok", True)
    assert followed.detail["kwargs_derived"] == {"n": 3}
    violated = ifeval.check("x marks the spot", FAKE, kwargs, prompt=PROMPT)
    assert (violated.status, violated.value) == ("ok", False)


def test_given_kwargs_are_used_and_nothing_is_derived(monkeypatch):
    monkeypatch.setitem(ifbench.DERIVE, FAKE, lambda prompt: pytest.fail("derived despite given kwargs"))
    verdict = ifeval.check("x", FAKE, {"n": 1}, prompt=PROMPT)
    assert (verdict.status, verdict.value) == ("ok", True)
    assert "kwargs_derived" not in verdict.detail


def test_unreadable_wording_is_na_with_the_reason():
    verdict = ifeval.check("xxx", FAKE, None, prompt="Write a haiku.")
    assert verdict.status == "na"
    assert "none could be read from the prompt" in verdict.reason and "letter x exactly N times" in verdict.reason
    assert ifeval.check("xxx", FAKE, None, prompt="").reason.endswith("the prompt is empty")


def test_wording_that_reads_as_bad_kwargs_is_na_naming_the_argument():
    verdict = ifeval.check("", FAKE, None, prompt="Use the letter x exactly -2 times.")
    assert verdict.status == "na" and "'n'" in verdict.reason
    assert verdict.detail["kwargs_derived"] == {"n": -2}


def test_hostile_response_cannot_choose_the_derived_kwargs():
    # wording planted in the response must not count: only the prompt is read
    response = "Use the letter x exactly 0 times. No x here... except this one: x"
    verdict = ifeval.check(response, FAKE, None, prompt=PROMPT)
    assert verdict.detail["kwargs_derived"] == {"n": 3} and verdict.value is False
    assert ifeval.check(response, FAKE, None, prompt="Write a haiku.").status == "na"


def test_ifeval_ids_never_derive_missing_kwargs():
    verdict = ifeval.check("two words", "length_constraints:number_words", None, prompt="Answer in 5 words.")
    assert verdict.status == "error" and "needs argument 'num_words'" in verdict.reason


def test_partly_given_kwargs_stay_an_error(monkeypatch):
    instruction = ifeval.Instruction(FAKE, lambda response, n, m: True, {"n": "count", "m": "count"})
    monkeypatch.setitem(ifbench.INSTRUCTIONS, FAKE, instruction)
    verdict = ifeval.check("x", FAKE, {"n": 1}, prompt=PROMPT)
    assert verdict.status == "error" and "'m'" in verdict.reason


def test_follows_all_derives_per_id_and_shows_it():
    ids = [FAKE, "change_case:english_lowercase"]
    verdict = ifeval.follows_all("the fox saw the ox and the lynx", ids, None, prompt=PROMPT)
    assert (verdict.status, verdict.value) == ("ok", True)
    assert verdict.detail["followed"] == [True, True]
    assert verdict.detail["kwargs_derived"] == {FAKE: {"n": 3}}
    assert ifeval.follows_all("x x x", [FAKE], [{}], prompt="No wording.").status == "na"


# -- Undecidable: na only when the response itself cannot decide --------------------------
UNDECIDABLE = "fake:x_unless_question"


def _x_or_undecidable(response: str, n: int) -> bool:
    if response.startswith("?"):
        raise ifeval.Undecidable("a response starting with '?' cannot be decided")
    return response.count("x") == n


@pytest.fixture
def undecidable(monkeypatch):
    instruction = ifeval.Instruction(UNDECIDABLE, _x_or_undecidable, {"n": "count"})
    monkeypatch.setitem(ifbench.INSTRUCTIONS, UNDECIDABLE, instruction)


@pytest.mark.parametrize("mode", ["strict", "loose"])
def test_a_response_that_cannot_decide_is_na_with_the_reason(undecidable, mode):
    verdict = ifeval.check("? xxx", UNDECIDABLE, {"n": 3}, mode=mode)
    assert verdict.status == "na" and "cannot be decided" in verdict.reason


def test_loose_mode_passes_an_undecidable_response_by_a_variant_that_follows(undecidable):
    assert ifeval.check("?\nxxx", UNDECIDABLE, {"n": 3}).status == "na"
    verdict = ifeval.check("?\nxxx", UNDECIDABLE, {"n": 3}, mode="loose")
    assert (verdict.status, verdict.value, verdict.detail["variant"]) == ("ok", True, "without first line")


def test_hostile_loose_variant_cannot_turn_a_failure_into_na(undecidable):
    # the response is decided (no x); a last line loose mode keeps alone must not buy na (judge)
    response = "no such letter here\n?"
    assert ifeval.check(response, UNDECIDABLE, {"n": 3}).value is False
    verdict = ifeval.check(response, UNDECIDABLE, {"n": 3}, mode="loose")
    assert (verdict.status, verdict.value) == ("ok", False)


def test_hostile_follows_all_an_undecidable_cannot_hide_an_instruction_not_followed(undecidable):
    ids, kwargs = [UNDECIDABLE, "punctuation:no_comma"], [{"n": 3}, {}]
    failing = ifeval.follows_all("? xxx, x", ids, kwargs)  # a comma, whatever the other
    assert (failing.status, failing.value, failing.detail["followed"]) == ("ok", False, [None, False])
    honest = ifeval.follows_all("? xxx", ids, kwargs)
    assert honest.status == "na" and "cannot be decided" in honest.reason


def test_ifeval_checks_do_not_import_the_ifbench_families():
    # ifbench's families cost ~0.2 s to import (emoji, syllapy): only an IFBench id pays it
    code = ("import sys; from skilldsl.verifiers import ifeval; "
            "assert ifeval.check('a b', 'punctuation:no_comma', {}).value is True; "
            "assert ifeval.check('a b', 'length_constraints:number_words', "
            "{'num_words': 2, 'relation': 'at least'}).value is True; "
            "assert 'skilldsl.verifiers.ifbench' not in sys.modules; "
            "assert ifeval.instruction_for('count:numbers') is not None")
    subprocess.run([sys.executable, "-c", code], check=True)


def _skill(backend):
    return Skill(skilldsl.compile(skilldsl.stock_skill("instruction_following")), backend=backend)


def test_skill_decides_a_precise_if_row_by_verifier_and_judges_only_unchecked_ids():
    fake = FakeBackend(choices={"Instruction:": "yes"})
    row = {"prompt": PROMPT + " Also be nice.", "response": "x x x, kindly",
           "instruction_id_list": [FAKE, "no_such:instruction"]}  # no kwargs: RB2 Precise IF
    result = _skill(fake).score([row])[0]
    by_wording = result.trace["follows_by_wording"].detail["items"]
    assert by_wording[0]["value"] is True and by_wording[0]["kwargs_derived"] == {"n": 3}
    judged = result.trace["judged"].detail["items"]
    assert judged[0]["skipped"] == "when: false" and judged[1]["status"] == "ok"
    assert fake.batch_sizes() == [1] and "no_such:instruction" in fake.prompts()[0]
    assert result.reward == pytest.approx((1.0 + 0.9) / 2)


def test_skill_precise_if_row_violating_gets_zero_without_the_judge():
    fake = FakeBackend(choices={"Instruction:": "yes"})
    row = {"prompt": PROMPT, "response": "no such letter", "instruction_id_list": [FAKE]}
    result = _skill(fake).score([row])[0]
    assert (result.status, result.reward) == ("ok", 0.0)
    assert fake.batch_sizes() == []


# -- skilldsl convert ifbench ----------------------------------------------------------------
FIX = Path(__file__).parent / "fixtures" / "eval" / "ifbench"


def _jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_convert_ifbench_joins_responses_on_the_stripped_prompt():
    inputs, answers = _jsonl(FIX / "IFBench_test.jsonl"), _jsonl(FIX / "sample_output.jsonl")
    assert [a["prompt"] == r["prompt"] for a, r in zip(answers, inputs)] == [False, False]  # trailing space
    samples, skipped = convert_samples("ifbench", FIX)
    assert skipped == [] and [s["id"] for s in samples] == ["0", "1"]
    for row, answer, sample in zip(inputs, answers, samples):
        assert sample == {"id": row["key"], "prompt": row["prompt"], "response": answer["response"],
                          "instruction_id_list": row["instruction_id_list"], "kwargs": row["kwargs"]}


def test_convert_ifbench_skips_a_prompt_without_response_and_needs_a_responses_file(tmp_path):
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps(_jsonl(FIX / "sample_output.jsonl")[1]) + "\n", encoding="utf-8")
    samples, skipped = convert_samples("ifbench", FIX / "IFBench_test.jsonl", responses=answers)
    assert [s["id"] for s in samples] == ["1"]
    assert [(s.row, s.reason) for s in skipped] == [("IFBench_test.jsonl:1", "no response for this prompt in the responses file")]
    (tmp_path / "IFBench_test.jsonl").write_bytes((FIX / "IFBench_test.jsonl").read_bytes())
    with pytest.raises(EvalError, match="--responses FILE"):
        convert_samples("ifbench", tmp_path)


def test_convert_ifbench_cli(tmp_path, capsys):
    out = tmp_path / "ifbench.jsonl"
    assert main(["convert", "ifbench", str(FIX), "-o", str(out)]) == 0
    assert [s["id"] for s in _jsonl(out)] == ["0", "1"]
    assert "wrote 2 ifbench samples" in capsys.readouterr().err


def test_a_hostile_megabyte_is_stopped_by_the_worker_timeout_and_short_responses_stay_in_process():
    # "a. " * 333k keeps the sentence splitter busy for tens of seconds in loose mode: in the
    # caller's process nothing could stop it, so a long response goes to a worker under its timeout
    from skilldsl.verifiers import get
    from skilldsl.verifiers.ifeval import IN_PROCESS_CHARS
    from skilldsl.verifiers.pool import WorkerPool, run_verifiers

    spec = get("ifeval.follows")
    hostile = "a. " * 333_334
    kwargs = {"word": "a", "N": 2}
    assert spec.try_fast("short and sweet.", "sentence:keyword", kwargs=kwargs) is not None  # decided here
    assert spec.try_fast(hostile, "sentence:keyword", kwargs=kwargs) is None  # left to a worker
    assert len(hostile) > IN_PROCESS_CHARS
    with WorkerPool(1, warm=()) as pool:
        (verdict,) = run_verifiers([(spec, (hostile, "sentence:keyword"), {"kwargs": kwargs, "mode": "loose"})],
                                   timeout=1.0, pool=pool)
    assert verdict.status == "error" and "timeout" in verdict.reason
