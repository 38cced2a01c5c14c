"""The registry, plugins (module, .py path, $SKILLDSL_PLUGINS) and `skilldsl verifiers`."""
import json
import os
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from skilldsl.cli import main
from skilldsl.verifiers import Param, Verdict, VerifierSpec, all_verifiers, get, verifier

TESTS = Path(__file__).parent

# the built-in names and parameters fixed by docs/internals.md
BUILTINS = {
    "math.equivalent": ["response", "reference"],
    "math.answer_found": ["response"],
    "ref.match": ["response", "reference", "mode"],
    "ref.choice": ["response", "reference"],
    "format.regex": ["response", "pattern"],
    "format.json": ["response"],
    "format.json_schema": ["response", "schema"],
    "format.length": ["response", "unit", "min", "max"],
    "format.language": ["response", "lang"],
    "format.has": ["response", "what", "count"],
}


def test_builtins_have_the_documented_names_and_params():
    for name, params in BUILTINS.items():
        spec = get(name)
        assert spec is not None, name
        assert [p.name for p in spec.params] == params
        assert spec.doc and spec.version
    assert get("ref.match").params[2] == Param("mode", "text", "normalized")
    assert get("math.equivalent").isolate and get("math.equivalent").fast is not None
    assert set(BUILTINS) <= {s.name for s in all_verifiers()}


def test_param_parse_and_verdict_of():
    assert Param.parse("max: number = None") == Param("max", "number", None)
    with pytest.raises(ValueError):
        Param.parse("x: float")
    assert Verdict.of(True) == Verdict.ok(True)
    assert Verdict.of(1.5).status == "error"
    assert Verdict.of(None).status == "na"


def test_duplicate_names_are_refused():
    with pytest.raises(ValueError, match="already registered"):
        verifier("format.json")(lambda response: True)


def test_cli_lists_everything_as_json(capsys):
    assert main(["verifiers", "--json"]) == 0
    listed = {v["name"]: v for v in json.loads(capsys.readouterr().out)}
    assert set(BUILTINS) <= set(listed)
    mode = listed["ref.match"]["params"][2]
    assert mode == {"name": "mode", "type": "text", "required": False, "default": "normalized"}


def test_cli_text_listing_and_filters(capsys):
    assert main(["verifiers", "ref."]) == 0
    out = capsys.readouterr().out
    assert 'ref.match(response: text, reference: text, mode: text = "normalized")' in out
    assert "math.equivalent" not in out
    assert main(["verifiers", "no.such"]) == 1


def test_cli_plugin_module(capsys):
    assert main(["verifiers", "--plugin", "_verifier_plugin", "--json", "test.has_word"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["doc"] == "A user plugin: word present."
    assert get("test.has_word").call("a big cat", "cat") == Verdict.ok(True)


def test_cli_reports_a_broken_plugin(capsys):
    assert main(["verifiers", "--plugin", "no_such_plugin_module"]) == 1
    assert "no_such_plugin_module" in capsys.readouterr().err


def _run_cli(args, cwd, env_extra):
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "skilldsl", "verifiers", "--json", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def test_plugin_from_env_and_from_a_file_path(tmp_path):
    plugin = tmp_path / "my_checks.py"
    plugin.write_text(textwrap.dedent('''
        from skilldsl.verifiers import verifier

        @verifier("mine.shouts", params=("response: text",), doc="All capitals.")
        def shouts(response):
            return response.isupper()
    '''))
    by_env = _run_cli(["mine.shouts"], tmp_path, {"SKILLDSL_PLUGINS": "my_checks"})
    assert by_env.returncode == 0, by_env.stderr
    assert json.loads(by_env.stdout)[0]["doc"] == "All capitals."
    by_path = _run_cli(["--plugin", str(plugin), "mine.shouts"], TESTS, {})
    assert by_path.returncode == 0, by_path.stderr
    assert json.loads(by_path.stdout)[0]["name"] == "mine.shouts"


def test_fast_hook_failures_are_errors_and_none_defers():
    def broken_fast(response):
        raise KeyError("oops")

    spec = VerifierSpec("t.fast", "1", (), "", func=lambda response: True, isolate=True, fast=broken_fast)
    assert spec.try_fast("x") == Verdict.error("t.fast raised KeyError: 'oops'")
    deferring = VerifierSpec("t.defer", "1", (), "", func=lambda response: True, fast=lambda response: None)
    assert deferring.try_fast("x") is None
    assert VerifierSpec("t.none", "1", (), "", func=lambda r: True).try_fast("x") is None


# -- where verifiers run: plugins are isolated unless they opt out ------------------------------

IN_PROCESS_BUILTINS = {"format.regex", "format.json", "format.json_schema", "format.length", "format.language",
                       "format.has", "ref.match", "ref.choice", "math.answer_found"}


def test_plugins_run_isolated_by_default_and_builtins_say_where_they_run():
    import _verifier_plugin  # noqa: F401

    assert get("test.has_word").isolate  # no isolate= given: a worker process
    assert not get("test.inline_hostile").isolate  # isolate=False: the author's promise
    for spec in all_verifiers():
        if spec.name in IN_PROCESS_BUILTINS:
            assert not spec.isolate and not spec.concurrent, spec.name
    assert get("math.equivalent").isolate and get("math.consensus").isolate
    for name in ("ifeval.follows", "ifeval.all"):  # short responses in process, long ones in a worker
        assert get(name).isolate and get(name).fast is not None, name
    assert get("code.passes").concurrent and not get("code.passes").isolate


def test_concurrent_implies_in_process_unless_isolate_is_said():
    def waits(response):
        return True

    verifier("t_where.waits", concurrent=True)(waits)
    verifier("t_where.both", concurrent=True, isolate=True)(waits)
    assert not get("t_where.waits").isolate and get("t_where.both").isolate


# -- run-time argument types, as the checker types them -----------------------------------------

@pytest.mark.parametrize(("type_", "good", "bad"), [
    ("text", ["", "x"], [3, None, ["x"], b"x"]),
    ("number", [0, 2.5, True, -1], ["3", None, float("nan"), float("inf"), [1]]),
    ("integer", [3, True, -2], [3.0, "3", None]),
    ("bool", [True, False], [0, 1, "true", None]),
    ("list", [[], ["a"], ("a",)], ["a", {"a": 1}, None]),
    ("json", [None, {"a": [1]}, "x", 3], []),
    ("any", [None, object()], []),
])
def test_param_types_at_run_time(type_, good, bad):
    param = Param("x", type_)
    assert [param.problem(v) for v in good] == [None] * len(good)
    for value in bad:
        problem = param.problem(value)
        assert problem is not None and problem.startswith("'x' must be "), value


def test_a_none_default_may_be_passed_and_the_message_names_everything():
    spec = get("format.length")
    assert spec.argument_problem(("some words",), {"min": None, "max": 3}) is None
    assert spec.argument_problem(("some words",), {"min": "five"}) == \
        "format.length: 'min' must be a finite number, got text 'five'"
    verdict = spec.call("some words", min="five")
    assert verdict == Verdict.error("format.length: 'min' must be a finite number, got text 'five'")


# -- a verifier's result is held to the contract; nothing outside it becomes na or a number -----

class _Weird(Verdict):
    pass


@pytest.mark.parametrize(("result", "problem"), [
    (Verdict.ok(float("nan")), "ok with number nan"),
    (Verdict.ok(1.5), "ok with number 1.5"),
    (Verdict.ok("yes"), "ok with text 'yes'"),
    (Verdict.ok(None), "ok with null"),
    (Verdict("maybe", True), "an unknown status 'maybe'"),
    (Verdict("ok", True, None, ["not", "a", "mapping"]), "a detail that is not a mapping (list)"),
    (float("nan"), "verifier returned nan, outside [0, 1]"),
    (-0.5, "outside [0, 1]"),
    ("yes", "unsupported value of type str"),
    ([True], "unsupported value of type list"),
])
def test_results_outside_the_contract_are_errors(result, problem):
    spec = VerifierSpec("t.result", "1", (), "", func=lambda: result, isolate=False)
    verdict = spec.call()
    assert verdict.status == "error" and verdict.reason.startswith("t.result") and problem in verdict.reason


@pytest.mark.parametrize(("result", "expected"), [
    (True, Verdict.ok(True)), (0, Verdict.ok(0.0)), (0.25, Verdict.ok(0.25)),
    (Verdict.ok(1), Verdict.ok(1)), (Verdict.na("no answer"), Verdict.na("no answer")),
    (None, Verdict.na("t.result: verifier could not decide")),
    (Verdict("na", None, None), Verdict.na("t.result gave no reason")),
    (_Weird("ok", True), Verdict.ok(True)),
])
def test_results_inside_the_contract_pass_as_plain_verdicts(result, expected):
    verdict = VerifierSpec("t.result", "1", (), "", func=lambda: result, isolate=False).call()
    assert verdict == expected and type(verdict) is Verdict


def test_exits_and_interrupts_raised_in_process_are_errors():
    def exits():
        raise SystemExit

    def interrupts():
        raise KeyboardInterrupt

    assert VerifierSpec("t.exit", "1", (), "", func=exits).call() == Verdict.error("t.exit called sys.exit()")
    # unwatched on the main thread, a KeyboardInterrupt may be the user's Ctrl-C: it goes through
    with pytest.raises(KeyboardInterrupt):
        VerifierSpec("t.int", "1", (), "", func=interrupts).call()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # ... unless no Ctrl-C could raise one
    try:
        assert VerifierSpec("t.int", "1", (), "", func=interrupts).call() == \
            Verdict.error("t.int raised KeyboardInterrupt")
    finally:
        signal.signal(signal.SIGINT, previous)
    with ThreadPoolExecutor(1) as thread:  # ... or off the main thread, where signals never arrive
        assert thread.submit(VerifierSpec("t.int", "1", (), "", func=interrupts).call).result().is_error


class _Hostile(Exception):
    def __str__(self):
        raise RuntimeError("no message for you")


class _NoRepr:
    def __repr__(self):
        raise RuntimeError("no repr for you")


def test_unprintable_exceptions_and_unreadable_results_are_still_errors():
    def raises():
        raise _Hostile

    assert VerifierSpec("t.h", "1", (), "", func=raises).call() == Verdict.error("t.h raised _Hostile: <unprintable _Hostile>")
    for result in (10 ** 400, Verdict.ok(_NoRepr())):
        verdict = VerifierSpec("t.r", "1", (), "", func=lambda: result).call()
        assert verdict.status == "error" and verdict.reason.startswith("t.r"), verdict
    verdict = Param("x", "text").problem(_NoRepr())
    assert verdict == "'x' must be text, got _NoRepr <unprintable _NoRepr>"
