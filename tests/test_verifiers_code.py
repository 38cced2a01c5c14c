"""``code.passes`` (HumanEval style) and ``run`` evidence over the sandbox.

The fixture problem is HumanEval/0 (``has_close_elements``) from openai/human-eval
(``data/HumanEval.jsonl.gz`` @ 6d43fb980f9f, MIT), trimmed to three asserts.
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from skilldsl.sandbox import Limits, build_program, extract_code, run_skill_code, run_skill_code_many, value_verdict
from skilldsl.verifiers import registry
from skilldsl.verifiers.code import passes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox needs Linux")

PROMPT = '''from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    """ Check if in given list of numbers, are any two numbers closer to each other than
    given threshold.
    """
'''
SOLUTION = """    for idx, elem in enumerate(numbers):
        for idx2, elem2 in enumerate(numbers):
            if idx != idx2 and abs(elem - elem2) < threshold:
                return True
    return False
"""
TEST = """

def check(candidate):
    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3) == True
    assert candidate([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.05) == False
    assert candidate([1.1, 2.2, 3.1, 4.1, 5.1], 1.0) == True
"""
ENTRY = "has_close_elements"
FULL_DEF = PROMPT.split("\n\n\n", 1)[1] + SOLUTION
HUMANEVAL = Path(__file__).resolve().parents[2] / "shared" / "bench" / "humaneval" / "HumanEval.jsonl.gz"


def check(response: str, **kwargs):
    return passes(response, TEST, ENTRY, prompt=PROMPT, **kwargs)


def test_registered_with_the_contract_params():
    spec = registry.get("code.passes")
    assert spec is not None and spec.isolate is False
    shape = [(p.name, p.type, None if p.required else p.default) for p in spec.params]
    assert shape == [
        ("response", "text", None), ("test", "text", None), ("entry_point", "text", None),
        ("prompt", "text", ""), ("timeout", "number", 10),
    ]
    assert spec.call(SOLUTION, TEST, ENTRY, prompt=PROMPT).value is True


def test_body_completion_passes_and_empty_body_fails():
    good = check(SOLUTION)
    assert (good.status, good.value) == ("ok", True)
    assert good.detail["status"] == "passed"
    empty = check("    pass\n")
    assert (empty.status, empty.value) == ("ok", False)
    assert "AssertionError" in empty.detail["output"]


def test_wrong_solution_fails_with_its_output():
    verdict = check("    return numbers[0] > threshold\n")
    assert verdict.value is False
    assert "AssertionError" in verdict.detail["output"] and verdict.detail["exit_code"] == 1


def test_full_definition_is_not_doubled_and_keeps_the_preamble():
    program = build_program(FULL_DEF, TEST, ENTRY, PROMPT)
    assert program.count(f"def {ENTRY}(") == 1
    assert program.startswith("from typing import List")
    assert check(FULL_DEF).value is True


def test_fenced_response_is_unwrapped():
    fenced = f"Here you go:\n```python\n{FULL_DEF}```\nIt loops over pairs."
    assert extract_code(fenced, ENTRY) == FULL_DEF
    assert check(fenced).value is True
    two_blocks = f"```\nprint('usage')\n```\n```py\n{FULL_DEF}```"
    assert extract_code(two_blocks, ENTRY) == FULL_DEF
    assert extract_code("no fences here") == "no fences here"


def test_early_exit_does_not_pass():
    for cheat in ("    import sys; sys.exit(0)\n", "    import os; os._exit(0)\n"):
        # The call to check() exits with 0 before the asserts complete.
        verdict = check(cheat)
        assert verdict.value is False, cheat
    top_level = check(FULL_DEF.replace("    return False\n", "    return False\nimport sys\nsys.exit(0)\n"))
    assert top_level.value is False
    assert "exited before" in top_level.detail["reason"]


def test_hostile_completions_fail_within_limits():
    loop = check("    while True:\n        pass\n", timeout=1)
    assert loop.value is False and loop.detail["limit"] == "wall"
    assert loop.detail["seconds"] < 3
    crash = check("    import ctypes\n    ctypes.string_at(0)\n")
    assert crash.value is False and crash.detail["status"] == "crashed"


def test_bad_arguments_are_errors_not_false():
    assert passes(None, TEST, ENTRY).status == "error"
    assert passes(SOLUTION, TEST, "not an identifier", prompt=PROMPT).status == "error"
    assert passes(SOLUTION, TEST, ENTRY, prompt=PROMPT, timeout=-1).status == "error"
    assert passes(b"\xff".decode("latin-1") * 3, TEST, ENTRY, prompt=PROMPT).value is False


def test_megabyte_and_undecodable_responses_get_a_verdict():
    long = check(SOLUTION + "# " + "x" * 2_000_000 + "\n")
    assert (long.status, long.value) == ("ok", True)
    garbled = check(b"    return \xff\xfe\n".decode("utf-8", errors="surrogateescape"))
    assert (garbled.status, garbled.value) == ("ok", False)
    assert "UnicodeEncodeError" in garbled.detail["output"]  # compile() refuses lone surrogates


def test_run_code_result_global_and_last_json_line():
    assert run_skill_code("result = len(response) > 3", {"response": "hello"}).value is True
    printed = run_skill_code("print('debug')\nprint(0.25)\nprint('done')", {})
    assert (printed.status, printed.value) == ("ok", 0.25)
    structured = run_skill_code("import json\nprint(json.dumps({'score': 1}))", {})
    assert structured.value == {"score": 1}


def test_run_code_inputs_are_data_not_source():
    tricky = '"); import os; os._exit(3); ("'
    verdict = run_skill_code("result = response == expected", {"response": tricky, "expected": tricky})
    assert verdict.value is True
    from_file = run_skill_code("import json\nresult = json.load(open('inputs.json'))['n'] / 10", {"n": 5})
    assert from_file.value == 0.5


def test_run_code_bad_values_and_failures_are_errors():
    assert run_skill_code("result = 3", {}).status == "error"
    assert run_skill_code("result = float('nan')", {}).status == "error"
    assert run_skill_code("result = None", {}).status == "na"
    assert run_skill_code("x = 1", {}).status == "error"
    assert run_skill_code("result = object()", {}).status == "error"
    crashed = run_skill_code("raise ValueError('bad sample')", {})
    assert crashed.status == "error" and "ValueError: bad sample" in crashed.detail["output"]
    slow = run_skill_code("while True:\n    pass", {}, {"timeout": 1})
    assert slow.status == "error" and "timeout" in slow.reason
    assert run_skill_code("result = 1", {"x": object()}).status == "error"
    assert run_skill_code("result = 1", {}, {"bogus": 1}).status == "error"


def test_run_code_many_in_order():
    payloads = [(f"result = n == {i}", {"n": i % 2}, {"timeout": 5}) for i in range(4)]
    payloads.append(("while True:\n    pass", {}, {"timeout": 1}))
    verdicts = run_skill_code_many(payloads, workers=3)
    assert [v.value for v in verdicts[:4]] == [True, True, False, False]
    assert verdicts[4].status == "error"


def test_value_verdict_rules():
    assert value_verdict(True).value is True
    assert value_verdict(1).value == 1.0 and value_verdict(0).value == 0.0
    assert value_verdict(1.5).status == "error"
    assert value_verdict([1, 2]).value == [1, 2]
    assert value_verdict(None).status == "na"


@pytest.mark.skipif(not HUMANEVAL.exists(), reason="optional cross-check: ../shared/bench not present")
def test_humaneval_sample_canonical_pass_empty_fail():
    with gzip.open(HUMANEVAL, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh][:: 41]  # 4 problems spread over the set
    for row in rows:
        args = (row["test"], row["entry_point"])
        assert passes(row["canonical_solution"], *args, prompt=row["prompt"]).value is True, row["task_id"]
        assert passes("    pass\n", *args, prompt=row["prompt"]).value is False, row["task_id"]


def test_limits_override():
    from skilldsl.sandbox import check_program

    verdict = check_program(SOLUTION, TEST, ENTRY, prompt=PROMPT, limits=Limits(timeout=5, memory_mb=64))
    assert verdict.value is True  # 64 MB is enough for the interpreter and this program
    starved = check_program(SOLUTION, TEST, ENTRY, prompt=PROMPT, limits=Limits(timeout=5, memory_mb=8))
    assert starved.value is False
