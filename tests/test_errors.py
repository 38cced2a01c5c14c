"""User-facing diagnostics render file:line:col, the source line and a caret."""
from skilldsl.errors import Diagnostic, InternalError, SkillError, Span


def test_diagnostic_renders_caret_under_column(tmp_path):
    src = tmp_path / "a.skill"
    src.write_text("skill: x\nreward: mean(judge\n")
    diag = Diagnostic(Span(str(src), 2, 9, 2, 13), "unknown evidence 'judge'")
    text = diag.render()
    lines = text.splitlines()
    assert lines[0] == f"{src}:2:9: error: unknown evidence 'judge'"
    assert lines[1].strip() == "reward: mean(judge"
    assert lines[2].index("^") == lines[1].index("mean")
    assert lines[2].count("^") == 4


def test_skill_error_collects_diagnostics():
    err = SkillError([Diagnostic(None, "first"), Diagnostic(Span("f", 1, 1), "second", "warning")])
    assert "error: first" in str(err)
    assert "f:1:1: warning: second" in str(err)
    assert err.span is None


def test_internal_error_asks_for_a_report():
    assert "please report it" in str(InternalError("boom"))

