"""Expressions: the lark grammar (``grammar/expr.lark``) turned at once into frozen dataclasses.

Every node carries a :class:`~skilldsl.errors.Span` in the ``.skill`` file (the caller says
where the expression's text starts). Spans do not take part in equality, so two parses of
the same expression compare equal wherever they sit; :func:`unparse` gives source back and
``parse(unparse(e)) == e`` for every expression ``e``.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Union

from ..errors import Diagnostic, InternalError, SkillError, Span
from ..ir.program import MAX_EXPRESSION_DEPTH

__all__ = [
    "Expr", "Const", "NA", "Name", "Attr", "Index", "Unary", "Binary", "Cond", "Call",
    "parse_expr", "unparse", "walk", "PositionMap", "grammar_path", "MAX_DEPTH",
]

# (line, col) in the expression text (1-based) -> Span in the .skill file
PositionMap = Callable[[int, int], "tuple[int, int]"]
_NOSPAN = Span("<expr>", 1, 1)
MAX_DEPTH = MAX_EXPRESSION_DEPTH  # a .skillc loads (ir/program.py) what the compiler accepts


def _span_field():
    return field(default=_NOSPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Const:
    """A literal number, string or boolean."""

    value: Union[int, float, str, bool]
    span: Span = _span_field()


@dataclass(frozen=True)
class NA:
    """The ``na`` literal: not applicable."""

    span: Span = _span_field()


@dataclass(frozen=True)
class Name:
    """An input, evidence, local (``item``, ``index``, ``candidate``) or ``files``."""

    id: str
    span: Span = _span_field()


@dataclass(frozen=True)
class Attr:
    """``obj.name``: a field of a JSON value, or ``files.name``."""

    obj: "Expr"
    name: str
    span: Span = _span_field()


@dataclass(frozen=True)
class Index:
    """``obj[index]``."""

    obj: "Expr"
    index: "Expr"
    span: Span = _span_field()


@dataclass(frozen=True)
class Unary:
    """``not x`` (op ``not``) or ``-x`` (op ``neg``)."""

    op: str
    operand: "Expr"
    span: Span = _span_field()


@dataclass(frozen=True)
class Binary:
    """Arithmetic, comparison, ``and`` / ``or``."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span_field()


@dataclass(frozen=True)
class Cond:
    """``then if test else orelse`` (only the chosen branch is evaluated)."""

    test: "Expr"
    then: "Expr"
    orelse: "Expr"
    span: Span = _span_field()


@dataclass(frozen=True)
class Call:
    """``func(args, key=value)``; a dotted ``func`` names a verifier, a plain one a builtin."""

    func: str
    args: "tuple[Expr, ...]" = ()
    kwargs: "tuple[tuple[str, Expr], ...]" = ()
    span: Span = _span_field()
    func_span: Span = _span_field()
    kwarg_spans: "tuple[Span, ...]" = field(default=(), compare=False, repr=False)  # of each `key=value`


Expr = Union[Const, NA, Name, Attr, Index, Unary, Binary, Cond, Call]


def walk(expr: Expr):
    """Every node of ``expr``, parents before children."""
    yield expr
    for child in _children(expr):
        yield from walk(child)


def _children(e: Expr) -> "tuple[Expr, ...]":
    if isinstance(e, Attr):
        return (e.obj,)
    if isinstance(e, Index):
        return (e.obj, e.index)
    if isinstance(e, Unary):
        return (e.operand,)
    if isinstance(e, Binary):
        return (e.left, e.right)
    if isinstance(e, Cond):
        return (e.test, e.then, e.orelse)
    if isinstance(e, Call):
        return e.args + tuple(v for _, v in e.kwargs)
    return ()


# -- grammar --------------------------------------------------------------------------

def grammar_path() -> Path:
    """The grammar file: shipped in the wheel as ``_data/grammar``, else the checkout's ``grammar/``."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_data" / "grammar" / "expr.lark", here.parent / "grammar" / "expr.lark"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("grammar/expr.lark not found (broken installation)")


@functools.lru_cache(maxsize=1)
def _parser():
    from lark import Lark

    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="basic", propagate_positions=True,
                maybe_placeholders=False)


def parse_expr(text: str, file: str = "<expr>", where: "PositionMap | None" = None) -> Expr:
    """Parse ``text`` into an expression; syntax errors raise a located :class:`SkillError`.

    ``where`` maps a (line, col) in ``text`` to (line, col) in ``file``; default: identity.
    """
    from lark.exceptions import LarkError

    where = where or (lambda line, col: (line, col))
    if not text.strip():
        raise SkillError(Diagnostic(_span(file, where, 1, 1), "empty expression"))
    try:
        tree = _parser().parse(text)
    except LarkError as exc:
        raise _syntax_error(exc, text, file, where) from None
    try:
        expr = _Builder(file, where).build(tree)
        too_deep = _depth(expr) > MAX_DEPTH
    except RecursionError:
        too_deep = True
    if too_deep:  # the runtime evaluates recursively too: refuse what it could not run
        raise SkillError(Diagnostic(_span(file, where, 1, 1), f"expression nested more than {MAX_DEPTH} levels deep"))
    return expr


def _depth(e: Expr) -> int:
    return 1 + max((_depth(c) for c in _children(e)), default=0)


def _span(file: str, where: PositionMap, line: int, col: int, end_line=None, end_col=None) -> Span:
    line2, col2 = where(line, col)
    if end_line is None or end_col is None:
        return Span(file, line2, col2)
    e_line, e_col = where(end_line, end_col)
    return Span(file, line2, col2, e_line, e_col)


# -- lark tree -> dataclasses ----------------------------------------------------------

class _Builder:
    """Turns a lark tree into :data:`Expr` nodes with file spans."""

    def __init__(self, file: str, where: PositionMap):
        self.file = file
        self.where = where

    def span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, *self.where(1, 1))
        return _span(self.file, self.where, meta.line, meta.column, meta.end_line, meta.end_column)

    def build(self, tree) -> Expr:
        from lark import Token

        if isinstance(tree, Token):  # a bare token can only be an atom's content
            raise InternalError(f"unexpected bare token {tree!r} in expression tree")
        return getattr(self, "_" + tree.data)(tree, self.span(tree.meta))

    def _number(self, t, span):
        text = str(t.children[0])
        value: float | int = float(text) if any(c in text for c in ".eE") else int(text)
        return Const(value, span)

    def _string(self, t, span):
        return Const(_unquote(str(t.children[0]), span), span)

    def _true(self, t, span):
        return Const(True, span)

    def _false(self, t, span):
        return Const(False, span)

    def _na(self, t, span):
        return NA(span)

    def _name(self, t, span):
        return Name(str(t.children[0]), span)

    def _attr(self, t, span):
        return Attr(self.build(t.children[0]), str(t.children[1]), span)

    def _index(self, t, span):
        return Index(self.build(t.children[0]), self.build(t.children[1]), span)

    def _neg(self, t, span):
        return Unary("neg", self.build(t.children[-1]), span)

    def _not_op(self, t, span):
        return Unary("not", self.build(t.children[0]), span)

    def _binary(self, t, span):
        left, op, right = t.children
        return Binary(str(op), self.build(left), self.build(right), span)

    _compare = _binary

    def _and_op(self, t, span):
        return Binary("and", self.build(t.children[0]), self.build(t.children[1]), span)

    def _or_op(self, t, span):
        return Binary("or", self.build(t.children[0]), self.build(t.children[1]), span)

    def _cond(self, t, span):
        then, test, orelse = (self.build(c) for c in t.children)
        return Cond(test, then, orelse, span)

    def _call(self, t, span):
        callee = t.children[0]
        func = _dotted(callee)
        if func is None:
            raise SkillError(Diagnostic(self.span(callee.meta), "only named functions can be called, "
                                        "e.g. mean(x, y) or math.equivalent(response, reference)"))
        args, kwargs, spans = self._arguments(t.children[1] if len(t.children) > 1 else None)
        return Call(func, args, kwargs, span, self.span(callee.meta), spans)

    def _arguments(self, tree):
        args: list[Expr] = []
        kwargs: list[tuple[str, Expr]] = []
        spans: list[Span] = []
        for child in tree.children if tree is not None else ():
            if getattr(child, "data", None) == "kwarg":
                name = str(child.children[0])
                if any(k == name for k, _ in kwargs):
                    raise SkillError(Diagnostic(self.span(child.meta), f"keyword argument '{name}' given twice"))
                kwargs.append((name, self.build(child.children[1])))
                spans.append(self.span(child.meta))
            elif kwargs:
                raise SkillError(Diagnostic(self.span(child.meta), "positional argument after a keyword argument"))
            else:
                args.append(self.build(child))
        return tuple(args), tuple(kwargs), tuple(spans)


def _dotted(tree) -> "str | None":
    """``a.b.c`` as a string if the callee is a chain of names, else None."""
    if tree.data == "name":
        return str(tree.children[0])
    if tree.data == "attr":
        head = _dotted(tree.children[0])
        return None if head is None else f"{head}.{tree.children[1]}"
    return None


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def _unquote(token: str, span: Span) -> str:
    """Decode a quoted string literal (a small, explicit set of escapes)."""
    body, out, i = token[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt == "u" and _is_hex(body[i + 2:i + 6]):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
        else:
            raise SkillError(Diagnostic(span, f"unknown escape '\\{nxt}' in string "
                                        "(use \\n \\t \\r \\\\ \\\" \\' or \\uXXXX)"))
    return "".join(out)


def _is_hex(text: str) -> bool:
    return len(text) == 4 and all(c in "0123456789abcdefABCDEF" for c in text)


# -- syntax errors in the author's terms -------------------------------------------------

_STARTS_EXPR = {"NAME", "NUMBER", "STRING", "TRUE", "FALSE", "NA", "LPAR", "MINUS", "NOT"}
_KEYWORDS = {"IF", "ELSE", "AND", "OR"}
_CLOSERS = {"RPAR": "')'", "RSQB": "']'"}


def _syntax_error(exc, text: str, file: str, where: PositionMap) -> SkillError:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(exc, UnexpectedCharacters):
        return _bad_character(exc, text, file, where)
    if isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        return _bad_token(exc, text, file, where)
    return SkillError(Diagnostic(_span(file, where, 1, 1), f"syntax error: {exc}"))


def _bad_character(exc, text: str, file: str, where: PositionMap) -> SkillError:
    ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
    span = _span(file, where, exc.line, exc.column)
    if ch in "\"'":
        return SkillError(Diagnostic(span, f"unterminated string: no closing {ch} on this line"))
    if ch == "=":
        return SkillError(Diagnostic(span, "'=' is only for keyword arguments; compare with '=='"))
    return SkillError(Diagnostic(span, f"unexpected character {ch!r} in expression"))


def _bad_token(exc, text: str, file: str, where: PositionMap) -> SkillError:
    token = getattr(exc, "token", None)
    at_end = token is None or token.type == "$END"
    expected = set(getattr(exc, "expected", None) or getattr(exc, "accepts", None) or ())
    line, col = _end_position(text) if at_end else (token.line, token.column)
    prev = _previous_token(text, line, col)
    got = "the end of the expression" if at_end else repr(str(token))
    return SkillError(Diagnostic(_span(file, where, line, col), _token_message(expected, prev, got, token)))


def _token_message(expected: set, prev: "str | None", got: str, token) -> str:
    after = f" after {prev!r}" if prev else ""
    if prev == ".":
        return f"expected a field name after '.', got {got}"
    if expected & _STARTS_EXPR and not expected & {"COMMA", "$END", "IF"}:
        return f"expected an expression{after}, got {got}"
    closers = [v for k, v in _CLOSERS.items() if k in expected]
    if got == "the end of the expression" and closers:
        return f"missing {' or '.join(closers)} at the end of the expression"
    if token is not None and token.type in _KEYWORDS and expected & _STARTS_EXPR:
        return f"expected an expression{after}, got the keyword {got}"
    if token is not None and token.type == "COMP_OP":
        return f"comparisons do not chain: write 'a < b and b < c' instead of 'a < b < c' (at {got})"
    if token is not None and token.type == "EQUAL":
        return "'=' is only for keyword arguments (f(key=value)); compare with '=='"
    if token is not None and token.type == "ELSE":
        return "'else' without 'if': a conditional is written 'x if condition else y'"
    if "ELSE" in expected and got == "the end of the expression":
        return "'if' without 'else': a conditional is written 'x if condition else y'"
    return f"unexpected {got}{after}: expected an operator, ',' or a closing bracket"


def _end_position(text: str) -> "tuple[int, int]":
    lines = text.rstrip().split("\n")
    return len(lines), len(lines[-1]) + 1 if lines[-1] else 1


def _previous_token(text: str, line: int, col: int) -> "str | None":
    """The last complete token before (line, col), for messages like "after 'and'"."""
    prev = None
    try:
        for tok in _parser().lex(text):
            if (tok.line, tok.column) >= (line, col):
                break
            prev = str(tok)
    except Exception:  # a lexing error later in the text does not matter here
        pass
    return prev


# -- unparser ------------------------------------------------------------------------

# binding strength: a child binding looser than its context gets parentheses
_LEVEL = {"if": 1, "or": 2, "and": 3, "not": 4, "cmp": 5, "+": 6, "-": 6, "*": 7, "/": 7, "neg": 8}
_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_POSTFIX, _ATOM = 9, 10


def unparse(e: Expr) -> str:
    """Source text for ``e`` with minimal parentheses; re-parses to an equal expression."""
    return _UNPARSERS[type(e)](e)


def _level(e: Expr) -> int:
    if isinstance(e, Cond):
        return _LEVEL["if"]
    if isinstance(e, Binary):
        return _LEVEL["cmp"] if e.op in _COMPARISONS else _LEVEL[e.op]
    if isinstance(e, Unary):
        return _LEVEL[e.op]
    if isinstance(e, (Attr, Index, Call)):
        return _POSTFIX
    return _ATOM


def _wrap(e: Expr, minimum: int) -> str:
    text = unparse(e)
    return f"({text})" if _level(e) < minimum else text


def _unparse_const(e: Const) -> str:
    if isinstance(e.value, bool):
        return "true" if e.value else "false"
    if isinstance(e.value, str):
        return _quote(e.value)
    return repr(e.value)


def _quote(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif ord(ch) < 32 or 0xD800 <= ord(ch) <= 0xDFFF or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _unparse_binary(e: Binary) -> str:
    level = _level(e)
    if e.op in _COMPARISONS:  # non-associative: both sides bind tighter
        return f"{_wrap(e.left, level + 1)} {e.op} {_wrap(e.right, level + 1)}"
    return f"{_wrap(e.left, level)} {e.op} {_wrap(e.right, level + 1)}"


def _unparse_unary(e: Unary) -> str:
    if e.op == "not":
        return f"not {_wrap(e.operand, _LEVEL['not'])}"
    return f"-{_wrap(e.operand, _LEVEL['neg'])}"


def _unparse_call(e: Call) -> str:
    parts = [unparse(a) for a in e.args] + [f"{k}={unparse(v)}" for k, v in e.kwargs]
    return f"{e.func}({', '.join(parts)})"


_UNPARSERS: "dict[type, Callable[..., str]]" = {
    Const: _unparse_const,
    NA: lambda e: "na",
    Name: lambda e: e.id,
    Attr: lambda e: f"{_wrap(e.obj, _POSTFIX)}.{e.name}",
    Index: lambda e: f"{_wrap(e.obj, _POSTFIX)}[{unparse(e.index)}]",
    Unary: _unparse_unary,
    Binary: _unparse_binary,
    Cond: lambda e: f"{_wrap(e.then, 2)} if {_wrap(e.test, 2)} else {_wrap(e.orelse, 1)}",
    Call: _unparse_call,
}
