"""``skilldsl build | check | dump | graph``: exit codes, outputs, messages on stderr."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skilldsl.cli import main
from skilldsl.ir import Program

ROOT = Path(__file__).resolve().parent.parent
SKILLS = ROOT / "skills"
BAD = Path(__file__).parent / "skills"


def test_build_writes_skillc_and_is_deterministic(tmp_path: Path, capsys) -> None:
    paths = sorted(str(p) for p in SKILLS.glob("*.skill"))
    assert main(["build", *paths, "-o", str(tmp_path / "one")]) == 0
    assert main(["build", *paths, "-o", str(tmp_path / "two")]) == 0
    built = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert built == sorted(Path(p).stem + ".skillc" for p in paths)
    for name in built:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
        Program.load(tmp_path / "one" / name)  # reward id verifies
    assert "sha256:" in capsys.readouterr().out


def test_build_error_goes_to_stderr_with_exit_1(tmp_path: Path, capsys) -> None:
    code = main(["build", str(BAD / "unknown_name.skill"), str(SKILLS / "math_answer.skill"), "-o", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"{BAD / 'unknown_name.skill'}:10:28: error: unknown name 'respons'" in err
    assert (tmp_path / "math_answer.skillc").exists()  # the good one is still built
    assert "Traceback" not in err


def test_check_warnings_exit_0(capsys) -> None:
    assert main(["check", str(BAD / "warn_unused.skill")]) == 0
    out, err = capsys.readouterr()
    assert "warning: evidence 'spare' is never used by the reward" in err
    assert "ok (1 warning)" in out


def test_check_error_exit_1(capsys) -> None:
    assert main(["check", str(BAD / "cycle.skill")]) == 1
    assert "evidence cycle" in capsys.readouterr().err


def test_dump_stages(capsys) -> None:
    assert main(["dump", "--stage", "ir", str(SKILLS / "math_answer.skill")]) == 0
    ir = json.loads(capsys.readouterr().out)
    assert ir["plan"] == {"order": ["answered", "matches", "judge"], "eager": ["matches"], "lazy": ["answered", "judge"]}
    assert main(["dump", "--stage", "ast", str(SKILLS / "math_answer.skill")]) == 0
    ast = json.loads(capsys.readouterr().out)
    assert ast["node"] == "Skill" and ast["reward"]["node"] == "Cond"
    assert ast["reward"]["span"].endswith("math_answer.skill:37:9")


@pytest.mark.parametrize("fmt, marker", [("mermaid", "flowchart LR"), ("dot", "digraph")])
def test_graph(fmt: str, marker: str, capsys) -> None:
    assert main(["graph", str(SKILLS / "math_answer.skill"), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert out.startswith(marker) and "ev_matches" in out and "ev_judge" in out


def test_python_dash_m_reports_errors_without_traceback() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "skilldsl", "check", str(BAD / "syntax_in_block.skill")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1
    assert "syntax_in_block.skill:13:5: error: expected an expression after 'and'" in proc.stderr
    assert "Traceback" not in proc.stderr


PLUGIN = '''
from skilldsl.verifiers import verifier


@verifier("compilertest.nonempty", version="7", params=("response: text", "strip: bool = True"))
def nonempty(response, strip=True):
    return bool(response.strip() if strip else response)
'''

PLUGIN_SKILL = """skill: plugged
mode: pointwise
inputs: {response: text}
evidence:
  full:
    check: compilertest.nonempty(response, strip=false)
reward: full
"""


def test_plugin_verifiers_are_checked_and_versioned(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "compilertest_plugin.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    skill = tmp_path / "plugged.skill"
    skill.write_text(PLUGIN_SKILL, encoding="utf-8")
    assert main(["build", str(skill), "--plugin", "compilertest_plugin", "-o", str(tmp_path / "out")]) == 0
    program = Program.load(tmp_path / "out" / "plugged.skillc")
    assert program.evidence["full"]["verifier"] == {"name": "compilertest.nonempty", "version": "7"}
    assert program.evidence["full"]["kwargs"] == {"strip": {"const": False}}
    skill.write_text(PLUGIN_SKILL.replace("strip=false", "strip=1"), encoding="utf-8")
    assert main(["check", str(skill), "--plugin", "compilertest_plugin"]) == 1
    assert "compilertest.nonempty: 'strip' must be true/false, but this is an integer" in capsys.readouterr().err


def test_build_never_overwrites_a_skill_of_the_same_name(tmp_path: Path, capsys) -> None:
    first, twin = tmp_path / "first.skill", tmp_path / "twin.skill"
    for path, version in ((first, 1), (twin, 2)):
        path.write_text(f"skill: same\nversion: {version}\nmode: pointwise\ninputs: {{response: text}}\n"
                        "evidence: {full: {check: format.json(response)}}\nreward: full\n", encoding="utf-8")
    assert main(["build", str(first), str(twin), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{twin}: skill 'same' was already built from {first}" in err and "not overwritten" in err
    assert Program.load(tmp_path / "out" / "same.skillc").doc["version"] == 1


def test_dump_and_graph_take_plugin(tmp_path: Path, monkeypatch, capsys) -> None:
    # a module name of its own: registrations are process-wide, so "unknown without the plugin" holds
    (tmp_path / "dumptest_plugin.py").write_text(PLUGIN.replace("compilertest", "dumptest"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    skill = tmp_path / "plugged.skill"
    skill.write_text(PLUGIN_SKILL.replace("compilertest", "dumptest"), encoding="utf-8")
    assert main(["dump", str(skill)]) == 1  # the verifier is unknown until the plugin is imported
    assert "dumptest.nonempty" in capsys.readouterr().err
    assert main(["dump", str(skill), "--plugin", "dumptest_plugin"]) == 0
    assert json.loads(capsys.readouterr().out)["evidence"]["full"]["verifier"]["name"] == "dumptest.nonempty"
    assert main(["graph", str(skill), "--plugin", "dumptest_plugin"]) == 0


def test_missing_plugin_is_a_clean_error(capsys) -> None:
    assert main(["check", str(SKILLS / "math_answer.skill"), "--plugin", "no_such_plugin_module"]) == 1
    assert "cannot import verifier plugin" in capsys.readouterr().err
