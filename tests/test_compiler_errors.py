"""Every bad-skill fixture in tests/skills/ fails (or warns) with its stated located message.

A fixture's first lines say what to expect: ``# expect: LINE:COL: message`` (an error that
must be reported, exactly at that position) or ``# warn: LINE:COL: message`` (the skill
compiles, with that warning). A fixture without either must fail with its stated first line.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from skilldsl.compiler import compile_file
from skilldsl.errors import SkillError

FIXTURES = Path(__file__).parent / "skills"
_HEADER = re.compile(r"^# (expect|warn): (\d+):(\d+): (.*)$")


def _expectations(path: Path) -> list[tuple[str, int, int, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        m = _HEADER.match(line)
        if not m:
            break
        out.append((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
    return out


def _located(diagnostics) -> list[tuple[int, int, str]]:
    return [(d.span.line, d.span.col, d.message) for d in diagnostics if d.span is not None]


BAD = sorted(p for p in FIXTURES.glob("*.skill") if p.name != "empty.skill")


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_fixture(path: Path) -> None:
    expected = _expectations(path)
    assert expected, f"{path.name} states no expectation"
    if expected[0][0] == "warn":
        found: list = []
        compile_file(path, diagnostics=found)
        assert all(d.severity == "warning" for d in found)
        got = _located(found)
    else:
        with pytest.raises(SkillError) as info:
            compile_file(path)
        got = _located(info.value.diagnostics)
        assert info.value.render().startswith(f"{path}:")
    for _, line, col, message in expected:
        assert any((l, c) == (line, col) and m.startswith(message) for l, c, m in got), (message, got)


def test_empty_file_is_located() -> None:
    with pytest.raises(SkillError) as info:
        compile_file(FIXTURES / "empty.skill")
    assert info.value.span.line == 1 and "empty" in info.value.diagnostics[0].message


def test_render_has_source_line_and_caret() -> None:
    with pytest.raises(SkillError) as info:
        compile_file(FIXTURES / "unknown_name.skill")
    lines = info.value.render().splitlines()
    assert lines[0].endswith("unknown name 'respons' (did you mean 'response'?): not an input, evidence or file")
    assert lines[1].strip() == "check: math.equivalent(respons, reference)"
    assert lines[2].index("^") == lines[1].index("respons") and lines[2].count("^") == len("respons")


def test_several_errors_are_reported_together() -> None:
    with pytest.raises(SkillError) as info:
        compile_file(FIXTURES / "verifier_arity.skill")
    assert len(info.value.diagnostics) == 2


@pytest.mark.parametrize("data, message", [
    (b"\x00\x01binary", "binary file"),
    (b"skill: x\nabout: caf\xe9\n", "not valid UTF-8"),
])
def test_unreadable_bytes(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "bad.skill"
    path.write_bytes(data)
    with pytest.raises(SkillError, match=message):
        compile_file(path)


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SkillError, match="no such file"):
        compile_file(tmp_path / "nope.skill")
    with pytest.raises(SkillError, match="is a directory"):
        compile_file(tmp_path)


def test_a_broken_builtin_module_does_not_hide_registered_verifiers(monkeypatch) -> None:
    """The checker falls back to ``registry.registered()`` when the built-ins fail to import."""
    from skilldsl.compiler import compile_source
    from skilldsl.verifiers import registry

    registry.get("ref.match")  # the built-ins are registered now, as a plugin would be

    def broken(*_args):
        raise ImportError("no module named 'math_verify'")

    monkeypatch.setattr(registry, "get", broken)
    monkeypatch.setattr(registry, "all_verifiers", broken)
    body = "skill: t\nmode: pointwise\ninputs: {response: text}\nevidence:\n  same:\n    check: CALL\nreward: same\n"
    program = compile_source(body.replace("CALL", "ref.match(response, response)"), "t.skill")
    assert program.evidence["same"]["verifier"] == {"name": "ref.match", "version": "1"}
    with pytest.raises(SkillError, match=r"t.skill:6:12: error: unknown verifier 'ref.mach' \(did you mean 'ref.match'\?\)"):
        compile_source(body.replace("CALL", "ref.mach(response, response)"), "t.skill")


def test_a_regex_whose_automaton_explodes_is_refused_not_a_hang(monkeypatch) -> None:
    # (a|b)*a(a|b){n} needs 2^n DFA states: building its guide would stall the checker, the
    # .skillc loader and the first judge call alike; the probe is a child process with a deadline
    from skilldsl.compiler import compile_source
    from skilldsl.ir import constraints

    monkeypatch.setattr(constraints, "PROBE_SECONDS", 1.0)
    body = ("skill: t\nmode: pointwise\ninputs: {response: text}\nevidence:\n  j:\n    ask: {user: '{{ response }}'}\n"
            "    answer: regex(\"(a|b)*a(a|b){26}\")\nreward: len(j)\n")
    with pytest.raises(SkillError, match=r"t.skill:7:19: error: constrained decoding \(outlines\) cannot use this "
                                         r"regular expression.*its automaton is not built within 1 s"):
        compile_source(body, "t.skill")


def test_without_a_child_process_the_probe_checks_in_process(monkeypatch) -> None:
    import subprocess

    from skilldsl.ir import constraints

    def no_fork(*args, **kwargs):
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(subprocess, "run", no_fork)
    assert constraints.engine_problem({"type": "regex", "pattern": "(?=x)y"}) == "Failed to build DFA error building NFA"
    assert constraints.engine_problem({"type": "regex", "pattern": "x+y"}) is None
