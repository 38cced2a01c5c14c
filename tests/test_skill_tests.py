"""Tests inside skills (``tests:``) and ``skilldsl test``.

- Every stock skill carries tests, hostile responses among them, and they pass from a fresh
  checkout: CI runs ``skilldsl test skills/*.skill`` here.
- The runner can fail: a wrong expectation exits 1 and says expected vs got; the stock tests
  against forged chat turns and position bias fail once the defence they stand for is removed.
- Changing only tests keeps the reward id; a ``.skillc`` carries and runs its tests.
- Each mistake in a ``tests:`` section is a located build error (exit 2 from ``skilldsl test``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from skilldsl.cli import main
from skilldsl.compiler import compile_file, compile_source
from skilldsl.errors import SkillError
from skilldsl.testing import TestOutcome, run_tests

ROOT = Path(__file__).resolve().parent.parent
SKILLS = ROOT / "skills"
STOCK = sorted(SKILLS.glob("*.skill"))
CODE = {"code_tests", "code_io"}  # their tests run programs in the sandbox, which needs Linux
RUNNABLE = [p for p in STOCK if p.stem not in CODE or sys.platform.startswith("linux")]


# -- the stock skills ---------------------------------------------------------------------

def test_every_stock_skill_passes_its_tests(capsys) -> None:
    assert main(["test", *map(str, RUNNABLE)]) == 0
    out = capsys.readouterr().out
    assert "failed" not in out and " passed in " in out
    for path in RUNNABLE:
        assert f"{path} ." in out, out  # a line of dots per skill: none without tests


@pytest.mark.parametrize("path", STOCK, ids=lambda p: p.stem)
def test_every_stock_skill_tests_hostile_and_empty_responses(path: Path) -> None:
    tests = compile_file(path).doc.get("tests") or []
    names = " | ".join(t["name"] for t in tests)
    assert len(tests) >= 5, names
    assert "empty" in names, names
    assert any(word in names for word in ("forged", "flatter")), names
    hostile = [t for t in tests if any(w in t["name"] for w in ("forged", "flatter", "empty"))]
    assert all(t["expect"].get("reward") or t["expect"].get("scores") for t in hostile), \
        "each hostile test states the reward honest behaviour earns"


def test_forged_chat_turn_tests_fail_when_control_tokens_reach_the_judge(monkeypatch) -> None:
    """The stock tests against a forged turn are not vacuous: with the sample's control-token
    spellings left intact (as a backend without neutralising would send them) the scripted
    gullible judge is fooled and the tests fail."""
    monkeypatch.setattr("skilldsl.runtime.backends.fake.neutralise", lambda text: text)
    for name in ("math_answer", "pairwise_judge"):
        outcomes = run_tests(SKILLS / f"{name}.skill", keyword="forged chat turn")
        assert len(outcomes) == 1 and not outcomes[0].passed, name
        assert outcomes[0].failures[0].startswith("reward: expected"), outcomes[0].failures


def test_position_bias_tests_fail_without_swap(tmp_path: Path) -> None:
    """pairwise_judge's tests of position bias and positional flattery hold because of `swap`."""
    source = (SKILLS / "pairwise_judge.skill").read_text(encoding="utf-8")
    assert source.count("    swap: true\n") == 1
    copy = tmp_path / "pairwise_judge.skill"
    copy.write_text(source.replace("    swap: true\n", "    swap: false\n"), encoding="utf-8")
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "pairwise.md").write_text((SKILLS / "rubrics" / "pairwise.md").read_text())
    failed = {o.name for o in run_tests(copy) if not o.passed}
    assert {"a pure position bias cancels out to 0.5",
            "flattery a judge obeys by position gains nothing over a coin flip"} <= failed


# -- the runner ---------------------------------------------------------------------------

def _skill_with_tests(tmp_path: Path, tests: str, name: str = "t.skill") -> Path:
    path = tmp_path / name
    path.write_text(BASE + tests, encoding="utf-8")
    return path


BASE = """\
skill: t
mode: pointwise
inputs:
  prompt: text
  response: text
  reference: {type: text, optional: true, visibility: reference}
evidence:
  matches:
    check: math.equivalent(response, reference)
  judge:
    ask: {user: "Problem: {{ prompt }} Solution: {{ response }} Correct?"}
    answer: choice(yes, no)
reward: matches if known(matches) else p(judge, "yes")
"""

GOOD = """\
tests:
  - name: wrong answer
    sample: {prompt: "2+2?", response: "The answer is 5.", reference: "4"}
    expect: {reward: 0, decided_by: matches, not_asked: judge}
  - name: judged
    sample: {prompt: "2+2?", response: "The answer is 4."}
    judge: {choices: {"The answer is 4.": "yes"}, default_choice: "no"}
    expect: {reward: [0.85, 0.95], status: ok, decided_by: judge}
"""


def test_a_wrong_expectation_fails_with_exit_1(tmp_path: Path, capsys) -> None:
    path = _skill_with_tests(tmp_path, GOOD.replace("expect: {reward: 0,", "expect: {reward: 1,"))
    assert main(["test", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path} F." in out
    assert f"{path}:15" in out                       # where the failing test is
    assert "reward: expected 1, got 0" in out
    assert "matches (check): False" in out           # the evidence trace
    assert "1 failed, 1 passed" in out


def test_each_expectation_can_fail(tmp_path: Path) -> None:
    wrong = """\
tests:
  - name: all wrong
    sample: {prompt: "2+2?", response: "The answer is 5.", reference: "4"}
    judge: {default_choice: "no"}
    expect: {reward: [0.5, 1], status: na, decided_by: judge, not_asked: matches}
"""
    path = _skill_with_tests(tmp_path, wrong.replace("status: na, ", ""))
    (outcome,) = run_tests(path)
    assert outcome.failures == [
        "reward: expected [0.5, 1], got 0",
        "decided_by judge: expected a value, got skipped (not needed)",
        "not_asked matches: it ran (ok False)",
    ]
    status_only = wrong.replace("expect: {reward: [0.5, 1], status: na, decided_by: judge, not_asked: matches}",
                                "expect: {status: na}")
    (outcome,) = run_tests(_skill_with_tests(tmp_path, status_only, "u.skill"))
    assert outcome.failures == ["status: expected na, got ok"]


def test_passing_tests_and_the_api(tmp_path: Path) -> None:
    outcomes = run_tests(_skill_with_tests(tmp_path, GOOD))
    assert [(o.name, o.passed, o.line) for o in outcomes] == [("wrong answer", True, 15), ("judged", True, 18)]
    assert isinstance(outcomes[0], TestOutcome) and outcomes[1].result.reward == pytest.approx(0.9)


def test_k_selects_tests_and_no_tests_exit_5(tmp_path: Path, capsys) -> None:
    path = _skill_with_tests(tmp_path, GOOD)
    assert main(["test", str(path), "-k", "JUDGED", "-v"]) == 0
    assert f"{path}::judged PASSED" in capsys.readouterr().out
    assert main(["test", str(path), "-k", "nothing like this"]) == 5
    bare = _skill_with_tests(tmp_path, "", "bare.skill")
    assert main(["test", str(bare)]) == 5
    out = capsys.readouterr().out
    assert f"{bare}: no tests" in out and "no tests ran" in out
    assert main(["test", str(bare), str(path)]) == 0  # a skill without tests among others: noted, not failed


def test_a_build_error_exits_2_and_the_other_skills_still_run(tmp_path: Path, capsys) -> None:
    bad = _skill_with_tests(tmp_path, GOOD.replace("decided_by: matches", "decided_by: matchs"), "bad.skill")
    good = _skill_with_tests(tmp_path, GOOD)
    assert main(["test", str(bad), str(good)]) == 2
    captured = capsys.readouterr()
    assert f"{bad}:17:" in captured.err and "'matchs' is not an evidence" in captured.err
    assert f"{good} .." in captured.out
    assert main(["test", str(tmp_path / "missing.skill")]) == 2


def test_a_real_backend_ignores_the_scripts(tmp_path: Path, capsys) -> None:
    """--backend: every test is scored by that backend; here the fake's defaults (yes, 0.9) are
    not the scripted no, so the test that relied on its script fails."""
    path = _skill_with_tests(tmp_path, GOOD.replace('"The answer is 4.": "yes"', '"The answer is 4.": "no"')
                             .replace("[0.85, 0.95]", "[0.05, 0.15]"))
    assert main(["test", str(path)]) == 0
    assert main(["test", str(path), "--backend", "fake"]) == 1
    assert "reward: expected [0.05, 0.15], got 0.9" in capsys.readouterr().out


def test_a_skillc_carries_and_runs_its_tests(tmp_path: Path, capsys) -> None:
    assert main(["build", str(SKILLS / "math_answer.skill"), "-o", str(tmp_path)]) == 0
    assert main(["test", str(tmp_path / "math_answer.skillc")]) == 0
    assert "8 passed" in capsys.readouterr().out


# -- the reward id ------------------------------------------------------------------------

def test_changing_only_tests_keeps_the_reward_id(tmp_path: Path) -> None:
    without = compile_source(BASE, base_dir=tmp_path)
    with_tests = compile_source(BASE + GOOD, base_dir=tmp_path)
    edited = compile_source(BASE + GOOD.replace("reward: 0,", "reward: 1,"), base_dir=tmp_path)
    assert "tests" not in without.doc and with_tests.doc["tests"] != edited.doc["tests"]
    assert without.reward_id == with_tests.reward_id == edited.reward_id
    changed = compile_source(BASE.replace("Correct?", "Right?") + GOOD, base_dir=tmp_path)
    assert changed.reward_id != with_tests.reward_id  # the reward's own text still counts


def test_the_stock_reward_ids_do_not_depend_on_their_tests() -> None:
    source = (SKILLS / "math_answer.skill").read_text(encoding="utf-8")
    stripped = source.split("\ntests:\n", 1)[0] + "\n"
    assert compile_source(stripped, base_dir=SKILLS).reward_id == compile_file(SKILLS / "math_answer.skill").reward_id


# -- build-time checks ----------------------------------------------------------------------

def _errors(tests: str, base: str = BASE) -> list[str]:
    with pytest.raises(SkillError) as info:
        compile_source(base + tests, file="t.skill")
    return [f"{d.span.line}:{d.span.col}: {d.message}" for d in info.value.diagnostics]


def _one(**fields: str) -> str:
    spec = {"name": "n", "sample": '{prompt: "p", response: "r"}', "expect": "{reward: 1}", **fields}
    lines = [f"  - name: {spec.pop('name')}"] + [f"    {k}: {v}" for k, v in spec.items()]
    return "tests:\n" + "\n".join(lines) + "\n"


@pytest.mark.parametrize("fields, where, message", [
    ({"sample": '{prompt: "p", respons: "r"}'}, "16:5", "test 'n': the sample misses required input(s) response"),
    ({"sample": '{prompt: "p", respons: "r"}'}, "16:27", "test 'n': 'respons' is not an input of this skill "
                                                         "(did you mean 'response'?)"),
    ({"sample": '{prompt: "p", response: 4}'}, "16:5", "test 'n': the runtime would refuse this sample: "
                                                       "field 'response' must be text"),
    ({"expect": "{reward: [1, 0]}"}, "17:14", "test 'n': the reward range [1, 0] is empty"),
    ({"expect": "{decided_by: [judge, matchs]}"}, "17:34", "test 'n': 'matchs' is not an evidence of this skill"),
    ({"expect": "{not_asked: jduge}"}, "17:25", "test 'n': 'jduge' is not an evidence of this skill "
                                                 "(did you mean 'judge'?)"),
    ({"expect": '{not_asked: "judge[0]"}'}, "17:25", "test 'n': 'judge[0]' indexes 'judge', which is neither"),
    ({"expect": '{not_asked: "judge["}'}, "17:25", "'judge[' is not an evidence name or name[i]"),
    ({"expect": "{decided_by: judge, not_asked: judge}"}, "17:33", "test 'n': 'judge' cannot both decide"),
    ({"expect": "{status: na, reward: 0}"}, "17:26", "test 'n': a result with status na has no reward"),
    ({"expect": "{best: 0}"}, "17:14", "test 'n': 'best' is for listwise skills"),
    ({"judge": '{choices: {"Solution": "Yes"}}'}, "18:35", "test 'n': 'Yes' is not a label of any choice in this "
                                                            "skill (did you mean 'yes'?)"),
    ({"judge": '{choices: {"Solution": [0.2, 0.3, 0.5]}}'}, "18:35", "test 'n': 3 probabilities, but the choices"),
    ({"judge": '{choices: {"Solution": {maybe: 1}}}'}, "18:35", "test 'n': no choice of this skill has all"),
    ({"judge": '{texts: {"Solution": "yes"}}'}, "18:13", "test 'n': texts: no evidence of this skill generates"),
    ({"judge": "{confidence: 2}"}, "18:25", "tests[0].judge.confidence must be at most 1"),
    ({"judge": "{choice: {}}"}, "18:13", "unknown key 'choice' in tests[0].judge (did you mean 'choices'?)"),
    ({"expect": "{}"}, "17:5", "test 'n': expect: checks nothing"),
])
def test_mistakes_in_tests_are_located(fields: dict, where: str, message: str) -> None:
    found = _errors(_one(**fields))
    assert any(e.startswith(f"{where}: {message}") for e in found), found


def test_duplicate_test_names_are_located() -> None:
    found = _errors(_one() + _one()[len("tests:\n"):])
    assert "18:5: test name 'n' is used twice (first at line 15); each test needs its own name" in found


def test_a_malformed_sample_is_allowed_when_the_test_expects_an_error() -> None:
    program = compile_source(BASE + _one(sample="{prompt: 1}", expect="{status: error}"), file="t.skill")
    (outcome,) = run_tests(program)
    assert outcome.passed and outcome.result.reason == "field 'prompt' must be text, got number"


def test_a_judge_script_for_a_skill_without_a_judge_is_refused() -> None:
    verifier_only = BASE.replace('p(judge, "yes")', "0").split("  judge:\n")[0] + \
        'reward: matches if known(matches) else 0\n'
    found = _errors(_one(judge='{default_choice: "yes"}'), verifier_only)
    assert any("this skill asks no judge, so judge: would script nothing" in e for e in found), found


def test_the_language_docs_example_tests_pass() -> None:
    """docs/language.md's examples with a tests: section compile (test_compiler_docs) and pass."""
    import re

    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"(<!-- error: [^\n]*-->\n)?```yaml\n(.*?)```", text, re.S)
              if not b[0] and "\ntests:\n" in b[1]]
    assert blocks
    for _, body in blocks:
        outcomes = run_tests(compile_source(body, "language-md.skill", SKILLS))
        assert outcomes and all(o.passed for o in outcomes), [(o.name, o.failures) for o in outcomes]
