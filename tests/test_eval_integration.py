"""The real compiler and runtime under ``skilldsl eval``: the stock pairwise judge with the
runtime's scripted backend (no model), on the OpenRS fixture."""
import re
from pathlib import Path

import pytest

import skilldsl
from skilldsl.eval import JudgeOptions, run_eval
from skilldsl.eval.fake import marker_quality
from skilldsl.runtime.backends.fake import FakeBackend

FIX = Path(__file__).parent / "fixtures" / "eval"
_SECTIONS = re.compile(r"# Response A\n(.*?)\n# Response B\n(.*?)\n", re.S)


def better_of_a_and_b(prompt: str, options: list):
    """Answer "A" or "B" by the {score} markers of the two responses in the prompt."""
    a, b = _SECTIONS.search(prompt).groups()
    return "A" if marker_quality(a) > marker_quality(b) else "B"


def test_stock_pairwise_judge_through_eval():
    backend = FakeBackend(choices=better_of_a_and_b)
    skill = skilldsl.load("pairwise_judge", backend=backend)
    run = run_eval(skill, FIX / "openrs.jsonl", options=JudgeOptions(seed=1), progress=False)
    s = run.summary
    assert s["reward_id"] == skill.reward_id and s["mode"] == "pairwise"
    assert (s["n"], s["errors"], s["accuracy"]) == (2, 0, 1.0)
    assert all(r["evidence"]["judge"]["ok"] == 1 for r in run.records)
    assert s["skipped"]["count"] == 1


def test_a_list_ground_truth_means_any_of_these_through_reward_judge():
    # JudgeBench row 65: gold [I, J], the chosen answer says J, the rejected A: the reference
    # decides for the chosen, the judge is not asked. Row 18: gold [D, J], the chosen says J,
    # the rejected D: both are among the gold answers, so the reference cannot decide and the
    # judge does. (Both rows were skipped when a list could not be a reference.)
    backend = FakeBackend(choices=lambda prompt, options: options[0])
    skill = skilldsl.load("reward_judge", backend=backend)
    run = run_eval(skill, FIX / "judgebench" / "openrs_judgebench_gpt.jsonl", options=JudgeOptions(seed=1),
                   progress=False)
    assert run.summary["skipped"]["count"] == 0
    decided, judged = run.records
    assert (decided["status"], decided["value"], decided["evidence"]["judge"]["skipped"]) == ("ok", 1, 1)
    assert judged["status"] == "ok" and judged["evidence"]["judge"]["ok"] == 1
    assert judged["evidence"]["a_math"]["ok"] == judged["evidence"]["b_math"]["ok"] == 1


def test_the_reference_verifiers_read_a_list_as_alternatives():
    from skilldsl.runtime.inputs import validate_sample
    from skilldsl.verifiers.math import equivalent
    from skilldsl.verifiers.reference import AnyOf, choice, match

    spec = {"reference": {"type": "text", "visibility": "reference"}}
    reference = validate_sample({"reference": ["I", "J"]}, spec)["reference"].value
    assert isinstance(reference, AnyOf) and reference == "I or J"  # text to every expression and template
    assert choice("The answer is JJJJJ.", reference).value is True
    assert choice("The answer is AAAAA.", reference).value is False
    assert choice("I cannot tell.", reference).is_na  # no option chosen: undecided, as for one letter
    assert equivalent("So x = 7.", AnyOf(["6", "7"])).value is True
    assert equivalent("So x = 8.", AnyOf(["6", "7"])).value is False
    assert match("Paris", AnyOf(["Lyon", "paris"])).value is True
    assert validate_sample({"reference": ["only"]}, spec)["reference"].value == "only"
    with pytest.raises(ValueError, match="non-empty list of texts"):
        validate_sample({"reference": []}, spec)
    with pytest.raises(ValueError, match="must be text"):  # only reference inputs take alternatives
        validate_sample({"reference": ["I", "J"]}, {"reference": {"type": "text"}})
