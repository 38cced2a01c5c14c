"""The expression parser: structure, precedence, located syntax errors, round trips, fuzz."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skilldsl.compiler.expr import (NA, Attr, Binary, Call, Cond, Const, Index, Name, Unary, parse_expr,
                                    unparse, walk)
from skilldsl.errors import SkillError


def test_precedence_and_structure() -> None:
    e = parse_expr('matches if known(matches) and not x < 2 else p(judge, "yes") * 2 + 1')
    assert isinstance(e, Cond)
    assert e.test == Binary("and", Call("known", (Name("matches"),)), Unary("not", Binary("<", Name("x"), Const(2))))
    assert e.orelse == Binary("+", Binary("*", Call("p", (Name("judge"), Const("yes"))), Const(2)), Const(1))


def test_postfix_and_dotted_calls() -> None:
    e = parse_expr('ifeval.follows(response, item, kwargs=kwargs[index], prompt=prompt)')
    assert e.func == "ifeval.follows" and len(e.args) == 2
    assert e.kwargs[0] == ("kwargs", Index(Name("kwargs"), Name("index")))
    assert parse_expr("a.b.c") == Attr(Attr(Name("a"), "b"), "c")
    assert parse_expr("-x - -1") == Binary("-", Unary("neg", Name("x")), Unary("neg", Const(1)))


def test_literals() -> None:
    assert parse_expr("na") == NA()
    assert parse_expr("true") == Const(True) and parse_expr("false") == Const(False)
    assert parse_expr("1.5e3") == Const(1500.0) and parse_expr("7") == Const(7)
    assert parse_expr(r"'it\'s \u00e9\n'") == Const("it's \u00e9\n")
    assert parse_expr("nat") == Name("nat")  # a keyword prefix is still a name


def test_spans_follow_the_position_map() -> None:
    e = parse_expr("mean(a,\n  bb)", "f.skill", lambda line, col: (line + 9, col + (4 if line == 1 else 2)))
    bb = e.args[1]
    assert (bb.span.file, bb.span.line, bb.span.col, bb.span.end_col) == ("f.skill", 11, 5, 7)
    assert (e.span.line, e.span.col) == (10, 5)


@pytest.mark.parametrize("text, col, message", [
    ("a and", 6, "expected an expression after 'and'"),
    ("mean(a,,b)", 8, "expected an expression after ','"),
    ("(a", 3, "missing ')'"),
    ("x[1", 4, "missing ']'"),
    ("a < b < c", 7, "comparisons do not chain"),
    ("a if b", 7, "'if' without 'else'"),
    ("a else b", 3, "'else' without 'if'"),
    ('"abc', 1, "unterminated string"),
    ("a $ b", 3, "unexpected character '$'"),
    ("a = b", 3, "'=' is only for keyword arguments"),
    ("f(x=1, 2)", 8, "positional argument after a keyword argument"),
    ("f(a=1, a=2)", 8, "keyword argument 'a' given twice"),
    (r'"\q"', 1, "unknown escape"),
    ("x.na", 3, "expected a field name after '.'"),
    ("(a + b)(c)", 2, "only named functions can be called"),
    ("   ", 1, "empty expression"),
])
def test_syntax_errors_are_located(text: str, col: int, message: str) -> None:
    with pytest.raises(SkillError) as info:
        parse_expr(text, "s.skill")
    diag = info.value.diagnostics[0]
    assert (diag.span.line, diag.span.col) == (1, col)
    assert message in diag.message


# -- property tests -----------------------------------------------------------------

_KEYWORDS = {"if", "else", "and", "or", "not", "true", "false", "na"}
names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True).filter(lambda s: s not in _KEYWORDS)
consts = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(Const),
    st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False).map(Const),
    st.text(max_size=8).map(Const),
    st.booleans().map(Const),
    st.just(NA()),
)


def _extend(children):
    binops = st.sampled_from(["+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=", "and", "or"])
    return st.one_of(
        st.builds(Binary, binops, children, children),
        st.builds(Unary, st.sampled_from(["not", "neg"]), children),
        st.builds(Cond, children, children, children),
        st.builds(Attr, children, names),
        st.builds(Index, children, children),
        st.builds(Call, st.lists(names, min_size=1, max_size=2).map(".".join), st.lists(children, max_size=3).map(tuple),
                  st.dictionaries(names, children, max_size=2).map(lambda d: tuple(d.items()))),
    )


exprs = st.recursive(st.one_of(consts, names.map(Name)), _extend, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(exprs)
def test_unparse_round_trips(e) -> None:
    assert parse_expr(unparse(e)) == e


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab1.,()[]\"'=<>+-*/ \n_") + ["and ", "if ", "else ", "not ", "na"]),
                max_size=30).map("".join))
def test_fuzz_only_skill_errors(text: str) -> None:
    try:
        e = parse_expr(text, "fuzz.skill")
    except SkillError as exc:
        assert exc.diagnostics and all(d.span is not None and d.span.file == "fuzz.skill" for d in exc.diagnostics)
    else:
        assert parse_expr(unparse(e)) == e
        assert all(n.span.file == "fuzz.skill" for n in walk(e))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_fuzz_arbitrary_unicode(text: str) -> None:
    try:
        parse_expr(text)
    except SkillError:
        pass


@pytest.mark.parametrize("text", ["-" * 3000 + "x", "not " * 300 + "x", "f(" * 250 + ")" * 250])
def test_deep_nesting_is_a_located_error(text: str) -> None:
    with pytest.raises(SkillError, match="nested more than") as info:
        parse_expr(text, "deep.skill")
    assert info.value.span.line == 1


def test_moderate_nesting_is_fine() -> None:
    text = "(" * 150 + "x" + ")" * 150 + " + " + "-" * 150 + "y"
    assert parse_expr(unparse(parse_expr(text))) == parse_expr(text)
