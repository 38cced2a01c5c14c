"""The registry, plugins (module, .py path, $SKILLDSL_PLUGINS) and `skilldsl verifiers`."""
import json
import os
import subprocess
import sys
import textwrap
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
