"""``code.passes`` (HumanEval style), ``code.io_passes`` (stdin/stdout) and ``run`` evidence.

The fixture problem is HumanEval/0 (``has_close_elements``) from openai/human-eval
(``data/HumanEval.jsonl.gz`` @ 6d43fb980f9f, MIT), trimmed to three asserts; the stdin/stdout
problems are ``tests/fixtures/code_io`` (written for these tests). Attacks on the signals are in
``tests/test_code_forgery.py``.
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from skilldsl.sandbox import (
    Limits, build_program, compare_output, extract_code, run_skill_code, run_skill_code_many, value_verdict,
)
from skilldsl.verifiers import registry
from skilldsl.verifiers.code import io_passes, passes

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
    assert spec.version == "2"
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
        # The candidate exits with 0 in its first call, before the asserts complete.
        verdict = check(cheat)
        assert verdict.value is False, cheat
        assert "exited with status 0 before the tests finished" in verdict.detail["reason"]
    top_level = check(FULL_DEF.replace("    return False\n", "    return False\nimport sys\nsys.exit(0)\n"))
    assert top_level.value is False
    assert "exited with status 0 before the tests finished" in top_level.detail["reason"]


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


def test_run_code_value_is_the_result_global_never_stdout():
    assert run_skill_code("result = len(response) > 3", {"response": "hello"}).value is True
    printed = run_skill_code("print('debug')\nprint(0.25)\nprint('done')", {})
    assert printed.status == "error" and "set no `result`" in printed.reason
    structured = run_skill_code("print('{\"score\": 1}')\nresult = {'score': 0}", {})
    assert structured.value == {"score": 0}


def test_run_code_that_does_not_finish_takes_on_failure():
    for code in ("raise ValueError('wrong')", "import os\nos._exit(0)", "import sys\nsys.exit(0)",
                 "x = 1", "while True:\n    pass"):
        unset = run_skill_code(code, {}, {"timeout": 1})
        assert unset.status == "error" and unset.reason.startswith("run: "), code
        mapped = run_skill_code(code, {}, {"timeout": 1}, False)
        assert (mapped.status, mapped.value) == ("ok", False), code
        assert mapped.detail["failure"], code
    assert run_skill_code("result = 0.5", {}, None, False).value == 0.5  # finished: its own value


def test_infrastructure_failure_is_an_error_even_with_on_failure(monkeypatch):
    from skilldsl.sandbox import SandboxResult
    from skilldsl.sandbox import code as sandbox_code

    broken = SandboxResult(status="error", reason="sandbox setup failed: no namespaces")
    monkeypatch.setattr(sandbox_code, "run", lambda *a, **k: broken)
    verdict = run_skill_code("result = True", {}, None, False)
    assert verdict.status == "error" and "sandbox setup failed" in verdict.reason


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
    odd = run_skill_code("result = object()", {}, None, False)
    assert odd.status == "error" and "not plain data" in odd.reason  # the author's bug, not a failure
    crashed = run_skill_code("raise ValueError('bad sample')", {})
    assert crashed.status == "error" and "ValueError: bad sample" in crashed.detail["output"]
    slow = run_skill_code("while True:\n    pass", {}, {"timeout": 1})
    assert slow.status == "error" and "timeout" in slow.reason
    assert run_skill_code("result = 1", {"x": object()}).status == "error"
    assert run_skill_code("result = 1", {}, {"bogus": 1}).status == "error"


def test_run_code_many_in_order():
    payloads = [(f"result = n == {i}", {"n": i % 2}, {"timeout": 5}) for i in range(4)]
    payloads.append(("while True:\n    pass", {}, {"timeout": 1}))
    payloads.append(("while True:\n    pass", {}, {"timeout": 1}, 0.0))
    verdicts = run_skill_code_many(payloads, workers=3)
    assert [v.value for v in verdicts[:4]] == [True, True, False, False]
    assert verdicts[4].status == "error" and (verdicts[5].status, verdicts[5].value) == ("ok", 0.0)


def test_run_code_result_over_output_bytes_is_a_limit_not_a_forgery():
    code = "result = 'x' * (2 << 20)\n"
    big = run_skill_code(code, {}, {"timeout": 5}, False)
    assert (big.status, big.value) == ("ok", False)
    assert "larger than" in big.detail["failure"] and "result pipe" not in big.detail["failure"], big.detail
    strict = run_skill_code(code, {}, {"timeout": 5})
    assert strict.status == "error" and "larger than" in strict.reason
    assert run_skill_code("result = 'x' * (1 << 19)\n", {}, {"timeout": 5}).value == "x" * (1 << 19)


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
    assert starved.status == "error"  # too little to start the harness: the skill's limits are wrong
    assert "memory_mb=8 is too small" in starved.reason, starved.reason  # decided before any code runs


def test_tests_the_harness_cannot_read_are_an_error_not_a_failure():
    """The harness reads the sealed tests itself: tests over the frame cap, or more than its memory
    limit holds, are the problem's or the limits' fault; a correct solution gets an error, not
    ok(False) (the harness's report could not be signed and was taken for a forgery)."""
    from skilldsl.sandbox import _candidate, check_program

    pad = "# pad\n"
    over_cap = check_program(SOLUTION, TEST + pad * (_candidate._FRAME_CAP // len(pad)), ENTRY, prompt=PROMPT)
    assert over_cap.status == "error" and "larger than" in over_cap.reason, over_cap
    big = TEST + pad * ((32 << 20) // len(pad))
    starved = check_program(SOLUTION, big, ENTRY, prompt=PROMPT, limits=Limits(timeout=10, memory_mb=40))
    assert starved.status == "error" and "could not read" in starved.reason, (starved.reason, starved.detail)


def test_one_problem_is_prepared_once_for_many_responses():
    from skilldsl.sandbox import code

    code._tests_prompt.cache_clear()
    for body in (SOLUTION, "    return False\n", "    return True\n"):
        check(body)
    info = code._tests_prompt.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_every_result_says_its_isolation_level():
    from skilldsl.sandbox import isolation_level

    for verdict in (check(SOLUTION), io_passes("print(1)", ["\n"], ["1\n"]), run_skill_code("result = True", {}),
                    passes("def add(a, b):\n    return a + b\n", "def check(candidate):\n    assert candidate(1, 2) == 3\n",
                           "add", prompt="x = (\ndef add(a, b):\n")):  # the shared fallback
        assert verdict.detail["isolation_level"] == isolation_level(verdict.detail["isolation"]) != "none", verdict


# -- where the tests run, and the fallback ---------------------------------------------------------

# After HumanEval/32 (openai/human-eval, MIT), trimmed: the tests call a helper the prompt defines.
POLY_PROMPT = """import math


def poly(xs: list, x: float):
    return sum([coeff * math.pow(x, i) for i, coeff in enumerate(xs)])


def find_zero(xs: list):
    \"\"\" xs are coefficients of a polynomial; return one zero point. \"\"\"
"""
POLY_SOLUTION = """    begin, end = -1., 1.
    while poly(xs, begin) * poly(xs, end) > 0:
        begin *= 2.0
        end *= 2.0
    while end - begin > 1e-10:
        center = (begin + end) / 2.0
        if poly(xs, center) * poly(xs, begin) > 0:
            begin = center
        else:
            end = center
    return begin
"""
POLY_TEST = """
def check(candidate):
    for coeffs in ([1, 2], [-6, 11, -6, 1], [3, -4, 0, 1]):
        solution = candidate(list(coeffs))
        assert math.fabs(poly(coeffs, solution)) < 1e-4
"""


def test_tests_run_apart_and_may_call_the_prompts_helpers():
    good = passes(POLY_SOLUTION, POLY_TEST, "find_zero", prompt=POLY_PROMPT)
    assert (good.value, good.detail["harness"], good.detail["calls"]) == (True, "separate", 3)
    assert passes("    return 0.0\n", POLY_TEST, "find_zero", prompt=POLY_PROMPT).value is False


def test_the_tests_see_the_candidate_under_the_entry_points_name():
    # HumanEval/33's tests compare candidate(x) with sort_third(x): in one program both are the response
    test = "def check(candidate):\n    assert candidate([3, 1], 0.5) == has_close_elements([3, 1], 0.5)\n"
    assert passes("    return len(numbers)\n", test, ENTRY, prompt=PROMPT).value is True


def test_plain_data_crosses_intact():
    prompt = "def echo(x):\n"
    test = ("def check(candidate):\n"
            "    for value in [None, True, 3, -2**200, 1.5, float('inf'), 2j, 'é\\u2028', b'\\x00', [1, (2, 3)],\n"
            "                  {1: {'a': frozenset({4})}}, {5, 6}, (), -0.0]:\n"
            "        out = candidate(value)\n"
            "        assert out == value and type(out) is type(value), (out, value)\n"
            "    assert candidate(x=1) == 1\n"
            "    out = candidate(float('nan'))\n"
            "    assert out != out\n")
    verdict = passes("    return x\n", test, "echo", prompt=prompt)
    assert verdict.value is True, verdict.detail["output"]


def test_exceptions_cross_as_builtin_types_only():
    prompt = "def parse(text):\n"
    test = ("def check(candidate):\n"
            "    try:\n        candidate('x')\n    except ValueError as exc:\n        assert 'bad' in str(exc)\n"
            "    else:\n        raise AssertionError('no error')\n")
    assert passes("    raise ValueError('bad input')\n", test, "parse", prompt=prompt).value is True
    custom = "    class Bad(ValueError):\n        pass\n    raise Bad('bad input')\n"
    assert passes(custom, test, "parse", prompt=prompt).value is False  # arrives as a CandidateError


def test_unsendable_arguments_fall_back_to_the_shared_harness():
    prompt = "def apply(f, x):\n"
    test = "def check(candidate):\n    assert candidate(lambda v: v + 1, 1) == 2\n"
    verdict = passes("    return f(x)\n", test, "apply", prompt=prompt)
    assert (verdict.value, verdict.detail["harness"]) == (True, "shared")
    assert "cannot send" in verdict.detail["fallback"]
    assert passes("    return x\n", test, "apply", prompt=prompt).value is False
    # after a first answer the candidate could steer the tests there: no fallback, an error
    late = "def check(candidate):\n    assert candidate(None, 1) == 1\n    assert candidate(lambda v: v, 2) == 2\n"
    verdict = passes("    return x\n", late, "apply", prompt=prompt)
    assert verdict.status == "error" and "cannot send" in verdict.reason


def test_a_prompt_that_does_not_compile_alone_falls_back_to_the_shared_harness():
    prompt = "def add(a, b):\n"  # no body: only prompt + response compiles
    test = "def check(candidate):\n    assert candidate(1, 2) == 3\n"
    assert passes("    return a + b\n", test, "add", prompt=prompt).detail["harness"] == "separate"  # preamble is ''
    weird = "x = (\ndef add(a, b):\n"
    verdict = passes("def add(a, b):\n    return a + b\n", test, "add", prompt=weird)
    assert verdict.detail["harness"] == "shared" and "does not compile" in verdict.detail["fallback"]


def test_broken_tests_are_errors_not_failures():
    assert passes(SOLUTION, "def check(candidate)\n", ENTRY, prompt=PROMPT).status == "error"
    assert passes(SOLUTION, "x = 1\n", ENTRY, prompt=PROMPT).status == "error"  # no check()
    assert passes(SOLUTION, "import no_such_module\n", ENTRY, prompt=PROMPT).status == "error"


# -- code.io_passes --------------------------------------------------------------------------------

IO_FIXTURE = Path(__file__).parent / "fixtures" / "code_io" / "problems.jsonl"
IO_PROBLEMS = [json.loads(line) for line in IO_FIXTURE.read_text(encoding="utf-8").splitlines()]


def test_io_registered_with_declared_params():
    spec = registry.get("code.io_passes")
    assert spec is not None and spec.concurrent
    shape = [(p.name, p.type, None if p.required else p.default) for p in spec.params]
    assert shape == [("response", "text", None), ("inputs", "list", None), ("outputs", "list", None),
                     ("timeout", "number", 6)]


@pytest.mark.parametrize("problem", IO_PROBLEMS, ids=[p["id"] for p in IO_PROBLEMS])
def test_io_solution_passes_and_wrong_fails(problem):
    args = (problem["inputs"], problem["outputs"])
    good = io_passes(f"```python\n{problem['solution']}```", *args)
    assert good.value is True, good.detail
    bad = io_passes(problem["wrong"], *args)
    assert bad.value is False and bad.detail["reason"].endswith("wrong output")


def test_io_failures_are_false_and_bad_arguments_errors():
    inputs, outputs = ["1\n"], ["1\n"]
    assert io_passes("print(1/0)", inputs, outputs).detail["reason"] == "case 0: failed"
    slow = io_passes("while True:\n    pass", inputs, outputs, timeout=1)
    assert slow.value is False and slow.detail["reason"] == "case 0: timeout"
    assert io_passes("print('x' * 3_000_000)", inputs, outputs).detail["reason"] == "case 0: limit"
    assert io_passes("print(1)", ["1", "2"], ["1"]).status == "error"
    assert io_passes("print(1)", [], []).status == "error"
    assert io_passes("print(1)", "1", "1").status == "error"


def test_a_busy_case_meets_its_wall_clock_before_its_cpu_limit(monkeypatch):
    """A case's CPU budget is above its wall budget: with equal budgets a busy loop's status
    ("timeout" or a CPU "limit") depended on whether the harness woke up in time (CI flake)."""
    import skilldsl.sandbox.code as code

    seen = {}

    def capture(source, *, limits, harness, sealed):
        seen.update(cpu=limits.to_job()["cpu_seconds"], case=harness["case_timeout"])
        return code.SandboxResult(status="error", reason="captured")

    monkeypatch.setattr(code, "run", capture)
    assert io_passes("print(1)", ["1"], ["1"], timeout=1).status == "error"
    assert seen["cpu"] >= seen["case"] + 1


def test_io_outputs_kept_over_all_cases_are_bounded():
    """The harness holds every case's stdout for its one report: past a total (a 32nd of
    ``memory_mb``) a case is a limit failure, not the harness's MemoryError (an error)."""
    from skilldsl.sandbox import io_program

    line = "x" * ((1 << 20) - 1)
    flood = f"import sys\nsys.stdout.write('x' * {len(line)})\n"
    verdict = io_program(flood, ["1"] * 40, [line] * 40, limits=Limits(timeout=3, memory_mb=128))
    assert (verdict.status, verdict.value) == ("ok", False), (verdict.reason, verdict.detail)
    failed = verdict.detail["failed_case"]
    assert 0 < failed < 40 and verdict.detail["reason"] == f"case {failed}: limit"


def test_io_comparison_rules():
    assert compare_output("1 2\r\n3  \n\n", "1  2\n3")
    assert not compare_output("1 2", "12") and not compare_output("1.0", "1")
    assert not compare_output("a\nb", "a b")


def test_stock_code_io_skill_scores_the_fixture():
    import skilldsl

    skill = skilldsl.load(str(Path(__file__).resolve().parents[1] / "skills" / "code_io.skill"))
    rows = [{"prompt": p["prompt"], "inputs": p["inputs"], "outputs": p["outputs"], "response": p[kind]}
            for p in IO_PROBLEMS[:2] for kind in ("solution", "wrong")]
    rows.append({**rows[0], "response": "I would read the input and add the numbers."})
    assert [r.reward for r in skill.score(rows)] == [1.0, 0.0, 1.0, 0.0, 0.0]


def test_wire_format_round_trips_plain_data_and_refuses_the_rest():
    from skilldsl.sandbox import _boot, _candidate

    plain = [None, True, 0, -2**300, 1.5, -0.0, 2j, "é\udcff", b"\x00", (1, [2]), {1: {"a": frozenset({4})}}, {5}, {}]
    assert _candidate.decode(_candidate.encode(plain)) == plain
    too_deep: list = []
    for _ in range(150):
        too_deep = [too_deep]
    for value in (object(), type("Int", (int,), {})(1), [lambda: 1], too_deep):
        with pytest.raises(_candidate.Unsupported):
            _candidate.encode(value)
    for garbage in (b"", b"x", b"l5:N", b"i;", b"i12", b"dz", b"S1:l0:", b"s9:ab", b"NN", b"l1:" * 200 + b"N"):
        with pytest.raises(ValueError):
            _candidate.decode(garbage)
    assert _candidate.EXIT_MEMORY == _boot.EXIT_MEMORY  # the harness and core read the same status
